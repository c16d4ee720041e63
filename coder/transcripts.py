"""Transcript readers: files in, :class:`~coder.types.Transcript` out. Pure: no database, no model.

Every reader produces a document *text* and speaker *turns* with character offsets into that
text. For ``.txt``/``.md``/``.docx`` the text is the file's own text (newlines normalised to
``\\n``); for subtitles and CSV it is rebuilt as one ``Speaker: words`` line per turn, so the
offsets always point into the stored text that ``coder show`` and the exports use.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from coder.errors import InputError
from coder.types import INTERVIEWER, PARTICIPANT, Transcript, Turn

FORMATS = ("txt", "md", "docx", "vtt", "srt", "csv")

# A time as exports write it: 0:03, 1:02:03, 00:01:02.3, 00:01:02,300, MAXQDA/f4's 00:01:02-3.
_STAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,-]\d{1,3})?"
_WRAPPED = rf"\[{_STAMP}\]|\({_STAMP}\)|#{_STAMP}#"
_CAP = "A-ZÀ-ÖØ-Þ"
# a name, or the pseudonym coder pseudonymise puts in its place ("[Person 3]", "Dr [Person 3]")
_NAME = (
    rf"(?:(?:[{_CAP}][\w.]*[ \t])?\[[{_CAP}][^\]\n:]{{0,39}}\]|[{_CAP}][\w.'\-]*(?: (?:[{_CAP}][\w.'\-]*|\d+)){{0,2}})"
)
_ROLE_WORD = r"(?i:interviewer|interviewee|participant|respondent|moderator|facilitator|researcher)(?: \d+)?"
# A name with its role said beside it: "Jane Smith (Interviewer)", "Jane - Interviewer", "Interviewer - Jane",
# or a capitalised note or pronouns in brackets ("Jane Smith (Guest)", "Jane Smith (she/her)"), so that a
# sentence such as "Well (sort of): no" stays words; a bracketed time is not part of the label.
_LABEL = (
    rf"(?:{_ROLE_WORD}[ \t]+[-–|][ \t]+)?{_NAME}"
    rf"(?:[ \t]+[-–|][ \t]+{_ROLE_WORD})?(?:[ \t]*\((?:[{_CAP}][^()\n:]{{0,39}}|[a-z]+/[a-z]+(?:/[a-z]+)?)\))?"
)

# A speaker label at the start of a line: "Interviewer:", "I:", "P03:", "Participant 3:", "Q:", "**P09:**",
# "Dr. Moss:", "Jane Smith (Interviewer):"; optionally after a time ("[00:01:02] Jane:" as Descript and Trint
# write it, "0:01:02.3 Interviewer:" or "0:00.0 - 0:12.5 Interviewer:" as NVivo does, "#00:01:02-3# I:" as
# f4/MAXQDA do), with a time before the colon ("Interviewer (00:00:03):" as Rev writes it) or right after it
# ("Jane: [00:00:03] …"). A digit right after the colon makes it a time ("Monday 9:00"), not a label.
DEFAULT_SPEAKER_PATTERN = (
    rf"^[ \t]*(?:(?P<t1>{_WRAPPED}|{_STAMP})(?:[ \t]*[-–][ \t]*(?P<t1e>{_STAMP}))?[ \t]*(?:[-–][ \t]*)?)?"
    rf"(?:\*\*|__)?(?P<speaker>{_LABEL})(?:[ \t]*(?P<t2>\({_STAMP}\)|\[{_STAMP}\]))?(?:\*\*|__)?"
    rf"[ \t]*:(?!\d)(?:\*\*|__)?[ \t]*(?:(?P<t3>\[{_STAMP}\]|#{_STAMP}#)[ \t]*)?"
)

# A line that is only a speaker and a time, the words on the lines below: Otter ("Speaker 1  0:03"),
# Trint ("[00:00:03] Jane Smith"), "Jane Smith [00:00:03]", "00:00:03 - Jane Smith".
_HEADER_LINE = re.compile(
    rf"^[ \t]*(?:\*\*|__)?(?:"
    rf"(?P<s1>{_LABEL})(?:\*\*|__)?[ \t]*(?:[-–|][ \t]*)?(?P<t1>\[{_STAMP}\]|\({_STAMP}\)|{_STAMP})"
    rf"|(?P<t2>\[{_STAMP}\]|\({_STAMP}\)|{_STAMP})[ \t]*(?:[-–|][ \t]*)?(?:\*\*|__)?(?P<s2>{_LABEL})"
    rf")(?:\*\*|__)?[ \t]*$"
)

# A time inside the words (f4/MAXQDA end each paragraph with "#00:01:02-3#"; Trint and Descript can start
# one with "[00:01:02]"): it ends the words before it, and any words after it go on as the same speaker's.
_MARKER = re.compile(rf"#{_STAMP}#|\[{_STAMP}\]")
_MARKER_LINE = re.compile(rf"[ \t]*#{_STAMP}#")

DEFAULT_INTERVIEWERS = frozenset({"interviewer", "int", "i", "q", "facilitator", "moderator", "researcher", "question"})
PARTICIPANT_WORDS = frozenset({"participant", "respondent", "interviewee", "p", "r", "a", "b", "answer"})

HEADER_KEYS = {"participant", "participant id", "participant_id", "id", "pid"}


def _base_label(label: str) -> str:
    """'Interviewer 2' → 'interviewer', 'P01' → 'p', 'Int.' → 'int'."""
    return re.sub(r"[\s_#.-]*\d*\.?$", "", label.strip().lower()) or label.strip().lower()


def role_word(word: str) -> str | None:
    """The role a label names by itself ('Interviewer 2', 'Int.', 'Q' / 'Respondent', 'P01', 'A'), else None."""
    w = {word.strip().lower(), _base_label(word)}
    return INTERVIEWER if w & DEFAULT_INTERVIEWERS else PARTICIPANT if w & PARTICIPANT_WORDS else None


_ROLE_SPLITS = (
    re.compile(r"^(?P<name>.*?)[ \t]*[(\[](?P<role>[^()\[\]]+)[)\]]$"),  # Jane Smith (Interviewer)
    re.compile(r"^(?P<name>.+?)[ \t]+[-–—|][ \t]+(?P<role>[^-–—|]+)$"),  # Jane Smith - Interviewer
    re.compile(r"^(?P<role>[^-–—|]+?)[ \t]+[-–—|][ \t]+(?P<name>.+)$"),  # Interviewer - Jane Smith
)


def split_role(label: str) -> tuple[str, str | None]:
    """A speaker label's name and the role written beside it, if any: 'Jane Smith (Interviewer)' →
    ('Jane Smith', 'interviewer'). A bracket that names no role stays part of the name."""
    label = label.strip()
    for rx in _ROLE_SPLITS:
        m = rx.match(label)
        if m and (role := role_word(m["role"])):
            return m["name"].strip() or m["role"].strip(), role
    return label, None


@dataclass(frozen=True)
class ReadOptions:
    """How to read transcripts. Defaults suit most interview transcripts."""

    speaker_pattern: str = DEFAULT_SPEAKER_PATTERN
    interviewers: frozenset[str] = DEFAULT_INTERVIEWERS
    participant: str | None = None
    document_column: str | None = None
    speaker_column: str | None = None
    text_column: str = "text"
    timestamp_column: str | None = None
    participant_column: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def role(self, speaker: str, said: str | None = None) -> str:
        """Names given with --interviewer first, then a role written beside the name (``said``), then the label
        (Interviewer 2, Int, I, Q, Moderator, …). Any other speaker, such as Otter's 'Speaker 1', is a participant."""
        s = speaker.strip().lower()
        if s in self.interviewers - DEFAULT_INTERVIEWERS:
            return INTERVIEWER
        if said is not None:
            return said
        if s in self.interviewers or _base_label(s) in self.interviewers or s.startswith("interviewer"):
            return INTERVIEWER
        return PARTICIPANT


