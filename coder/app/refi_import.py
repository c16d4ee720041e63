"""REFI-QDA import into a project: ``coder import FILE.qdc|.qdpx``.

Reads a whole ``.qdpx`` first, checks every part, then writes documents, codebook, codings (as
each user's accepted decisions on the sentences a selection covers), memos and participant
attributes in ONE transaction: a bad file leaves the project as it was.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coder import codebook as cb
from coder import refi
from coder import segment as seg
from coder.app.common import utc_iso
from coder.app.refi_export import MACHINE_USER
from coder.embed import text_hash
from coder.errors import InputError
from coder.store import Store, now
from coder.transcripts import ReadOptions, decode, parse_text, sha256
from coder.types import PARTICIPANT, Codebook, Transcript, Turn

NO_DEFINITION = "(No definition came with this code; write one before suggesting with it.)"


@dataclass(frozen=True)
class _Seen:
    """A document a source's codings go to: already stored (with its id), or planned by this import."""

    id: int | None
    name: str
    text: str


@dataclass
class ImportResult:
    codebook: Codebook | None
    codebook_changed: bool
    documents: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    decisions: int = 0
    memos: int = 0
    attributes: int = 0
    coders: list[str] = field(default_factory=list)
    codings_found: int = 0  # the file's codings on text (coder-machine's unreviewed suggestions not counted)
    codings_kept: int = 0  # of those, placed on at least one unit (all of them: else the import is refused)
    on_context: int = 0  # of those kept, placed on interviewer speech (kept: the researcher made them)
    unreviewed: int = 0  # codings by coder-machine (unreviewed suggestions), not imported as decisions
    warnings: list[str] = field(default_factory=list)


def _codebook_from(
    codes: list[refi.RefiCode], *, origin: str, fallback_name: str, where: str
) -> tuple[Codebook, str, dict[str, str], list[str]]:
    """A coder codebook from a REFI code tree: (codebook, its YAML, GUID -> path, warnings)."""
    warnings: list[str] = []
    fixes = {"definition": 0, "name": 0}
    guid_path: dict[str, str] = {}

    def node(c: refi.RefiCode, parent: str | None, siblings: set[str], ancestors: tuple[str, ...]) -> dict[str, Any]:
        name = c.name.strip().replace(">", "›") or "(unnamed)"
        if name != c.name:
            fixes["name"] += 1
        base, k = name, 2
        while name.casefold() in siblings or name.casefold() in ancestors:
            name = f"{base} ({k})"
            k += 1
            fixes["name"] += 1
        siblings.add(name.casefold())
        path = name if parent is None else f"{parent} > {name}"
        if c.guid:
            if c.guid in guid_path:
                raise InputError(
                    f"code GUID {c.guid} is used by two codes ('{guid_path[c.guid]}' and '{path}')",
                    path=where,
                    line=c.line,
                    hint="the file is damaged; each code needs its own GUID",
                )
            guid_path[c.guid] = path
        f = c.fields
        d: dict[str, Any] = {"name": name, "definition": f["definition"].strip() or NO_DEFINITION}
        if not f["definition"].strip():
            fixes["definition"] += 1
        for k2 in ("include", "exclude"):
            if f[k2]:
                d[k2] = f[k2]
        for k2 in ("examples", "counterexamples"):
            if f[k2]:
                d[k2] = list(f[k2])
        if f["source"]:
            d["source"] = f["source"]
        if f.get("exclusive") and len(c.children) >= 2:  # a file edited elsewhere may have lost children
            d["exclusive"] = True
        if f.get("formerly"):
            d["formerly"] = list(f["formerly"])
        if c.guid:
            d["guid"] = c.guid
        kids: set[str] = set()
        if c.children:
            d["children"] = [node(x, path, kids, (*ancestors, name.casefold())) for x in c.children]
        return d

    name, version, exclusive = refi.codebook_name(origin) or (fallback_name, "1", False)
    top: set[str] = set()
    data: dict[str, Any] = {"name": name, "version": version}
    if exclusive and len(codes) >= 2:  # a file edited elsewhere may have lost top-level codes
        data["exclusive"] = True
    data["codes"] = [node(c, None, top, ()) for c in codes]
    if fixes["definition"]:
        warnings.append(f"{fixes['definition']} code(s) had no description; their definition says so, write one")
    if fixes["name"]:
        warnings.append(f"{fixes['name']} code name(s) changed ('>', or the same name as a sibling or an ancestor)")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    book = cb.parse_codebook(text, source=where)
    return book, text, guid_path, warnings


