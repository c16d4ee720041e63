"""Decisions as data: export and import one row per decision.

Segments are identified by document name and character offsets, so a file moves between
copies of a project that imported the same transcripts (a second coder's laptop, a script).
Import checks every row first and writes nothing unless all rows are good.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from coder.app.common import current_codebook, utc_iso
from coder.errors import InputError, ManyProblems, Problem
from coder.store import Store
from coder.transcripts import csv_records, decode
from coder.types import VIA

COLUMNS = (
    "coder",
    "document",
    "start",
    "end",
    "code",
    "answer",
    "reason",
    "note",
    "decided_at",
    "decided_by",
    "carried",
    "via",
)
"""``carried``: ``yes`` for an answer to a code carried over from the sentence before (:mod:`coder.app.carrying`),
empty otherwise; files written before the column existed import as not carried. ``via``: how the answer was
reached (:data:`coder.types.VIA`), empty when not recorded; files without the column import as not
recorded."""
FLAGS = {"": False, "no": False, "false": False, "0": False, "yes": True, "true": True, "1": True}
REQUIRED = ("coder", "document", "start", "end", "code")
ANSWERS = {"accept": "accept", "accepted": "accept", "reject": "reject", "rejected": "reject"}


def export(store: Store, out: TextIO, fmt: str = "csv", *, coder: str | None = None) -> int:
    rows = store.decisions(coder=coder)
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(COLUMNS)
    for r in rows:
        values = [
            r.coder,
            r.document,
            r.start,
            r.end,
            r.code_path,
            r.answer,
            r.reason or "",
            r.memo or "",
            r.decided_at,
            r.decided_by or "",
            "yes" if r.carried else "",
            r.via or "",
        ]
        if fmt == "csv":
            w.writerow(values)
        else:
            out.write(json.dumps(dict(zip(COLUMNS, values, strict=True)), ensure_ascii=False) + "\n")
    return len(rows)


class BadRows(ManyProblems):
    """Some rows of a decisions file are invalid; all are listed."""

    problems: list[Problem]

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = len(problems) - 1
        first = problems[0]
        super().__init__(
            first.message + (f" (and {more} more bad row{'s' * (more > 1)})" if more else ""),
            path=first.path,
            hint="nothing was imported; fix the rows and import again",
        )
        self.row = first.line

    def location(self) -> str:
        return f"{self.path}: row {self.row}"

    def headline(self) -> str:
        return f"{len(self.problems)} bad row(s); nothing was imported"

    def details(self) -> str:
        return "\n".join(f"{p.path}: row {p.line}: {p.message}" for p in self.problems)


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = decode(path.read_bytes(), path)
    except FileNotFoundError:
        raise InputError("decisions file not found", path=path, hint="check the path") from None
    except OSError as e:
        raise InputError(f"cannot read decisions file ({e.strerror})", path=path, hint="check the path") from None
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(
                    f"not a JSON object ({e.msg})", path=path, line=i, hint="one JSON object per line"
                ) from None
            if not isinstance(obj, dict):
                raise InputError("not a JSON object", path=path, line=i, hint="one JSON object per line")
            rows.append((i, {k: "" if v is None else str(v) for k, v in obj.items()}))
        _check_columns(sorted({k for _, r in rows for k in r}), rows, path)
        return rows
    records = csv_records(text, csv.excel, str(path))
    header = records[0] if records else []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"missing column(s): {', '.join(missing)}",
            path=path,
            row=1,
            hint=f"the header needs {', '.join(COLUMNS)} (answer defaults to accept)",
        )
    rows = [
        (i, {k: record[j] if j < len(record) else "" for j, k in enumerate(header)})
        for i, record in enumerate(records[1:], start=2)
        if record  # a blank line
    ]
    _check_columns(header, rows, path)
    return rows


def _check_columns(header: list[str], rows: list[tuple[int, dict[str, str]]], path: Path) -> None:
    """Refuse a column whose name looks like one coder reads but is not (its values would be ignored): above
    all, answers under another name, which would otherwise import every rejection as an accept. Other columns
    (a sentence's text, say) are ignored."""
    import difflib

    known = (*COLUMNS, "undone_at")
    for name in header:
        if name in known or not name.strip():
            continue
        near = difflib.get_close_matches(name.strip().lower(), known, n=1, cutoff=0.8)
        values = {r.get(name, "").strip().lower() for _, r in rows} - {""}
        if near or ("answer" not in header and values and values <= set(ANSWERS)):
            want = near[0] if near else "answer"
            raise InputError(
                f"column '{name}' is not one coder reads"
                + (" (it holds accept/reject answers)" if want == "answer" and not near else ""),
                path=path,
                row=1,
                hint=f"rename it '{want}'"
                + (": without an 'answer' column every row imports as accept" if want == "answer" else ""),
            )


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int
    superseded: int
    coders: list[str]
    undone: int = 0  # decisions undone here because the other copy undid them (merge)


def import_file(store: Store, path: str | Path) -> ImportResult:
    """Import a decisions CSV or JSONL file; all rows are validated before anything is written."""
    p = Path(path)
    return import_rows(store, _read_rows(p), source=str(p))


def import_rows(store: Store, rows: list[tuple[int, dict[str, str]]], *, source: str) -> ImportResult:
    """Check every (row number, row) first; write all of them in one transaction, or nothing."""

    book = current_codebook(store)
    codes = book.by_path()
    index = store.segment_index()
    docs = {d.name for d in store.documents()}
    problems: list[Problem] = []
    parsed: list[tuple[int, str, int, str, str, str | None, str | None, str, str | None, bool, bool, str | None]] = []
    for n, r in rows:
        # a decision the other copy undid (merge only): it can withdraw the same decision here, nothing more
        withdrawn = bool((r.get("undone_at") or "").strip())

        def bad(msg: str, n: int = n, withdrawn: bool = withdrawn) -> None:
            if not withdrawn:  # an undone decision that no longer fits (e.g. a dropped code) is not an error
                problems.append(Problem(source, n, msg))

        coder = r.get("coder", "").strip()
        doc = r.get("document", "").strip()
        code = r.get("code", "").strip()
        answer = ANSWERS.get((r.get("answer") or "accept").strip().lower())
        if not coder:
            bad("empty coder")
            continue
        if doc not in docs:
            bad(f"unknown document '{doc}'")
            continue
        try:
            start, end = int(r.get("start", "")), int(r.get("end", ""))
        except ValueError:
            bad(f"start/end must be whole numbers (got '{r.get('start')}', '{r.get('end')}')")
            continue
        seg = index.get((doc, start, end))
        if seg is None:
            bad(f"no segment {start}-{end} in '{doc}' (was it imported with the same unit and pipeline?)")
            continue
        if code not in codes:
            bad(f"unknown code '{code}'")
            continue
        if answer is None:
            bad(f"answer must be accept or reject (got '{r.get('answer')}')")
            continue
        carried = FLAGS.get((r.get("carried") or "").strip().lower())
        if carried is None:
            bad(f"carried must be yes or empty (got '{r.get('carried')}')")
            continue
        via = (r.get("via") or "").strip().lower() or None
        if via is not None and via not in VIA:
            bad(f"via must be one of {', '.join(VIA)}, or empty (got '{r.get('via')}')")
            continue
        raw_when = (r.get("decided_at") or "").strip()
        when = ""
        if raw_when:
            try:
                when = utc_iso(raw_when)
            except ValueError:
                bad(f"decided_at is not an ISO date-time (got '{raw_when}')")
                continue
        parsed.append(
            (
                n,
                coder,
                seg,
                code,
                answer,
                r.get("reason") or None,
                r.get("note") or None,
                when,
                r.get("decided_by") or None,
                withdrawn,
                carried,
                via,
            )
        )
    if problems:
        raise BadRows(problems)

    added = unchanged = superseded = withdrawn_here = 0

    def write() -> None:
        nonlocal added, unchanged, superseded, withdrawn_here
        for _, coder, seg, code, answer, reason, note, when, by, withdrawn, carried, via in parsed:
            if withdrawn:  # undone in the other copy (merge): undo this very decision here too, if it stands
                gone = when and store.withdraw_decision(
                    segment_id=seg, code_path=code, coder=coder, answer=answer, decided_at=when
                )
                if gone:
                    withdrawn_here += 1
                else:
                    unchanged += 1
                continue
            # the newer word wins; a row without a time is older than anything the project holds
            r = store.record_decision(
                segment_id=seg,
                code_path=code,
                coder=coder,
                answer=answer,
                reason=reason,
                memo=note,
                codebook_hash=book.hash,
                decided_at=when or None,
                decided_by=by,
                if_standing="newer",
                imported=True,
                carried=carried,
                via=via,
            )
            if r.outcome in ("unchanged", "kept"):
                unchanged += 1
            else:
                added += 1
                superseded += r.outcome == "replaced"

    store.write(write)
    return ImportResult(added, unchanged, superseded, sorted({r[1] for r in parsed if not r[9]}), withdrawn_here)


# -- merging another copy of the project ---------------------------------------------------------------------


class MergeRefused(ManyProblems):
    """The other project's transcripts or segments differ from this one's; every difference is listed."""

    problems: list[str]

    def __init__(self, other: str, problems: list[str]) -> None:
        self.problems = problems
        more = len(problems) - 1
        super().__init__(
            problems[0] + (f" (and {more} more)" if more else ""),
            path=other,
            hint="nothing was merged; both copies must import the same transcript files the same way",
        )

    def headline(self) -> str:
        return f"merge refused, {len(self.problems)} problem(s); nothing was merged"

    def details(self) -> str:
        return "\n".join(f"{self.path}: {p}" for p in self.problems)


@dataclass(frozen=True)
class MergeResult:
    documents: int  # documents with decisions in the other project, all matched here
    renamed: dict[str, str]  # other name -> this project's name, where they differ
    imported: ImportResult


def _sentences(store: Store, doc_id: int) -> list[tuple[int, int, bool]]:
    return [(s.start, s.end, s.coded) for s in store.segments(doc_id)]


def merge(store: Store, other: str | Path) -> MergeResult:
    """Bring another copy's decisions into this project, matching documents by content hash.

    The other file is read from a snapshot and never changed. Refused, with every difference listed,
    when a coded document has no identical transcript here, or was split into units differently.
    A decision the other copy undid is undone here too; one undone here stays undone. Idempotent,
    all or nothing, like an import.
    """
    path = Path(other)
    if path.resolve() == store.path.resolve():
        raise InputError("cannot merge a project into itself", path=path, hint="name the other coder's copy")
    if not path.exists():
        raise InputError("no project file here", path=path, hint="check the path to the other coder's copy")
    ours = {d.content_hash: d for d in store.documents()}
    ours_names = {d.name for d in ours.values()}
    problems: list[str] = []
    mapping: dict[str, str] = {}
    with Store.snapshot(path) as theirs:
        rows = theirs.decisions(include_undone=True)
        their_docs = {d.name: d for d in theirs.documents()}
        for name in sorted({r.document for r in rows}):
            doc = their_docs[name]
            here = ours.get(doc.content_hash)
            if here is None:
                problems.append(
                    f"document '{name}' differs from this project's '{name}' (the transcript text is not the same)"
                    if name in ours_names
                    else f"document '{name}' is not in this project (import the same file here first)"
                )
            elif _sentences(theirs, doc.id) != _sentences(store, here.id):
                problems.append(
                    f"document '{name}' was split into units differently than '{here.name}' here (import it "
                    "with the same --unit, speaker options and pipeline in both copies)"
                )
            else:
                mapping[name] = here.name
    if problems:
        raise MergeRefused(str(path), problems)
    table = [
        (
            int(r.id),
            {
                "coder": r.coder,
                "document": mapping[r.document],
                "start": str(r.start),
                "end": str(r.end),
                "code": r.code_path,
                "answer": r.answer,
                "reason": r.reason or "",
                "note": r.memo or "",
                "decided_at": r.decided_at,
                "decided_by": r.decided_by or "",
                "carried": "yes" if r.carried else "",
                "via": r.via or "",
                "undone_at": r.undone_at or "",
            },
        )
        for r in rows
    ]
    try:
        result = import_rows(store, table, source=str(path))
    except BadRows as e:
        raise MergeRefused(str(path), [f"decision {p.line}: {p.message}" for p in e.problems]) from None
    return MergeResult(len(mapping), {k: v for k, v in mapping.items() if k != v}, result)
