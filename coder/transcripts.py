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
from dataclasses import dataclass, field
from pathlib import Path

from coder.errors import InputError
from coder.types import INTERVIEWER, PARTICIPANT, Transcript, Turn

FORMATS = ("txt", "md", "docx", "vtt", "srt", "csv")

# A speaker label at the start of a line: "Interviewer:", "I:", "P03:", "Participant 3:",
# "Q:", "**P09:**", "Dr. Moss:", optionally after a "[00:01:02]" timestamp.
DEFAULT_SPEAKER_PATTERN = (
    r"^[ \t]*(?:\[?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\]?[ \t]+)?"
    r"(?:\*\*|__)?(?P<speaker>[A-Z][\w.'\-]*(?: (?:[A-Z][\w.'\-]*|\d+)){0,2})(?:\*\*|__)?"
    r"[ \t]*:(?:\*\*|__)?[ \t]*"
)

DEFAULT_INTERVIEWERS = frozenset({"interviewer", "int", "i", "q", "facilitator", "moderator", "researcher", "question"})

HEADER_KEYS = {"participant", "participant id", "participant_id", "id", "pid"}


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

    def role(self, speaker: str) -> str:
        s = speaker.strip().lower()
        if s in self.interviewers or s.startswith("interviewer"):
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
    raise InputError(
        f"unsupported file type '.{ext}'",
        path=path,
        hint=f"use one of: {', '.join('.' + f for f in FORMATS)}",
    )


def read_file(path: Path, options: ReadOptions | None = None) -> list[Transcript]:
    """Read one file into one transcript (or several, for a CSV with a document column)."""
    options = options or ReadOptions()
    fmt = detect_format(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path, hint="name the files inside it") from None
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path, hint="check its permissions") from None
    if not data.strip():
        raise InputError("the file is empty", path=path, hint="export the transcript again")
    if fmt == "docx":
        return [read_docx(path, data, options)]
    text = decode(data, path)
    if fmt in ("txt", "md"):
        return [parse_text(text, name=path.name, fmt=fmt, source=str(path), data=data, options=options)]
    if fmt == "vtt":
        return [parse_vtt(text, name=path.name, source=str(path), data=data, options=options)]
    if fmt == "srt":
        return [parse_srt(text, name=path.name, source=str(path), data=data, options=options)]
    return parse_csv(text, name=path.name, source=str(path), options=options)


def decode(data: bytes, path: str | Path, *, newlines: bool = True) -> str:
    """Decode UTF-8 (with or without a BOM) and normalise newlines (unless ``newlines=False``, for text
    whose positions count CRLF as two characters); refuse binary files."""
    if b"\x00" in data[:8192]:
        raise InputError(
            "looks like a binary file, not text",
            path=path,
            hint="export the transcript as .txt, .docx, .vtt, .srt or .csv",
        )
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


def _compile(pattern: str, path: str) -> re.Pattern[str]:
    try:
        rx = re.compile(pattern, re.MULTILINE)
    except re.error as e:
        raise InputError(f"bad --speaker-pattern: {e}", path=path, hint="fix the regular expression") from None
    if "speaker" not in rx.groupindex:
        raise InputError(
            "--speaker-pattern has no (?P<speaker>...) group",
            path=path,
            hint="name the group that captures the speaker, e.g. '^(?P<speaker>[A-Z]+):\\s*'",
        )
    return rx


