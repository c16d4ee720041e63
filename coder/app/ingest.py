"""Bringing material in: transcripts (read, segmented, stored in one transaction), participant
attributes, codebook versions, and the bundled demo inputs."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from coder import codebook as cb
from coder import codebook_evolution as evolution
from coder import segment as seg
from coder.app.common import ProgressFn, noop, repo_root
from coder.embed import text_hash
from coder.errors import CoderError, InputError, ManyProblems, ProjectError
from coder.store import CodeRename, DocumentInfo, Store
from coder.transcripts import CSV_DELIMITERS, ReadOptions, csv_dialect, csv_records, decode, read_bytes, read_file
from coder.types import Codebook, Transcript


class Pseudonymiser(Protocol):
    """Applies a pseudonymisation key to a file's bytes and name, and refuses what the key leaves out."""

    def __call__(self, path: Path, data: bytes) -> bytes: ...

    def name(self, name: str) -> str: ...

    def check(self, files: Sequence[tuple[Path, bytes]], options: ReadOptions) -> None: ...


@dataclass(frozen=True)
class ImportResult:
    imported: list[DocumentInfo]
    unchanged: list[str]
    attributes: int = 0
    """Attribute values written: new ones, and changed ones under ``update_attributes``."""
    attributes_unchanged: int = 0
    """Attribute values in the file that were already stored with the same value."""
    attribute_changes: list[AttributeChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What reading the files left out (:attr:`coder.types.Transcript.notes`), once per file."""


@dataclass(frozen=True)
class AttributeRow:
    """One participant's row of an attributes file: its non-empty values by attribute name."""

    row: int
    participant: str
    values: dict[str, str]


@dataclass(frozen=True)
class AttributeChange:
    """A stored attribute value replaced under ``update_attributes``."""

    participant: str
    attribute: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.participant} {self.attribute}: '{self.old}' → '{self.new}'"


@dataclass(frozen=True)
class RowProblem:
    """One refused row of an attributes file."""

    path: str
    row: int
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.path}: row {self.row}: {self.message}"


@dataclass(frozen=True)
class AttributesFile:
    """What :func:`read_attributes` found: the good rows, and every row it refuses."""

    path: Path
    column: str
    rows: list[AttributeRow]
    problems: list[RowProblem]


class AttributeRowsRefused(ManyProblems, InputError):
    """Rows of an attributes file were refused; every one is listed and nothing was stored."""

    problems: list[RowProblem]

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.row)
        first = self.problems[0]
        more = len(self.problems) - 1
        hints = ["nothing was stored", *dict.fromkeys(p.hint for p in self.problems)]  # in order, once each
        super().__init__(
            first.message + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""),
            path=first.path,
            row=first.row,
            hint="; ".join(hints),
        )

    def headline(self) -> str:
        rows = len({p.row for p in self.problems})
        return f"{rows} row{'s' * (rows > 1)} refused in {self.path}"

    def details(self) -> str:
        todo = dict.fromkeys(p.hint for p in self.problems)
        return "\n".join([super().details(), "Nothing was stored. What to do:", *(f"  {t}" for t in todo)])


def _dialect(text: str, path: Path) -> type[csv.Dialect]:
    """The separator and quoting (:func:`coder.transcripts.csv_dialect`); a file with one column is refused."""
    header = text.split("\n", 1)[0]
    if not any(len(next(csv.reader([header], delimiter=d), [])) > 1 for d in CSV_DELIMITERS):
        raise InputError(
            "only one column found (tried ',', ';' and tab as separators)",
            path=path,
            row=1,
            hint="the file needs a 'participant' column and at least one attribute column, "
            "separated by commas, semicolons or tabs",
        )
    return csv_dialect(text)


def _participant_column(header: list[str], wanted: str | None, path: Path) -> int:
    """The index of the participant column: 'participant', or the one --participant-column names."""
    name = (wanted or "participant").strip()
    found = [i for i, c in enumerate(header) if c.lower() == name.lower()]
    if len(found) == 1:
        return found[0]
    columns = ", ".join(f"'{c}'" for c in header)
    if found:
        raise InputError(
            f"{len(found)} columns are named '{name}'",
            path=path,
            row=1,
            hint="rename all but one of them",
        )
    if wanted:
        hint = "pass --participant-column with one of those names"
    else:
        hint = "name the participant column 'participant', or pass --participant-column with its name"
    raise InputError(
        f"no column '{name}' for the participant ids; the columns are: {columns}", path=path, row=1, hint=hint
    )


