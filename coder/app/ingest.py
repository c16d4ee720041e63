"""Bringing material in: transcripts (read, segmented, stored in one transaction), participant
attributes, codebook versions, and the bundled demo inputs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coder import codebook as cb
from coder import segment as seg
from coder.app.common import ProgressFn, noop, repo_root
from coder.embed import text_hash
from coder.errors import InputError, ProjectError
from coder.store import DocumentInfo, Store
from coder.transcripts import ReadOptions, decode, read_file
from coder.types import Codebook, Transcript


@dataclass(frozen=True)
class ImportResult:
    imported: list[DocumentInfo]
    unchanged: list[str]
    attributes: int = 0


def read_attributes(path: str | Path) -> list[tuple[str, str, str]]:
    """(participant, attribute, value) rows from a CSV whose first column (or 'participant') names the participant."""
    p = Path(path)
    try:
        text = decode(p.read_bytes(), p)
    except FileNotFoundError:
        raise InputError("attributes file not found", path=p, hint="check the path") from None
    reader = csv.DictReader(io.StringIO(text))
    cols = reader.fieldnames or []
    if not cols:
        raise InputError(
            "no header row",
            path=p,
            row=1,
            hint="start with a header like 'participant,age_group,…'",
        )
    key = next((c for c in cols if c.strip().lower() in ("participant", "participant_id", "id")), cols[0])
    rows: list[tuple[str, str, str]] = []
    seen: dict[str, int] = {}
    for row_no, row in enumerate(reader, start=2):
        pid = (row.get(key) or "").strip()
        if not pid:
            raise InputError(f"empty '{key}'", path=p, row=row_no, hint="give every row a participant id")
        if pid in seen:
            raise InputError(
                f"participant '{pid}' appears twice (first in row {seen[pid]})",
                path=p,
                row=row_no,
                hint="keep one row per participant",
            )
        seen[pid] = row_no
        if None in row:
            raise InputError(
                "more values than header columns",
                path=p,
                row=row_no,
                hint="check the commas on that row",
            )
        for c in cols:
            if c != key and (row.get(c) or "").strip():
                rows.append((pid, c.strip(), (row[c] or "").strip()))
    return rows


def import_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    options: ReadOptions | None = None,
    unit: str = "sentence",
    splitter: seg.SentenceSplitter | Callable[[], seg.SentenceSplitter] | None = None,
    attributes: str | Path | None = None,
    progress: ProgressFn = noop,
) -> ImportResult:
    """Read, segment and store transcripts in ONE transaction: any error leaves the project unchanged.

    A file already imported with the same content is skipped; one imported under the same name
    with different content is an error (nothing is silently duplicated or replaced).
    """
    options = options or ReadOptions()
    transcripts: list[Transcript] = []
    for path in paths:
        transcripts.extend(read_file(Path(path), options))
        progress(1)
    attr_rows = read_attributes(attributes) if attributes else []

    fresh: list[Transcript] = []
    unchanged: list[str] = []
    seen_names: set[str] = set()
    for t in transcripts:
        if t.name in seen_names:
            raise InputError(
                f"two files are both named '{t.name}'",
                path=t.source,
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
                path=t.source,
                hint="nothing was imported; rename the new file to import it as a separate document",
            )
        same = store.document_by_hash(t.content_hash)
        if same is not None:
            unchanged.append(f"{t.name} (same content as {same.name})")
            continue
        fresh.append(t)

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
    return ImportResult([stored[i] for i in ids], unchanged, len(attr_rows))


@dataclass(frozen=True)
class CodebookLoadResult:
    codebook: Codebook
    changed: bool
    orphaned: dict[str, int] = field(default_factory=dict)
    """Codes with decisions that the new version no longer has (path -> number of decisions)."""


def load_codebook(store: Store, path: str | Path) -> CodebookLoadResult:
    """Validate a codebook file and make it the project's current codebook.

    Decisions refer to codes by path, so decisions made under an older version keep applying
    to every code whose path is unchanged; those whose code is gone are reported.
    """
    book = cb.read_codebook(path)
    text = Path(path).read_text(encoding="utf-8-sig")
    changed = store.save_codebook(
        name=book.name, version=book.version, hash=book.hash, source=str(path), yaml_text=text
    )
    paths = {c.path for c in book.codes}
    used = store.decision_code_counts()
    orphaned = {p: n for p, n in used.items() if p not in paths}
    return CodebookLoadResult(book, changed, orphaned)


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