def detect_format(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    if ext in ("text",):
        return "txt"
    if ext in ("markdown",):
        return "md"
    if ext in FORMATS:
        return ext
    hint = f"use one of: {', '.join('.' + f for f in FORMATS)}"
    raise InputError(f"unsupported file type '.{ext}'", path=path, hint=hint)


def read_file(path: Path, options: ReadOptions | None = None, *, data: bytes | None = None) -> list[Transcript]:
    """Read one file into one transcript (or several, for a CSV with a document column); ``data``: its
    bytes already read (or pseudonymised), so that ``path`` only names it."""
    options = options or ReadOptions()
    fmt = detect_format(path)
    data = read_bytes(path) if data is None else data
    if not data.strip():
        raise InputError("the file is empty", path=path, hint="export the transcript again")
    if fmt == "csv":  # survey answers: one speaker per document, no interviewer expected
        return parse_csv(decode(data, path), name=path.name, source=str(path), options=options)
    if fmt == "docx":
        t = read_docx(path, data, options)
    elif fmt in ("txt", "md"):
        t = parse_text(decode(data, path), name=path.name, fmt=fmt, source=str(path), data=data, options=options)
    else:
        from coder import captions  # the caption readers build on this module's helpers

        parse = captions.parse_vtt if fmt == "vtt" else captions.parse_srt
        t = parse(decode(data, path), name=path.name, source=str(path), data=data, options=options)
    return [replace(t, notes=t.notes + speaker_notes(t, options))]


def speaker_notes(t: Transcript, options: ReadOptions) -> tuple[str, ...]:
    """What looks wrong with an interview's speakers, in words: a label close to an interviewer's read as a
    participant ("Interveiwer"), or several speakers and none of them the interviewer (so every question would
    be coded as participant speech)."""
    import difflib

    notes = []
    first: dict[str, int] = {}
    for turn in t.turns:
        first.setdefault(turn.speaker, turn.index + 1)
    roles = {turn.speaker: turn.role for turn in t.turns}
    words = sorted(w for w in options.interviewers if len(w) >= 4)
    for speaker, n in first.items():
        base = _base_label(speaker)
        named = role_word(speaker) == PARTICIPANT or base in ("interviewee", "interviewees")  # a role of its own
        if (
            roles[speaker] == PARTICIPANT
            and not named
            and len(base) >= 4
            and difflib.get_close_matches(base, words, cutoff=0.8)
        ):
            notes.append(
                f"{t.name}: '{speaker}' (first at [{n}] in 'coder show') is read as a participant; if it is the "
                f"interviewer misspelt, 'coder remove {t.name}', correct the label and import it again"
            )
    if len(first) > 1 and INTERVIEWER not in roles.values():
        names = ", ".join(f"'{s}'" for s in list(first)[:4])
        notes.append(
            f"{t.name}: no interviewer among its speakers ({names}): every turn is coded as participant speech; "
            f"if one of them asks the questions, 'coder remove {t.name}' and import it again with --interviewer NAME"
        )
    return tuple(notes)


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or an :class:`InputError` that says why not."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path, hint="name the files inside it") from None
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path, hint="check its permissions") from None