def import_qdc(store: Store, path: Path) -> ImportResult:
    """Make a REFI-QDA codebook the project's current codebook."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path, hint="check the path") from None
    except OSError as e:
        raise InputError(f"cannot read the file ({e.strerror})", path=path, hint="check the path") from None
    codes, origin = refi.read_qdc(data, str(path))
    if not codes:
        raise InputError("the codebook has no codes", path=path, hint="export it again from its tool")
    book, text, _, warnings = _codebook_from(codes, origin=origin, fallback_name=path.stem, where=str(path))
    changed = store.save_codebook(
        name=book.name, version=book.version, hash=book.hash, source=str(path), yaml_text=text
    )
    return ImportResult(book, changed, warnings=warnings)


def _plain_text(raw: str) -> tuple[str, Callable[[int], int]]:
    """Text as coder stores it (LF line ends) and a map from positions in ``raw`` (CRLF counted) to it."""
    removed = [m.start() for m in re.finditer(r"\r\n", raw)]  # the CR of each CRLF
    text = raw.replace("\r\n", "\n").replace("\r", "\n")

    def to_text(pos: int) -> int:
        return pos - bisect.bisect_left(removed, pos)

    return text, to_text


def _transcript(text: str, *, name: str, participant: str | None, where: str, options: ReadOptions) -> Transcript:
    opts = ReadOptions(
        speaker_pattern=options.speaker_pattern,
        interviewers=options.interviewers,
        participant=participant or options.participant,
    )
    try:
        return parse_text(text, name=name, fmt="qdpx", source=where, data=text.encode("utf-8"), options=opts)
    except InputError as e:
        no_turns = e.message.startswith("no speaker turns")
        if not no_turns and not e.message.startswith("no participant turns"):
            raise
    # no speaker labels (a field note, an essay answer): each line is a turn of the participant's;
    # no participant speech (an interview guide): the same lines, as context only
    return _by_line(text, name=name, who=opts.participant or Path(name).stem, where=where, context=not no_turns)


def _by_line(text: str, *, name: str, who: str, where: str, context: bool = False) -> Transcript:
    """Each non-empty line a turn: the participant's (``who``), or context only."""
    role = "interviewer" if context else PARTICIPANT
    no_turns = not context
    turns: list[Turn] = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            lead = len(line) - len(line.lstrip())
            end = pos + len(line.rstrip())
            turns.append(Turn(len(turns), who if no_turns else "(context)", role, pos, end, pos + lead))
        pos += len(line) + 1
    return Transcript(
        name=name,
        text=text,
        turns=tuple(turns),
        participant=who,
        format="qdpx",
        source=where,
        content_hash=sha256(text.encode("utf-8")),
    )