def _header_metadata(lines: Iterable[str]) -> dict[str, str]:
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
            return meta[key].split()[0].strip(".,;")
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

    Lines before the first speaker label are the header (``# participant: P03`` sets the
    participant). A line without a label continues the turn above it. Lines starting with
    ``#`` never start a turn.
    """
    options = options or ReadOptions()
    rx = _compile(options.speaker_pattern, source or name)
    starts: list[tuple[int, int, str]] = []  # (line start, speech start, speaker)
    pos = 0
    header_lines: list[str] = []
    for line in text.split("\n"):
        m = None if line.lstrip().startswith("#") else rx.match(line)
        if m and m.group("speaker") and m.group("speaker").strip():
            starts.append((pos, pos + m.end(), m.group("speaker").strip()))
        elif not starts:
            header_lines.append(line)
        pos += len(line) + 1
    if not starts:
        raise InputError(
            "no speaker turns found",
            path=source or name,
            hint="label each turn at the start of a line, e.g. 'Interviewer: …' and 'P01: …', "
            "or describe your labels with --speaker-pattern",
        )
    turns: list[Turn] = []
    for i, (start, speech_start, speaker) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        end = start + len(text[start:end].rstrip())
        speech_start = min(speech_start, end)
        turns.append(Turn(i, speaker, options.role(speaker), start, end, speech_start))
    meta = _header_metadata(header_lines)
    return _finish(text, turns, name=name, fmt=fmt, source=source, data=data, meta=meta, options=options)


def _finish(
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
    kept = [t for t in turns if text[t.speech_start : t.end].strip()]
    kept = [
        Turn(i, t.speaker, t.role, t.start, t.end, t.speech_start, t.time_start, t.time_end) for i, t in enumerate(kept)
    ]
    if not any(t.role == PARTICIPANT for t in kept):
        seen = sorted({t.speaker for t in kept})
        raise InputError(
            f"no participant turns (speakers found: {', '.join(seen) or 'none'})",
            path=source or name,
            hint="check the labels; pass --interviewer NAME only for interviewer speakers",
        )
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
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InputError(
            f"not a readable .docx file ({type(e).__name__})",
            path=path,
            hint="open it in Word or LibreOffice and save it again as .docx",
        ) from None
    except Exception as e:  # python-docx raises assorted errors on damaged parts
        raise InputError(
            f"not a readable .docx file ({e})",
            path=path,
            hint="open it in Word or LibreOffice and save it again as .docx",
        ) from None
    text = "\n".join(p.text for p in document.paragraphs)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    if not text.strip():
        raise InputError("the document has no text", path=path, hint="check that it is the right file")
    return parse_text(text, name=path.name, fmt="docx", source=str(path), data=data, options=options)


_TS = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TS}\s*-->\s*{_TS}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]+>")


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


@dataclass
class _Cue:
    line: int
    start: float
    end: float
    speaker: str | None
    text: str


def _build_from_cues(
    cues: list[_Cue],
    *,
    name: str,
    fmt: str,
    source: str,
    data: bytes,
    meta: dict[str, str],
    options: ReadOptions,
) -> Transcript:
    """Merge consecutive cues of one speaker into turns and write them as ``Speaker: text`` lines."""
    if not cues:
        raise InputError("no caption cues found", path=source or name, hint="check that it is a subtitle file")
    merged: list[list[_Cue]] = []
    speaker: str | None = None
    for cue in cues:
        if cue.speaker is None:
            cue.speaker = speaker
        if cue.speaker is None:
            raise InputError(
                "caption has no speaker",
                path=source or name,
                line=cue.line,
                hint="mark speakers with <v Name> tags or a 'Name:' prefix",
            )
        if merged and merged[-1][0].speaker == cue.speaker:
            merged[-1].append(cue)
        else:
            merged.append([cue])
        speaker = cue.speaker
    parts: list[str] = []
    turns: list[Turn] = []
    pos = 0
    for i, group in enumerate(merged):
        spk = group[0].speaker or ""
        words = " ".join(c.text for c in group if c.text)
        line = f"{spk}: {words}"
        turns.append(
            Turn(
                i,
                spk,
                options.role(spk),
                pos,
                pos + len(line),
                pos + len(spk) + 2,
                group[0].start,
                group[-1].end,
            )
        )
        parts.append(line)
        pos += len(line) + 1
    text = "\n".join(parts) + "\n"
    return _finish(text, turns, name=name, fmt=fmt, source=source, data=data, meta=meta, options=options)


def _cue_text(lines: list[str], rx: re.Pattern[str]) -> tuple[str | None, str]:
    raw = " ".join(s.strip() for s in lines if s.strip())
    speaker = None
    m = _VOICE.search(raw)
    if m:
        speaker = m.group(1).strip()
    words = _TAG.sub("", raw).strip()
    if speaker is None:
        lm = rx.match(words)
        if lm:
            speaker = lm.group("speaker").strip()
            words = words[lm.end() :].strip()
    return speaker, re.sub(r"\s+", " ", words)


def parse_vtt(
    text: str, *, name: str, source: str = "", data: bytes = b"", options: ReadOptions | None = None
) -> Transcript:
    """Read WebVTT captions; speakers from ``<v Name>`` tags or ``Name:`` prefixes; NOTE blocks as header."""
    if not text.split("\n", 1)[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError(
            "not a WebVTT file (first line is not 'WEBVTT')",
            path=source or name,
            line=1,
            hint="check the file, or rename it to .srt or .txt if that is what it is",
        )
    return _parse_captions(text, fmt="vtt", name=name, source=source, data=data, options=options)


def parse_srt(
    text: str, *, name: str, source: str = "", data: bytes = b"", options: ReadOptions | None = None
) -> Transcript:
    """Read SubRip captions; speakers from ``Name:`` prefixes (or ``<v Name>``)."""
    return _parse_captions(text, fmt="srt", name=name, source=source, data=data, options=options)


# What a caption format calls a block, its cues, and the separator before milliseconds (for messages).
_CAPTION_WORDS = {"vtt": ("caption", "cue", "."), "srt": ("subtitle", "block", ",")}


def _parse_captions(
    text: str, *, fmt: str, name: str, source: str, data: bytes, options: ReadOptions | None
) -> Transcript:
    """Cues of a WebVTT or SubRip file; in WebVTT, header/STYLE/REGION blocks are skipped and NOTEs are metadata."""
    options = options or ReadOptions()
    rx = _compile(options.speaker_pattern, source or name)
    kind, unit, sep = _CAPTION_WORDS[fmt]
    cues: list[_Cue] = []
    meta_lines: list[str] = []
    for start_line, block in _blocks(text.split("\n")):
        head = block[0].strip()
        if fmt == "vtt" and head.startswith(("WEBVTT", "STYLE", "REGION")):
            continue
        if fmt == "vtt" and head.startswith("NOTE"):
            meta_lines.extend([head[4:], *block[1:]])
            continue
        timing_at = next((i for i, s in enumerate(block[:2]) if "-->" in s), None)
        if timing_at is None:
            raise InputError(
                f"{kind} block without a timing line",
                path=source or name,
                line=start_line,
                hint=f"each {unit} needs a line like '00:00:01{sep}000 --> 00:00:04{sep}000'",
            )
        m = _TIMING.match(block[timing_at])
        if not m:
            raise InputError(
                f"bad {kind} timing",
                path=source or name,
                line=start_line + timing_at,
                hint=f"use HH:MM:SS{sep}mmm --> HH:MM:SS{sep}mmm",
            )
        g = m.groups()
        spk, words = _cue_text(block[timing_at + 1 :], rx)
        cues.append(_Cue(start_line, _seconds(*g[:4]), _seconds(*g[4:]), spk, words))
    return _build_from_cues(
        cues,
        name=name,
        fmt=fmt,
        source=source,
        data=data or text.encode(),
        meta=_header_metadata(meta_lines),
        options=options,
    )


def _blocks(lines: list[str]) -> Iterable[tuple[int, list[str]]]:
    """Blank-line separated blocks with their 1-based first line number."""
    block: list[str] = []
    first = 0
    for i, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                first = i
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _parse_time(value: str) -> float:
    value = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    m = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?", value)
    if not m:
        raise ValueError(value)
    h, mi, s, ms = m.groups()
    return _seconds(h, mi, s, ms or "0")


def parse_csv(text: str, *, name: str, source: str = "", options: ReadOptions | None = None) -> list[Transcript]:
    """Read utterances or survey answers: one document per distinct ``--document-column`` value."""
    options = options or ReadOptions()
    path = source or name
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = reader.fieldnames or []
    wanted = {
        "--text-column": options.text_column,
        "--document-column": options.document_column,
        "--speaker-column": options.speaker_column,
        "--timestamp-column": options.timestamp_column,
        "--participant-column": options.participant_column,
    }
    for flag, col in wanted.items():
        if col is not None and col not in columns:
            raise InputError(
                f"no column '{col}' (named by {flag}); the columns are: {', '.join(columns) or 'none'}",
                path=path,
                row=1,
                hint=f"pass {flag} with one of those names",
            )
    docs: dict[str, list[tuple[int, dict[str, str]]]] = {}
    try:
        for row_no, row in enumerate(reader, start=2):
            words = (row.get(options.text_column) or "").strip()
            if not words:
                continue
            key = (row.get(options.document_column) or "").strip() if options.document_column else ""
            if options.document_column and not key:
                raise InputError(
                    f"empty '{options.document_column}' value",
                    path=path,
                    row=row_no,
                    hint="fill in the document for every row with text",
                )
            docs.setdefault(key, []).append((row_no, row))
    except csv.Error as e:
        raise InputError(
            f"malformed CSV ({e})",
            path=path,
            row=reader.line_num,
            hint="check the quoting on that row",
        ) from None
    if not docs:
        raise InputError(
            f"no rows with text in column '{options.text_column}'",
            path=path,
            hint="check --text-column",
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
            spk = spk or (key or stem)
            ts = None
            if options.timestamp_column and (row.get(options.timestamp_column) or "").strip():
                try:
                    ts = _parse_time(row[options.timestamp_column])
                except ValueError:
                    raise InputError(
                        f"bad timestamp '{row[options.timestamp_column]}'",
                        path=path,
                        row=row_no,
                        hint="use seconds (12.5) or HH:MM:SS",
                    ) from None
            line = f"{spk}: {words}"
            role = options.role(spk) if options.speaker_column else PARTICIPANT
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
        out.append(
            _finish(
                doc_text,
                turns,
                name=doc_name,
                fmt="csv",
                source=source,
                data=None,
                meta=meta,
                options=options,
            )
        )
    return out