def decode(data: bytes, path: str | Path, *, newlines: bool = True) -> str:
    """Decode UTF-8 (with or without a BOM) and normalise newlines (unless ``newlines=False``, for text
    whose positions count CRLF as two characters); refuse binary files."""
    if b"\x00" in data[:8192]:
        hint = "export the transcript as .txt, .docx, .vtt, .srt or .csv"
        raise InputError("looks like a binary file, not text", path=path, hint=hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} cannot be decoded)",
            path=path,
            line=line,
            hint="re-save the file as UTF-8 (in most editors: Save As → Encoding: UTF-8)",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if newlines else text


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def compile_speaker_pattern(pattern: str, path: str) -> re.Pattern[str]:
    try:
        rx = re.compile(pattern, re.MULTILINE)
    except re.error as e:
        raise InputError(f"bad --speaker-pattern: {e}", path=path, hint="fix the regular expression") from None
    if "speaker" not in rx.groupindex:
        hint = "name the group that captures the speaker, e.g. '^(?P<speaker>[A-Z]+):\\s*'"
        raise InputError("--speaker-pattern has no (?P<speaker>...) group", path=path, hint=hint)
    return rx


def header_metadata(lines: Iterable[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for raw in lines:
        line = raw.strip().lstrip("#").strip()
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key and value.strip() and len(key) <= 40:
                meta.setdefault(key, value.strip())
    return meta


def _participant_id(meta: dict[str, str], name: str, options: ReadOptions) -> str:
    if options.participant:
        return options.participant
    for key in HEADER_KEYS:
        if key in meta:
            value = meta[key].strip()
            tag = re.match(r"\[[^\]\n]{1,40}\]", value)  # "[Person 3]", from coder pseudonymise
            return tag.group() if tag else value.split()[0].strip(".,;")
    return Path(name).stem


def parse_text(
    text: str,
    *,
    name: str,
    fmt: str = "txt",
    source: str = "",
    data: bytes | None = None,
    options: ReadOptions | None = None,
) -> Transcript:
    """Split a plain-text transcript into speaker turns.

    The layout with more lines wins: labels that start the words (``DEFAULT_SPEAKER_PATTERN``) or lines of
    only a speaker and a time, the words below (``_HEADER_LINE``); a custom ``--speaker-pattern`` is the only
    layout tried. Times become the turns' times, never part of their words (see ``_pieces``).

    Lines before the first speaker label are the header (``# participant: P03`` sets the participant). A line
    without a label continues the turn above it. Lines starting with ``#`` (but for ``#00:01:02-3#``) never
    start a turn.
    """
    options = options or ReadOptions()
    rx = compile_speaker_pattern(options.speaker_pattern, source or name)
    layouts: tuple[list[_Start], list[_Start]] = ([], [])  # labelled lines, speaker-and-time lines
    header_only = options.speaker_pattern == DEFAULT_SPEAKER_PATTERN
    pos = 0
    for line in text.split("\n"):
        if not line.lstrip().startswith("#") or _MARKER_LINE.match(line):
            m = rx.match(line)
            if m and m.group("speaker") and m.group("speaker").strip():
                times = [m.groupdict().get(g) for g in ("t1", "t2", "t3")]
                until = _first_time([m.groupdict().get("t1e")])
                layouts[0].append(_Start(pos, pos + m.end(), m.group("speaker"), _first_time(times), until))
            h = _HEADER_LINE.match(line) if header_only else None
            if h:
                spk, ts = (h["s1"], h["t1"]) if h["s1"] else (h["s2"], h["t2"])
                layouts[1].append(_Start(pos, pos + len(line), spk, _first_time([ts])))
        pos += len(line) + 1
    starts = layouts[1] if len(layouts[1]) > len(layouts[0]) else layouts[0]
    if not starts:
        raise InputError(
            "no speaker turns found",
            path=source or name,
            hint="label each turn at the start of a line, e.g. 'Interviewer: …' and 'P01: …', "
            "or describe your labels with --speaker-pattern",
        )
    header_lines = text[: starts[0].line].split("\n")
    turns: list[Turn] = []
    for i, st in enumerate(starts):
        end = starts[i + 1].line if i + 1 < len(starts) else len(text)
        speaker, said = split_role(st.speaker)
        turns.extend(_pieces(text, st, end, speaker, options.role(speaker, said)))
    meta = header_metadata(header_lines)
    return finish_transcript(text, turns, name=name, fmt=fmt, source=source, data=data, meta=meta, options=options)


@dataclass(frozen=True)
class _Start:
    line: int  # where the label's line starts
    speech: int  # where the words may start
    speaker: str  # the label as written, role and all
    time: float | None
    until: float | None = None  # the end of a written time range


def _time(stamp: str) -> float:
    """Seconds in '1:02:03', '[00:01:02.5]', '#00:01:02-3#', '12.5'; ValueError for anything else."""
    stamp = stamp.strip("[]()# \t")
    if re.fullmatch(r"\d+(?:\.\d+)?", stamp):
        return float(stamp)
    if not (m := re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,-](\d{1,3}))?", stamp)):
        raise ValueError(stamp)
    h, mi, sec, frac = m.groups()
    return clock_seconds(h, mi, sec, frac or "0")


def _first_time(stamps: Iterable[str | None]) -> float | None:
    return next((_time(s) for s in stamps if s), None)


def _skip_space(text: str, pos: int, end: int) -> int:
    return end - len(text[pos:end].lstrip())


def _pieces(text: str, st: _Start, end: int, speaker: str, role: str) -> list[Turn]:
    """One turn from a label to the next, cut at any time written inside the words so that no time is
    ever part of them: the words before a time end there (it is their ``time_end``), the words after it
    go on as a turn of the same speaker (it is their ``time_start``)."""
    end = st.line + len(text[st.line : end].rstrip())
    out: list[Turn] = []
    start, speech, t0, t1 = st.line, _skip_space(text, min(st.speech, end), end), st.time, st.until
    for m in _MARKER.finditer(text, speech, end):
        stamp = _time(m.group())
        stop = max(speech, start + len(text[start : m.start()].rstrip()))
        out.append(Turn(0, speaker, role, start, stop, speech, t0, stamp))
        start, speech, t0, t1 = m.start(), _skip_space(text, m.end(), end), stamp, None
    out.append(Turn(0, speaker, role, start, end, min(speech, end), t0, t1))
    return out


def finish_transcript(
    text: str,
    turns: Sequence[Turn],
    *,
    name: str,
    fmt: str,
    source: str,
    data: bytes | None,
    meta: dict[str, str],
    options: ReadOptions,
) -> Transcript:
    kept = [replace(t, index=i) for i, t in enumerate(t for t in turns if text[t.speech_start : t.end].strip())]
    if not any(t.role == PARTICIPANT for t in kept):
        seen = ", ".join(sorted({t.speaker for t in kept})) or "none"
        hint = "check the labels; pass --interviewer NAME only for interviewer speakers"
        raise InputError(f"no participant turns (speakers found: {seen})", path=source or name, hint=hint)
    return Transcript(
        name=name,
        text=text,
        turns=tuple(kept),
        participant=_participant_id(meta, name, options),
        format=fmt,
        source=source,
        content_hash=sha256(data if data is not None else text),
        metadata=meta,
    )


def read_docx(path: Path, data: bytes, options: ReadOptions) -> Transcript:
    """Read a Word document: one line per paragraph, then speaker turns as in plain text."""
    import zipfile

    try:
        import docx  # python-docx

        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises assorted errors on damaged parts
        why = type(e).__name__ if isinstance(e, (zipfile.BadZipFile, KeyError, ValueError)) else e
        hint = "open it in Word or LibreOffice and save it again as .docx"
        raise InputError(f"not a readable .docx file ({why})", path=path, hint=hint) from None
    text = "\n".join(p.text for p in document.paragraphs)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    if not text.strip():
        raise InputError("the document has no text", path=path, hint="check that it is the right file")
    return parse_text(text, name=path.name, fmt="docx", source=str(path), data=data, options=options)


def clock_seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


CSV_DELIMITERS = (",", ";", "\t")


def csv_delimiter(text: str) -> str:
    """',' ';' or tab, as Excel saves a CSV in different countries: the only one that splits the header, else
    csv.Sniffer's pick among those that do, else the one that splits it most (',' when nothing splits it)."""
    header = text.split("\n", 1)[0]
    widths = {d: len(next(csv.reader([header], delimiter=d), [])) for d in CSV_DELIMITERS}
    candidates = [d for d in CSV_DELIMITERS if widths[d] > 1]
    if len(candidates) > 1:
        try:
            return csv.Sniffer().sniff(text[:65536], delimiters="".join(candidates)).delimiter
        except csv.Error:  # too few rows to tell
            return max(candidates, key=lambda d: (widths[d], d == ","))
    return candidates[0] if candidates else ","


def csv_dialect(text: str) -> type[csv.Dialect]:
    """The dialect of a CSV: its separator from :func:`csv_delimiter`; its quote character (``"``, or ``'`` where the
    file quotes that way) and whether a space follows the separator, as csv.Sniffer reads them; and a quote inside a
    quoted value doubled, as every spreadsheet writes it. Not Sniffer's guess at that last one: on a few rows it can
    decide quotes are not doubled, and then read ``"kind" staff`` as ``kind staff``."""
    delimiter = csv_delimiter(text)
    quotechar, skip = '"', False
    try:
        sniffed = csv.Sniffer().sniff(text[:4096], delimiters=delimiter)
        quotechar, skip = (sniffed.quotechar if sniffed.quotechar == "'" else '"'), bool(sniffed.skipinitialspace)
    except csv.Error:
        pass
    return type("Separated", (csv.excel,), {"delimiter": delimiter, "quotechar": quotechar, "skipinitialspace": skip})


def csv_records(text: str, dialect: Any, path: str) -> list[list[str]]:
    """Every record of a CSV, read strictly: a double quote left open (it would run to the end of the file and
    swallow every row after it into one value) or text after a closing quote is an :class:`InputError` naming the
    row where it starts (rows as a spreadsheet numbers them, the header being row 1), not rows quietly merged.
    A quoted value may still span lines."""
    out: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), dialect, strict=True):
            out.append(record)
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            msg = "a double quote opened in this row is never closed (every row after it would be one value)"
            hint = "close the quote or remove it; nothing was read from this file"
        else:
            msg = f"malformed CSV ({e})"
            hint = 'put a value that holds quotes in double quotes, and double each quote inside it ("")'
        raise InputError(msg, path=path, row=len(out) + 1, hint=hint) from None
    return out