def import_qdpx(
    store: Store,
    path: Path,
    *,
    options: ReadOptions | None = None,
    unit: str = "sentence",
    splitter: seg.SentenceSplitter | Callable[[], seg.SentenceSplitter] | None = None,
) -> ImportResult:
    """Import a REFI-QDA project: everything is checked before anything is written."""
    options = options or ReadOptions()
    archive = refi.Archive(path)
    qde = archive.find("project.qde")
    if qde is None:
        raise InputError("no project.qde in the archive", path=path, hint="is this a REFI-QDA project (.qdpx)?")
    where = f"{path}/{qde}"
    root = refi.parse_xml(archive.read(qde), where)
    if refi._local(root.tag) != "Project":
        raise InputError(
            f"the root element is <{refi._local(root.tag)}>, not <Project>",
            path=where,
            line=root.sourceline,
            hint="is this a REFI-QDA project?",
        )
    refi.validate_project(root, where)
    refi.check_unique_guids(root, where)
    proj = refi.read_project_xml(root, where)

    book = None
    text_yaml = ""
    guid_path: dict[str, str] = {}
    warnings: list[str] = []
    if proj.codes:
        book, text_yaml, guid_path, warnings = _codebook_from(
            proj.codes, origin=proj.origin, fallback_name=path.stem, where=where
        )
    users: dict[str, str] = {}
    taken: set[str] = set()
    for g, n in proj.users.items():  # two users with one name stay two coders
        name, k = n, 2
        while name in taken:
            name = f"{n} ({k})"
            k += 1
        taken.add(name)
        users[g] = name
    participant_of: dict[str, str] = {}
    for case in proj.cases:
        for g in case.source_guids:
            if case.name and g in participant_of and participant_of[g] != case.name:
                warnings.append(
                    f"a source is in cases '{participant_of[g]}' and '{case.name}'; '{case.name}' is its participant"
                )
            if case.name:
                participant_of[g] = case.name
    ignored = sum(
        1
        for x in root.iter()
        if isinstance(x.tag, str)
        and refi._local(x.tag) in ("Coding", "NoteRef", "VariableValue")
        and refi._local(x.getparent().tag) == "TextSource"
    )
    if ignored:
        warnings.append(
            f"{ignored} coding(s), note(s) or value(s) on whole sources were not imported (coder codes sentences)"
        )

    # read every source and check every selection and coding first
    prepared = []
    seen: set[str] = set()
    for s in proj.sources:
        swhere = f"{where}:{s.line}" if s.line else where
        raw = s.text[1:] if s.text is not None and s.text.startswith("\ufeff") else s.text  # a BOM is not counted
        if raw is None and (entry := refi.source_entry(archive, s, "plain")) is not None:
            raw = _decode(archive.read(entry), f"{path}/{entry}")
        entry = refi.source_entry(archive, s, "rich") if raw is None else None
        if entry is not None and entry.lower().endswith(".docx"):
            raw = _docx_text(archive.read(entry), f"{path}/{entry}", archive)
        if raw is None:
            raise InputError(
                f"source '{s.name}' has no plain text in the archive (plainTextPath {s.plain_path!r})",
                path=where,
                line=s.line,
                hint="export the project again with its sources included",
            )
        text, to_text = _plain_text(raw)
        for sel in s.selections:
            if not 0 <= sel.start <= sel.end <= len(raw):
                raise InputError(
                    f"selection {sel.guid} ({sel.start}-{sel.end}) lies outside source '{s.name}' "
                    f"({len(raw):,} characters)",
                    path=where,
                    line=sel.line,
                    hint="the file is damaged or its positions are not in characters",
                )
            for c in sel.codings:
                if c.code_guid not in guid_path:
                    raise InputError(
                        f"coding {c.guid} refers to code {c.code_guid}, which is not in the codebook",
                        path=where,
                        line=c.line,
                        hint="the file is damaged; export it again",
                    )
        name = s.name or f"{s.guid}.txt"
        base, k = name, 2
        while name in seen:
            name = f"{Path(base).stem} ({k}){Path(base).suffix}"
            k += 1
        seen.add(name)
        t = _transcript(text, name=name, participant=participant_of.get(s.guid), where=swhere, options=options)
        if not any(turn.role == PARTICIPANT for turn in t.turns):
            warnings.append(f"source '{name}' has no participant speech; imported as context only")
        prepared.append((s, t, to_text))
    for s, _, _ in prepared:
        for sel in s.selections:
            for c in sel.codings:
                if c.user_guid is not None and c.user_guid not in users:
                    users[c.user_guid] = c.user_guid  # a user the file does not list: keep the GUID as name
    skipped = [
        x
        for x in root.iter()
        if isinstance(x.tag, str) and refi._local(x.tag) in ("PDFSource", "PictureSource", "AudioSource", "VideoSource")
    ]
    if skipped:
        warnings.append(f"{len(skipped)} non-text source(s) (PDF, picture, audio, video) were not imported")

    split = None
    fresh = []
    unchanged = []
    lost: list[str] = []
    by_text: dict[str, _Seen] = {}  # sources of this file already planned, by their text
    planned: dict[str, list[tuple[int, int, int, bool]]] = {}  # a planned document's spans, by name
    for s, t, to_text in prepared:
        old = store.document_by_name(t.name) or store.document_by_text(t.text) or by_text.get(t.text)
        if old is not None and old.name != t.name and old.text == t.text:
            warnings.append(f"source '{t.name}' has the same text as document '{old.name}'; its codings go there")
        if old is not None and old.text != t.text:
            raise InputError(
                f"a different document named '{t.name}' is already in this project",
                path=where,
                line=s.line,
                hint="nothing was imported; import into a new project, or rename the document there",
            )
        if old is None and unit == "sentence" and split is None:
            split = splitter() if callable(splitter) and not hasattr(splitter, "split") else splitter
            split = split or seg.load_splitter()
        segments = None
        if old is None:
            segments = seg.segment(t, split, unit=unit)
            spans = [(x.start, x.end, x.index, x.coded) for x in segments]
            placed = _place(s, spans, to_text, users, t.text)
            if placed.lost or (placed.codings >= MISFIT_CODINGS and placed.on_context * 2 > placed.codings):
                # the speaker labels found do not fit the coding (timestamps or headings read as speakers,
                # coded text outside every turn): read the source line by line as the participant's instead
                who = participant_of.get(s.guid) or options.participant or Path(t.name).stem
                alt = _by_line(t.text, name=t.name, who=who, where=t.source)
                alt_segments = seg.segment(alt, split, unit=unit)
                alt_spans = [(x.start, x.end, x.index, x.coded) for x in alt_segments]
                alt_placed = _place(s, alt_spans, to_text, users, alt.text)
                if len(alt_placed.lost) < len(placed.lost) or (
                    len(alt_placed.lost) == len(placed.lost) and alt_placed.on_context < placed.on_context
                ):
                    warnings.append(
                        f"source '{t.name}': its speaker labels did not fit its codings "
                        f"({placed.on_context} of {placed.codings} on interviewer speech, {len(placed.lost)} outside "
                        "every turn); imported line by line as the participant's speech"
                    )
                    t, segments, spans, placed = alt, alt_segments, alt_spans, alt_placed
            by_text[t.text] = _Seen(None, t.name, t.text)
            planned[t.name] = spans
        else:
            spans = planned.get(old.name) or [
                (r.start, r.end, r.idx, r.coded) for r in store.segments(old.id, coded_only=False)
            ]
            placed = _place(s, spans, to_text, users, t.text)
        lost += [f"source '{t.name}' {x}" for x in placed.lost]
        fresh.append((s, t, segments, old, placed))
        if old is not None and old.name == t.name:
            unchanged.append(t.name)
    if lost:
        shown = "; ".join(lost[:10]) + (f"; and {len(lost) - 10} more" if len(lost) > 10 else "")
        raise InputError(
            f"{len(lost)} coding(s) would be lost, on text that is in no unit: {shown}",
            path=where,
            hint="nothing was imported; please report this with the file, or export the sources as plain text",
        )

    result = ImportResult(book, False, unchanged=unchanged, warnings=warnings)
    splitter_name = getattr(split, "name", "turn") if split is not None else "turn"

    def write() -> None:
        if book is not None:
            result.codebook_changed = store.save_codebook(
                name=book.name, version=book.version, hash=book.hash, source=str(path), yaml_text=text_yaml
            )
        coders: set[str] = set()
        ids: dict[str, int] = {}
        for s, t, segments, old, placed in fresh:
            if old is not None:
                doc_id = old.id if old.id is not None else ids[old.name]
            else:
                assert segments is not None
                doc_id = store.add_document(
                    t, segments, unit=unit, splitter=splitter_name, text_hashes=[text_hash(x.text) for x in segments]
                )
                result.documents.append(t.name)
                ids[t.name] = doc_id
            seg_id = {r.idx: r.id for r in store.segments(doc_id, coded_only=False)}
            result.codings_found += placed.codings
            result.codings_kept += placed.kept
            result.on_context += placed.on_context
            for sel, where_to in zip(s.selections, placed.targets, strict=True):
                targets = [seg_id[i] for i in where_to]
                if not targets:
                    continue
                for c in sel.codings:
                    who = users.get(c.user_guid or "", "") if c.user_guid else "imported"
                    if who == MACHINE_USER:  # coder's own unreviewed suggestions: not anyone's decision
                        result.unreviewed += 1
                        continue
                    when = _time(c.created)
                    memo = "\n\n".join(proj.notes[g].text for g in c.note_guids if g in proj.notes) or None
                    for target in targets:
                        r = store.record_decision(
                            segment_id=target,
                            code_path=guid_path[c.code_guid],
                            coder=who,
                            answer="accept",
                            memo=memo,
                            codebook_hash=book.hash if book is not None else None,
                            decided_at=when,
                            imported=True,
                        )
                        if r.outcome == "unchanged":
                            continue
                        result.decisions += 1
                        coders.add(who)
                for g in sel.note_guids:
                    note = proj.notes.get(g)
                    if note is None:
                        continue
                    who = users.get(note.user_guid or "", "imported")
                    for target in targets:
                        if not any(m.text == note.text and m.coder == who for m in store.memos(target)):
                            store.add_memo(target, who, note.text, created_at=_time(note.created))
                            result.memos += 1
        rows = [(c.name, k, v) for c in proj.cases if c.name for k, v in c.values.items()]
        if rows:
            result.attributes = store.set_attributes(rows)
        result.coders = sorted(coders)

    before = store.decided_codes()
    store.write(write)
    if book is not None and result.codebook_changed:
        gone = sorted(before - set(book.by_path()))
        if gone:
            result.warnings.append(
                f"{len(gone)} code(s) with earlier decisions are not in the imported codebook (e.g. '{gone[0]}')"
            )
    if result.unreviewed:
        result.warnings.append(
            f"{result.unreviewed} coding(s) by {MACHINE_USER} (unreviewed suggestions) were not imported"
        )
    return result