def read_attributes(path: str | Path, *, participant_column: str | None = None) -> AttributesFile:
    """Read a participants' attributes CSV (',' ';' or tab separated, with or without a BOM).

    The participant column is named 'participant' (any case) or ``participant_column``; every other
    column is an attribute, and empty cells give no value. The header's faults raise
    :class:`InputError`; bad rows are collected in ``problems`` (see :func:`check_attributes`).
    """
    p = Path(path)
    try:
        text = decode(p.read_bytes(), p)
    except FileNotFoundError:
        raise InputError("attributes file not found", path=p, hint="check the path") from None
    if not text.strip():
        raise InputError("the file is empty", path=p, hint="start with a header like 'participant,age_group,…'")
    if not text.split("\n", 1)[0].strip():
        raise InputError("the first line is empty", path=p, row=1, hint="start with the header row")
    records = csv_records(text, _dialect(text, p), str(p))
    names = [c.strip() for c in records[0]]
    key = _participant_column(names, participant_column, p)
    for i, c in enumerate(names):
        if c and names.index(c) != i:
            raise InputError(f"two columns are named '{c}'", path=p, row=1, hint="rename one of them")
    rows: list[AttributeRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}

    def refuse(row_no: int, message: str, hint: str) -> None:
        problems.append(RowProblem(str(p), row_no, message, hint))

    for row_no, record in enumerate(records[1:], start=2):
        cells = [c.strip() for c in record]
        if not any(cells):
            continue  # a blank line, or a row of empty cells (Excel leaves them)
        extra = [c for c in cells[len(names) :] if c]
        if extra:
            refuse(
                row_no,
                f"more values than header columns ({', '.join(repr(c) for c in extra)} past the last column)",
                "check the separators on those rows, or put values that contain one in double quotes",
            )
        values = {n: c for n, c in zip(names, cells, strict=False) if c}
        # a line break in a value is fine (a spreadsheet cell may hold one); one followed by what looks like more
        # cells is a quote closed too late, which swallowed the rows after it
        runon = [n for n, c in values.items() if any(sep in ln for ln in c.split("\n")[1:] for sep in CSV_DELIMITERS)]
        if runon:
            refuse(
                row_no,
                f"the value of '{runon[0]}' runs on over lines that look like more rows",
                "a double quote in this row is probably closed too late; close it where its value ends",
            )
            continue
        pid = values.pop(names[key], "")
        nameless = values.pop("", None)
        if nameless is not None:
            refuse(row_no, f"a value ({nameless!r}) in a column with no name", "give every column a name in the header")
        if not pid:
            refuse(row_no, f"no participant id in column '{names[key]}'", "give every row a participant id")
            continue
        if pid in seen:
            refuse(
                row_no, f"participant '{pid}' appears twice (first in row {seen[pid]})", "keep one row per participant"
            )
            continue
        seen[pid] = row_no
        rows.append(AttributeRow(row_no, pid, values))
    return AttributesFile(p, names[key], rows, problems)


def _some(names: Iterable[str], most: int = 8) -> str:
    ordered = sorted(names)
    if len(ordered) <= most:
        return ", ".join(ordered)
    return f"{', '.join(ordered[: most - 1])}, … {ordered[-1]} ({len(ordered)} in all)"