def parse_csv(text: str, *, name: str, source: str = "", options: ReadOptions | None = None) -> list[Transcript]:
    """Read utterances or survey answers: one document per distinct ``--document-column`` value."""
    options = options or ReadOptions()
    path = source or name
    records = csv_records(text, csv_dialect(text), path)
    columns = records[0] if records else []
    wanted = {
        "--text-column": options.text_column,
        "--document-column": options.document_column,
        "--speaker-column": options.speaker_column,
        "--timestamp-column": options.timestamp_column,
        "--participant-column": options.participant_column,
    }
    for flag, col in wanted.items():
        if col is not None and col not in columns:
            msg = f"no column '{col}' (named by {flag}); the columns are: {', '.join(columns) or 'none'}"
            raise InputError(msg, path=path, row=1, hint=f"pass {flag} with one of those names")
    docs: dict[str, list[tuple[int, dict[str, str]]]] = {}
    empty: list[int] = []  # rows with other values but no text: said on import, not dropped silently
    for row_no, record in enumerate(records[1:], start=2):
        extra = [c for c in record[len(columns) :] if c.strip()]
        if extra:
            raise InputError(
                f"more values than header columns ({', '.join(repr(c) for c in extra[:3])} past the last column)",
                path=path,
                row=row_no,
                hint='put a value that holds the separator in double quotes ("I pray, a lot")',
            )
        row = dict(zip(columns, record, strict=False))
        words = (row.get(options.text_column) or "").strip()
        if not words:
            if any(c.strip() for c in record):
                empty.append(row_no)
            continue
        key = (row.get(options.document_column) or "").strip() if options.document_column else ""
        if options.document_column and not key:
            hint = "fill in the document for every row with text"
            raise InputError(f"empty '{options.document_column}' value", path=path, row=row_no, hint=hint)
        docs.setdefault(key, []).append((row_no, row))
    if not docs:
        raise InputError(f"no rows with text in column '{options.text_column}'", path=path, hint="check --text-column")
    notes: tuple[str, ...] = ()
    if empty:
        shown = ", ".join(map(str, empty[:10])) + (f", … ({len(empty)} in all)" if len(empty) > 10 else "")
        notes = (
            f"{name}: {len(empty)} row{'s' * (len(empty) != 1)} with no text in '{options.text_column}' "
            f"{'were' if len(empty) != 1 else 'was'} not imported (row{'s' * (len(empty) != 1)} {shown})",
        )
    stem = Path(name).stem
    out: list[Transcript] = []
    for key, rows in docs.items():
        parts: list[str] = []
        turns: list[Turn] = []
        pos = 0
        for i, (row_no, row) in enumerate(rows):
            words = re.sub(r"\s+", " ", (row.get(options.text_column) or "").strip())
            spk = (row.get(options.speaker_column) or "").strip() if options.speaker_column else ""
            spk, said = split_role(spk or (key or stem))
            ts = None
            if options.timestamp_column and (row.get(options.timestamp_column) or "").strip():
                try:
                    ts = _time(row[options.timestamp_column])
                except ValueError:
                    bad, hint = row[options.timestamp_column], "use seconds (12.5) or HH:MM:SS"
                    raise InputError(f"bad timestamp '{bad}'", path=path, row=row_no, hint=hint) from None
            line = f"{spk}: {words}"
            role = options.role(spk, said) if options.speaker_column else PARTICIPANT
            turns.append(Turn(i, spk, role, pos, pos + len(line), pos + len(spk) + 2, ts, None))
            parts.append(line)
            pos += len(line) + 1
        doc_text = "\n".join(parts) + "\n"
        meta = {"csv_file": name}
        if options.participant_column:
            pid = (rows[0][1].get(options.participant_column) or "").strip()
            if pid:
                meta["participant"] = pid
        elif key:
            meta["participant"] = key
        doc_name = f"{name}#{key}" if key else name
        t = finish_transcript(
            doc_text, turns, name=doc_name, fmt="csv", source=source, data=None, meta=meta, options=options
        )
        out.append(replace(t, notes=notes) if notes else t)
    return out