MISFIT_CODINGS = 10
"""A source with at least this many codings, most of them on interviewer speech, is taken to have been
misread (timestamps or headings taken for speakers) and is read line by line instead. Fewer codings on
questions (a researcher coding the interview guide) leave a real interview's structure alone."""


@dataclass
class _Placed:
    """Where a source's selections go: per selection, the units (segment indices) it codes."""

    targets: list[list[int]]
    codings: int  # codings on the source's selections, coder-machine's unreviewed suggestions aside
    kept: int  # of those, on a selection that some unit holds
    on_context: int  # of those, placed on interviewer speech or context only
    lost: list[str]  # the selections with codings that no unit would hold, described for the researcher


def _place(
    source: Any,
    spans: list[tuple[int, int, int, bool]],
    to_text: Callable[[int], int],
    users: dict[str, str],
    text: str,
) -> _Placed:
    """Participant units a selection covers (see :func:`_covered`); where it covers none, the interviewer or
    context units it covers, so that a coding the researcher made on them is kept."""
    coded = [(a, b, i) for a, b, i, c in spans if c]
    every = [(a, b, i) for a, b, i, _ in spans]
    context = {i for _, _, i, c in spans if not c}
    out = _Placed([], 0, 0, 0, [])
    for sel in source.selections:
        start, end = to_text(sel.start), to_text(sel.end)
        targets = _covered(coded, start, end) or _covered(every, start, end)
        out.targets.append(targets)
        mine = [c for c in sel.codings if users.get(c.user_guid or "", "") != MACHINE_USER]
        out.codings += len(mine)
        out.kept += len(mine) if targets else 0
        if mine and not targets:
            excerpt = " ".join(text[start:end].split())
            excerpt = excerpt if len(excerpt) <= 50 else excerpt[:49] + "…"
            out.lost.append(f"characters {sel.start}–{sel.end} “{excerpt}” ({len(mine)} coding(s))")
        elif mine and all(i in context for i in targets):
            out.on_context += len(mine)
    return out