def check_attributes(
    found: AttributesFile,
    participants: Iterable[str],
    stored: dict[str, dict[str, str]],
    *,
    update: bool = False,
) -> tuple[list[tuple[str, str, str]], list[AttributeChange], int]:
    """The (participant, attribute, value) rows to write, the changes among them and how many values
    are already stored as they are; or :class:`AttributeRowsRefused` listing EVERY bad row.

    Refused: the rows :func:`read_attributes` refused, participants not in ``participants``, and values
    that differ from ``stored`` ones (unless ``update``).
    """
    known = set(participants)
    problems = list(found.problems)
    if known:
        unknown_hint = f"participants in this project: {_some(known)}; correct the ids, or import their transcripts"
    else:
        unknown_hint = "this project has no transcripts yet: import them first, or in the same command"
    writes: list[tuple[str, str, str]] = []
    changes: list[AttributeChange] = []
    same = 0
    for r in found.rows:
        if r.participant not in known:
            problems.append(
                RowProblem(
                    str(found.path), r.row, f"participant '{r.participant}' is not in this project", unknown_hint
                )
            )
            continue
        had = stored.get(r.participant, {})
        for name, value in r.values.items():
            old = had.get(name)
            if old == value:
                same += 1
                continue
            if old is not None and not update:
                problems.append(
                    RowProblem(
                        str(found.path),
                        r.row,
                        f"'{name}' for {r.participant} is '{value}' here but '{old}' is stored",
                        "to replace stored values, import again with --update-attributes",
                    )
                )
                continue
            if old is not None:
                changes.append(AttributeChange(r.participant, name, old, value))
            writes.append((r.participant, name, value))
    if problems:
        raise AttributeRowsRefused(problems)
    return writes, changes, same


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    options: ReadOptions | None = None,
    unit: str = "sentence",
    splitter: seg.SentenceSplitter | Callable[[], seg.SentenceSplitter] | None = None,
    attributes: str | Path | None = None,
    participant_column: str | None = None,
    update_attributes: bool = False,
    progress: ProgressFn = noop,
    pseudonymiser: Pseudonymiser | None = None,
) -> ImportResult:
    """Read, segment and store transcripts in ONE transaction: any error leaves the project unchanged.

    With a ``pseudonymiser`` (``coder import --pseudonymise KEY.csv``) each file is pseudonymised in memory
    before it is read, and its name too: the project never holds the original words.

    A file already imported with the same content is skipped; one imported under the same name
    with different content is an error (nothing is silently duplicated or replaced). Attributes
    may name only participants of the project or of these files, and may change a stored value
    only with ``update_attributes`` (see :func:`check_attributes`).
    """
    options = options or ReadOptions()
    transcripts: list[Transcript] = []
    copies: list[tuple[Path, bytes]] = []
    given: dict[int, str] = {}  # a pseudonymised transcript's index -> the path she gave, for error messages
    for path in paths:
        path = Path(path)
        if pseudonymiser is not None:
            copy = Path(pseudonymiser.name(path.name))  # not its folders: they may be named after someone
            try:
                data = pseudonymiser(path, read_bytes(path))
                copies.append((copy, data))
                read = read_file(copy, options, data=data)
                given.update((len(transcripts) + i, str(path)) for i in range(len(read)))
                transcripts.extend(read)
            except CoderError as e:  # name the file she gave (lines are the same in the copy), not the copy
                if e.path in (str(copy), path.name):
                    e.path = str(path)
                raise
        else:
            transcripts.extend(read_file(path, options))
        progress(1)
    if pseudonymiser is not None:
        pseudonymiser.check(copies, options)
    found = read_attributes(attributes, participant_column=participant_column) if attributes else None

    fresh: list[Transcript] = []
    unchanged: list[str] = []
    seen_names: set[str] = set()
    for i, t in enumerate(transcripts):
        if t.name in seen_names:
            raise InputError(
                f"two files are both named '{t.name}'",
                path=given.get(i, t.source),
                hint="rename one of them; documents are identified by file name",
            )
        seen_names.add(t.name)
        old = store.document_by_name(t.name)
        if old is not None:
            if old.content_hash == t.content_hash:
                unchanged.append(t.name)
                continue
            raise InputError(
                f"a different version of '{t.name}' was imported on {old.imported_at[:10]}",
                path=given.get(i, t.source),
                hint=f"nothing was imported; to replace it, 'coder remove {t.name}' first, or rename the new file to "
                "import it as a separate document",
            )
        same = store.document_by_hash(t.content_hash)
        if same is not None:
            unchanged.append(f"{t.name} (same content as {same.name})")
            continue
        fresh.append(t)

    attr_rows: list[tuple[str, str, str]] = []
    changes: list[AttributeChange] = []
    already = 0
    if found is not None:  # checked before segmenting: a refused row costs no waiting
        participants = {d.participant for d in store.documents()} | {t.participant for t in fresh}
        attr_rows, changes, already = check_attributes(
            found, participants, store.attributes(), update=update_attributes
        )

    split: seg.SentenceSplitter | None = None
    splitter_name = "turn"
    if fresh and unit == "sentence":
        split = splitter() if callable(splitter) and not hasattr(splitter, "split") else splitter
        if split is None:
            split = seg.load_splitter()
        splitter_name = getattr(split, "name", type(split).__name__)
    segmented = [(t, seg.segment(t, split, unit=unit)) for t in fresh]

    with store.transaction():
        ids = [
            store.add_document(
                t,
                segments,
                unit=unit,
                splitter=splitter_name,
                text_hashes=[text_hash(s.text) for s in segments],
            )
            for t, segments in segmented
        ]
        if attr_rows:
            store.set_attributes(attr_rows)
    stored = {d.id: d for d in store.documents()} if ids else {}
    notes = list(dict.fromkeys(n for t in transcripts for n in t.notes))
    return ImportResult([stored[i] for i in ids], unchanged, len(attr_rows), already, changes, notes)


@dataclass(frozen=True)
class CodebookLoadResult:
    codebook: Codebook
    changed: bool
    orphaned: dict[str, int] = field(default_factory=dict)
    """Codes with standing decisions that the new version has no code for (path -> number of decisions);
    only under ``orphan_ok``, since a load that would orphan decisions is refused otherwise."""
    renamed: list[CodeRename] = field(default_factory=list)
    """Old paths whose decisions (standing and undone) moved to a new path, as recorded in the audit trail."""
    merged: int = 0
    """Standing decisions a merge made duplicate, marked undone (an accept kept over a reject, else the newest)."""