def _covered(spans: list[tuple[int, int, int]], start: int, end: int) -> list[int]:
    """Participant sentences a selection codes: those it covers at least half of, else the one it lies in."""
    out = []
    best, best_overlap = None, 0
    for s, e, sid in spans:
        overlap = min(e, end) - max(s, start)
        if overlap <= 0:
            continue
        if overlap * 2 >= e - s:
            out.append(sid)
        if overlap > best_overlap:
            best, best_overlap = sid, overlap
    if not out and best is not None:
        out.append(best)
    return out


def _time(value: str | None) -> str:
    if value:
        try:
            return utc_iso(value)
        except (ValueError, OverflowError):
            pass
    return now()


def _decode(data: bytes, where: str) -> str:
    """A source file's text: UTF-8, or UTF-16 with its BOM; a BOM is not counted in positions."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("not UTF-16 text despite its byte-order mark", path=where, hint="export again") from None
    return decode(data, where, newlines=False)  # CRLF is mapped by _plain_text, with the positions


def _docx_text(data: bytes, where: str, archive: refi.Archive) -> str:
    """A rich-text source's paragraphs; its own zip counts against the archive's size limit."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if len(z.infolist()) > refi.MAX_ENTRIES:
                raise InputError(
                    "the .docx source has too many parts", path=where, hint="refused as a possible zip bomb"
                )
            for info in z.infolist():
                with z.open(info) as fh:
                    while chunk := fh.read(1 << 20):
                        archive.charge(len(chunk), where)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
        raise InputError(f"not a readable .docx source ({e})", path=where, hint="export the project again") from None
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises assorted errors on damaged parts
        raise InputError(f"not a readable .docx source ({e})", path=where, hint="export the project again") from None
    return "\n".join(p.text for p in document.paragraphs)