LIST_CODINGS = "coder export codings --code '{path}'"
"""How a researcher lists one code's codings (to recode them when a code is split)."""


class CodingsWouldBeOrphaned(ManyProblems, InputError):
    """A codebook would leave standing decisions on codes it no longer has; each path is listed."""

    def __init__(self, path: str | Path, orphaned: dict[str, int]) -> None:
        self.orphaned = orphaned
        self.problems = [
            f"  '{p}': {n} decision{'s' * (n != 1)} (list them: {LIST_CODINGS.format(path=p)})"
            for p, n in sorted(orphaned.items())
        ]
        n = sum(orphaned.values())
        super().__init__(
            f"loading this codebook would orphan {n} decision{'s' * (n != 1)} on {len(orphaned)} code(s) it no "
            f"longer has ({', '.join(sorted(orphaned))})",
            path=path,
            hint=f"nothing was changed; {ORPHAN_HINT}",
        )

    def headline(self) -> str:
        return f"{self.path}: {self.message}"

    def details(self) -> str:
        return "\n".join([*map(str, self.problems), f"Nothing was changed. To load it: {ORPHAN_HINT}."])


ORPHAN_HINT = (
    "add 'formerly: <old name>' to the code that replaces each one (two old names under one code merge "
    "them); to split a code, list its decisions, recode them under the new codes, then load with --orphan-ok"
)


def load_codebook(store: Store, path: str | Path, *, orphan_ok: bool = False) -> CodebookLoadResult:
    """Validate a codebook file and make it the project's current codebook, in ONE transaction.

    Decisions refer to codes by path: those on a code whose path is unchanged keep applying; those on
    an old path a code claims with ``formerly`` (or under one: ``Old > Child``) move to the new path,
    history included, and each move is recorded (:meth:`Store.code_renames`). A load that would leave
    standing decisions on no code is refused (:class:`CodingsWouldBeOrphaned`) unless ``orphan_ok``.
    """
    book = cb.read_codebook(path)
    text = Path(path).read_text(encoding="utf-8-sig")
    paths = {c.path for c in book.codes}
    with store.transaction():
        moves = evolution.moves(book, store.decision_code_counts())
        standing = store.standing_code_counts()
        orphaned = {p: n for p, n in standing.items() if moves.get(p, p) not in paths}
        if orphaned and not orphan_ok:
            raise CodingsWouldBeOrphaned(path, orphaned)
        changed = store.save_codebook(
            name=book.name, version=book.version, hash=book.hash, source=str(path), yaml_text=text
        )
        renamed = store.move_decisions(moves, codebook_hash=book.hash) if moves else []
    return CodebookLoadResult(book, changed, orphaned, renamed, sum(r.duplicates_undone for r in renamed))


@dataclass(frozen=True)
class CodebookDiffResult:
    """:func:`coder.codebook_evolution.diff` of two codebook files, with the project's standing decisions
    per old path (empty when there is no project, or it has none)."""

    old: Codebook
    new: Codebook
    diff: evolution.CodebookDiff
    decisions: dict[str, int] = field(default_factory=dict)

    def count(self, *paths: str) -> int:
        return sum(self.decisions.get(p, 0) for p in paths)


def diff_codebooks(store: Store | None, old: str | Path, new: str | Path) -> CodebookDiffResult:
    """What loading ``new`` over ``old`` would add, rename, merge and drop; paths the project has standing
    decisions on are compared too, so a dropped path with decisions is never missed."""
    before, after = cb.read_codebook(old), cb.read_codebook(new)
    decisions = dict(store.standing_code_counts()) if store is not None else {}
    return CodebookDiffResult(before, after, evolution.diff(before, after, also=decisions), decisions)


def demo_inputs() -> tuple[list[Path], Path, Path]:
    """The bundled demo transcripts, participants file and codebook."""
    root = repo_root()
    corpus = root / "corpora" / "demo"
    codebook = root / "codebooks" / "resilience.yaml"
    if not corpus.is_dir() or not codebook.is_file():
        raise ProjectError(
            "the bundled demo corpus or codebook is missing",
            path=corpus,
            hint="run the demo from a clone of the coder repository",
        )
    files = sorted(
        p
        for p in corpus.iterdir()
        if p.suffix.lower() in (".txt", ".md", ".docx", ".vtt", ".srt")
        and not p.name.startswith(".")
        and p.stem.lower() != "readme"
    )
    return files, corpus / "participants.csv", codebook
