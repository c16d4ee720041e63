"""One function per user action. Each opens nothing itself: it takes a :class:`Store` (and an
embedder or splitter where needed) and returns a small dataclass the CLI renders."""

from __future__ import annotations

import csv
import functools
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from coder import codebook as cb
from coder import segment as seg
from coder import suggest as sg
from coder import tally as tl
from coder.embed import Embedder, normalise, text_hash
from coder.errors import InputError, ProjectError
from coder.store import SegmentRow, Store
from coder.transcripts import ReadOptions, decode, read_file
from coder.types import Codebook, Transcript

Progress = Callable[[int], None]
"""Called with the number of items just finished."""


def _noop(_: int) -> None:
    return None


# -- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedDocument:
    name: str
    participant: str
    format: str
    turns: int
    segments: int
    coded_segments: int


@dataclass(frozen=True)
class ImportResult:
    imported: list[ImportedDocument]
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
    progress: Progress = _noop,
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
            if old["content_hash"] == t.content_hash:
                unchanged.append(t.name)
                continue
            raise InputError(
                f"a different version of '{t.name}' was imported on {old['imported_at'][:10]}",
                path=t.source,
                hint="nothing was imported; rename the new file to import it as a separate document",
            )
        same = store.document_by_hash(t.content_hash)
        if same is not None:
            unchanged.append(f"{t.name} (same content as {same['name']})")
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

    imported = []
    with store.transaction():
        for t, segments in segmented:
            store.add_document(
                t,
                segments,
                unit=unit,
                splitter=splitter_name,
                text_hashes=[text_hash(s.text) for s in segments],
            )
            imported.append(
                ImportedDocument(
                    t.name,
                    t.participant,
                    t.format,
                    len(t.turns),
                    len(segments),
                    sum(s.coded for s in segments),
                )
            )
        if attr_rows:
            store.set_attributes(attr_rows)
    return ImportResult(imported, unchanged, len(attr_rows))


# -- codebook ---------------------------------------------------------------------------------


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
    used = Counter(r[0] for r in store.db.execute("SELECT code_path FROM decisions"))
    orphaned = {p: n for p, n in used.items() if p not in paths}
    return CodebookLoadResult(book, changed, orphaned)


def current_codebook(store: Store) -> Codebook:
    row = store.current_codebook_row()
    if row is None:
        raise ProjectError(
            "no codebook loaded",
            path=store.path,
            hint="run 'coder codebook load codebooks/resilience.yaml' (or your own)",
        )
    return _parsed(row["yaml"], row["source"])


@functools.lru_cache(maxsize=8)
def _parsed(yaml_text: str, source: str) -> Codebook:
    """Parsing is pure and the result frozen: a command that asks for the codebook again reuses it."""
    return cb.parse_codebook(yaml_text, source=source)


# -- suggest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestResult:
    run_id: int
    suggester: str
    model: str
    codebook_hash: str
    method: str
    threshold: float
    top_k: int
    segments: int
    embedded: int
    suggestions: int
    per_code: dict[str, int]
    seconds: float
    embed_seconds: float
    codebook_seconds: float
    """Time spent embedding the codebook's exemplar texts (zero when cached)."""


def _cached_embed(store: Store, embedder: Embedder) -> Callable[[Sequence[str]], np.ndarray]:
    """Embed texts through the project's cache (used for the codes' exemplar texts)."""

    def embed(texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        have = store.get_embeddings(embedder.model_id, hashes)
        todo = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in have}.items())
        if todo:
            vecs = normalise(embedder.embed([t for _, t in todo]))
            store.put_embeddings(embedder.model_id, [h for h, _ in todo], vecs)
            have.update({h: vecs[i] for i, (h, _) in enumerate(todo)})
        return np.stack([have[h] for h in hashes])

    return embed


def embed_segments(store: Store, embedder: Embedder, *, progress: Progress = _noop, batch: int = 1024) -> int:
    """Embed every coded segment whose text is not cached for this model; returns how many."""
    done = 0
    for rows in store.missing_embeddings(embedder.model_id, batch=batch):
        vecs = normalise(embedder.embed([t for _, t in rows]))
        store.put_embeddings(embedder.model_id, [h for h, _ in rows], vecs)
        done += len(rows)
        progress(len(rows))
    return done


def count_to_embed(store: Store, model_id: str) -> int:
    return store.count_missing_embeddings(model_id)


def suggest(
    store: Store,
    embedder: Embedder,
    *,
    threshold: float = sg.DEFAULT_THRESHOLD,
    top_k: int = sg.DEFAULT_TOP_K,
    method: str = sg.DEFAULT_METHOD,
    progress: Progress = _noop,
) -> SuggestResult:
    """Embed what is new, score every participant segment against every code, store the run.

    The run (suggestions and score matrix) is written in one transaction and replaces the
    previous run of the same suggester only when complete.
    """
    t0 = time.perf_counter()
    book = current_codebook(store)
    if store.counts()["coded_segments"] == 0:
        raise ProjectError(
            "no participant segments to code",
            path=store.path,
            hint="import transcripts first: coder import FILES…",
        )
    embedded = embed_segments(store, embedder, progress=progress)
    t_embed = time.perf_counter() - t0
    cached = _cached_embed(store, embedder)
    profile = sg.build_profile(book, cached)
    counter = [t for c in book.codes for t in c.counterexamples]
    if counter:  # seed negatives for learned.v1, which must never need the model
        cached(counter)
    t_codebook = time.perf_counter() - t0 - t_embed
    per_code: Counter[str] = Counter()
    n_segments = 0
    with store.transaction():
        run_id = store.start_run(
            suggester=sg.SUGGESTER,
            model=embedder.model_id,
            codebook_hash=book.hash,
            method=method,
            threshold=threshold,
            top_k=top_k,
            code_paths=profile.paths,
        )
        for ids, vecs in store.iter_segment_embeddings(embedder.model_id):
            scored = sg.score(vecs, profile, method)
            picks = sg.select(scored.scores, profile, threshold=threshold, top_k=top_k)
            rows = []
            for i, picked in enumerate(picks):
                for c, rank in picked:
                    path = profile.paths[c]
                    rows.append(
                        (
                            int(ids[i]),
                            path,
                            float(scored.scores[i, c]),
                            rank,
                            profile.texts[int(scored.nearest[i, c])],
                        )
                    )
                    per_code[path] += 1
            store.add_scores(run_id, ids, scored.scores)
            store.add_suggestions(run_id, rows)
            n_segments += len(ids)
        store.finish_run(run_id, segments=n_segments, embedded=embedded)
        store.deactivate_runs("learned.v1")  # learned from the previous scores; 'coder suggest --learn' refits
    return SuggestResult(
        run_id,
        sg.SUGGESTER,
        embedder.model_id,
        book.hash,
        method,
        threshold,
        top_k,
        n_segments,
        embedded,
        sum(per_code.values()),
        dict(per_code),
        time.perf_counter() - t0,
        t_embed,
        t_codebook,
    )


# -- show -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownSegment:
    index: int
    text: str
    coded: bool
    suggestions: list[tuple[str, float, str]]  # (code path, score, status)


@dataclass(frozen=True)
class ShownTurn:
    index: int
    speaker: str
    role: str
    time_start: float | None
    segments: list[ShownSegment]


@dataclass(frozen=True)
class ShownDocument:
    name: str
    participant: str
    format: str
    turns: list[ShownTurn]
    suggester: str | None
    model: str | None


def find_document(store: Store, ref: str) -> int:
    """A document by name, file stem or participant id."""
    docs = store.documents()
    for match in (
        lambda d: d.name == ref,
        lambda d: Path(d.name).stem == ref,
        lambda d: d.participant == ref,
        lambda d: d.name.lower().startswith(ref.lower()),
    ):
        found = [d for d in docs if match(d)]
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            raise InputError(
                f"'{ref}' matches {len(found)} documents: {', '.join(d.name for d in found[:5])}",
                hint="give the full document name",
            )
    raise InputError(f"no document '{ref}'", hint="'coder show' with no argument lists the documents")


def show(store: Store, document: str) -> ShownDocument:
    doc_id = find_document(store, document)
    doc = next(d for d in store.documents() if d.id == doc_id)
    by_segment: dict[int, list[tuple[str, float, str]]] = {}
    runs = store.active_runs()
    for r in store.suggestions(doc_id):
        by_segment.setdefault(r["segment_id"], []).append((r["code_path"], r["score"], f"suggested, {r['suggester']}"))
    for d in store.decisions():
        if d["document"] == doc.name:
            verb = "accepted" if d["answer"] == "accept" else "rejected"
            by_segment.setdefault(d["segment_id"], []).append((d["code_path"], float("nan"), f"{verb} by {d['coder']}"))
    turns = []
    segs = store.segments(doc_id)
    by_turn: dict[int, list[ShownSegment]] = {}
    for s in segs:
        by_turn.setdefault(s.turn, []).append(ShownSegment(s.idx, s.text, s.coded, by_segment.get(s.id, [])))
    for t in store.turns(doc_id):
        turns.append(ShownTurn(t["idx"], t["speaker"], t["role"], t["time_start"], by_turn.get(t["idx"], [])))
    return ShownDocument(
        doc.name,
        doc.participant,
        doc.format,
        turns,
        runs[-1]["suggester"] if runs else None,
        runs[-1]["model"] if runs else None,
    )


# -- export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "document",
    "participant",
    "speaker",
    "start",
    "end",
    "text",
    "code",
    "status",
    "score",
    "coder",
    "suggester",
    "model",
)


def export_codings(store: Store, out: TextIO, fmt: str = "csv") -> int:
    """Write one row per active suggestion or decision; returns the number of rows."""
    n = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(EXPORT_COLUMNS)
    for r in store.codings():
        values = [
            r["document"],
            r["participant"],
            r["speaker"],
            r["start"],
            r["end"],
            r["text"],
            r["code_path"],
            r["status"],
            None if r["score"] is None else round(float(r["score"]), 4),
            r["coder"],
            r["suggester"],
            r["model"],
        ]
        if writer:
            writer.writerow(["" if v is None else v for v in values])
        else:
            out.write(json.dumps(dict(zip(EXPORT_COLUMNS, values, strict=True)), ensure_ascii=False) + "\n")
        n += 1
    return n


# -- tally of suggestions (the demo's first table) ----------------------------------------------


TALLY_MODES = ("any", "consensus")
UNREVIEWED = "PRE-CODED, UNREVIEWED SUGGESTIONS"


@dataclass(frozen=True)
class TallyResult:
    rows: list[tl.TallyRow]
    title: str
    notes: list[str]
    participants: int
    coded_segments: int
    cross: tl.CrossTab | None = None


@dataclass(frozen=True)
class Selection:
    """The codings a report counts: (segment id, code path) pairs, over the segments in scope."""

    codebook: Codebook
    pairs: set[tuple[int, str]]
    segments: list[SegmentRow]
    scope: dict[int, str]  # segment id -> participant
    accepted: set[tuple[int, str]]  # the part of ``pairs`` that people accepted


def require_coders(store: Store, coders: Sequence[str]) -> None:
    """Refuse names that made no decision in this project (a typo would otherwise give empty reports)."""
    known = set(store.coders())
    missing = [c for c in coders if c not in known]
    if missing:
        raise InputError(
            f"no decisions by {', '.join(missing)}",
            hint=f"coders in this project: {', '.join(sorted(known)) or 'none yet'}",
        )


def select_codings(
    store: Store,
    *,
    coders: Sequence[str] = (),
    mode: str = "any",
    include_suggested: bool = False,
    documents: Sequence[str] = (),
    participants: Sequence[str] = (),
) -> Selection:
    """Accepted codings (any / consensus of the named coders), optionally with unreviewed suggestions."""
    if mode not in TALLY_MODES:
        raise ValueError(f"mode must be one of {TALLY_MODES}")
    if mode == "consensus" and len(coders) < 2:
        raise InputError(
            "--consensus needs at least two --coder names", hint="e.g. --consensus --coder ana --coder ben"
        )
    book = current_codebook(store)
    doc_ids = {find_document(store, d) for d in documents}
    doc_names = {d.name for d in store.documents() if d.id in doc_ids}
    segs = [
        s
        for s in store.segments(coded_only=True)
        if (not participants or s.participant in participants) and (not doc_names or s.document in doc_names)
    ]
    scope = {s.id: s.participant for s in segs}
    require_coders(store, coders)
    who_accepted: dict[tuple[int, str], set[str]] = {}
    for seg_id, path, coder in store.acceptances():
        if seg_id in scope and (not coders or coder in coders):
            who_accepted.setdefault((seg_id, path), set()).add(coder)
    accepted = (
        {k for k, who in who_accepted.items() if who >= set(coders)} if mode == "consensus" else set(who_accepted)
    )
    pairs = set(accepted)
    if include_suggested:
        pairs |= {(r["segment_id"], r["code_path"]) for r in store.suggestions() if r["segment_id"] in scope}
    return Selection(book, pairs, segs, scope, accepted)


def tally_codings(
    store: Store,
    *,
    coders: Sequence[str] = (),
    mode: str = "any",
    include_suggested: bool = False,
    documents: Sequence[str] = (),
    participants: Sequence[str] = (),
    by: str | None = None,
) -> TallyResult:
    """Theme frequencies of accepted codings (and, when asked, of unreviewed suggestions).

    ``mode='any'``: a coding counts when any of ``coders`` (all coders when none are named) accepted
    it; ``'consensus'``: only when every named coder did. Filters keep the named documents and
    participants; the participant total counts the participants in scope.
    """
    sel = select_codings(
        store,
        coders=coders,
        mode=mode,
        include_suggested=include_suggested,
        documents=documents,
        participants=participants,
    )
    book, pairs, scope = sel.codebook, sel.pairs, sel.scope
    accepted = sel.accepted
    rows = tl.tally(book, ((seg, scope[seg], code) for seg, code in pairs), len(set(scope.values())))
    cross = None
    if by is not None:
        attrs = store.attributes()
        names = sorted({n for a in attrs.values() for n in a})
        if by not in names:
            raise InputError(
                f"no participant attribute '{by}'",
                hint=f"attributes in this project: {', '.join(names) or 'none (import --attributes CSV)'}",
            )
        values_of = {p: a[by] for p, a in attrs.items() if by in a}
        cross = tl.crosstab(
            book, ((seg, scope[seg], code) for seg, code in pairs), by, values_of, sorted(set(scope.values()))
        )
    if mode == "consensus":
        base = f"consensus of {', '.join(coders)}"
    elif coders:
        base = f"codings accepted by {', '.join(coders)}"
    else:
        base = "accepted codings"
    title = f"Theme frequencies — {base}"
    notes = []
    if include_suggested:
        title = f"{title} + {UNREVIEWED}" if accepted else f"Theme frequencies — {UNREVIEWED}"
        notes.append("Includes machine suggestions that no one has reviewed: pre-coded, unreviewed — not findings.")
    filters = [f"documents: {', '.join(documents)}"] if documents else []
    filters += [f"participants: {', '.join(participants)}"] if participants else []
    if filters:
        notes.append("Filtered to " + "; ".join(filters) + ".")
    return TallyResult(rows, title, notes, len(set(scope.values())), len(scope), cross)


# -- demo -------------------------------------------------------------------------------------


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


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


# -- matrices, quotes, saturation ---------------------------------------------------------------


@dataclass(frozen=True)
class MatrixResult:
    row_labels: list[str]
    col_labels: list[str]
    matrix: list[list[int]]
    title: str
    notes: list[str]


def _paths_to_depth(book: Codebook, depth: int | None) -> list[str]:
    return [c.path for c in book.codes if depth is None or c.depth < depth]


def _title(sel: Selection, what: str, include_suggested: bool) -> str:
    return (
        f"{what} — {UNREVIEWED}"
        if include_suggested and not sel.accepted
        else (f"{what} + {UNREVIEWED}" if include_suggested else what)
    )


def presence_table(
    store: Store, *, unit: str = "segment", depth: int | None = None, include_suggested: bool = False, **selection: Any
) -> MatrixResult:
    """The 0/1 matrix of codes (rolled up to parents) per participant sentence or per participant."""
    sel = select_codings(store, include_suggested=include_suggested, **selection)
    paths = _paths_to_depth(sel.codebook, depth)
    units: list[object]
    codings: list[tuple[object, str]]
    if unit == "participant":
        units = list(sorted(set(sel.scope.values())))
        labels = [str(u) for u in units]
        codings = [(sel.scope[seg], code) for seg, code in sel.pairs]
    else:
        units = [s.id for s in sel.segments]
        labels = [f"{s.participant} · {s.document} #{s.idx + 1}" for s in sel.segments]
        codings = [(seg, code) for seg, code in sel.pairs]
    m = tl.presence(sel.codebook, codings, units, paths)
    return MatrixResult(
        labels,
        paths,
        m,
        _title(sel, f"Presence of codes per {unit}", include_suggested),
        ["1 = the unit has the code or one of its subcodes."],
    )


def cooccurrence_table(
    store: Store, *, unit: str = "segment", depth: int | None = 1, include_suggested: bool = False, **selection: Any
) -> MatrixResult:
    """Code × code: units (sentences or participants) coded with both; the diagonal is each code's total."""
    sel = select_codings(store, include_suggested=include_suggested, **selection)
    paths = _paths_to_depth(sel.codebook, depth)
    codings = [(sel.scope[seg], code) for seg, code in sel.pairs] if unit == "participant" else list(sel.pairs)
    m = tl.cooccurrence(sel.codebook, codings, paths)
    names = [p.rsplit(" > ", 1)[-1] for p in paths]
    what = "sentences" if unit == "segment" else "participants"
    return MatrixResult(
        names,
        names,
        m,
        _title(sel, f"Co-occurrence of codes ({what})", include_suggested),
        [f"Cell = {what} coded with both codes (subcodes count for their parents); diagonal = {what} with the code."],
    )


@dataclass(frozen=True)
class Quote:
    participant: str
    attributes: dict[str, str]
    document: str
    sentence: int
    code: str
    text: str


def quotes(store: Store, code: str, *, n: int = 5, **selection: Any) -> list[Quote]:
    """Accepted sentences for a code (or its subcodes), spread over participants, most typical first.

    "Typical" = closest to the code's prototype when the project has embeddings; else longer first.
    """
    sel = select_codings(store, **selection)
    if code not in sel.codebook.by_path():
        raise InputError(f"no code '{code}' in the codebook", hint="see 'coder codebook show' for the paths")
    mine = {seg for seg, path in sel.accepted if path == code or path.startswith(code + " > ")}
    segs = {s.id: s for s in sel.segments if s.id in mine}
    closeness: dict[int, float] = {}
    run = next((r for r in store.active_runs() if r["suggester"] == sg.SUGGESTER), None)
    if run is not None and segs:
        col = list(json.loads(run["code_paths"])).index(code) if code in json.loads(run["code_paths"]) else None
        _, rows = store.active_scores(sg.SUGGESTER)
        if col is not None:
            closeness = {seg: float(v[col]) for seg, v in rows if seg in segs}
    ranked = sorted(segs.values(), key=lambda s: (-closeness.get(s.id, 0.0), -len(s.text.split()), s.id))
    by_person: dict[str, list[Any]] = {}
    for s in ranked:
        by_person.setdefault(s.participant, []).append(s)
    order = sorted(by_person, key=lambda p: (-len(by_person[p]), p))
    attrs = store.attributes()
    out: list[Quote] = []
    while len(out) < n and any(by_person.values()):
        for p in order:  # one per participant per round: diverse before deep
            if by_person[p] and len(out) < n:
                s = by_person[p].pop(0)
                out.append(Quote(p, attrs.get(p, {}), s.document, s.idx + 1, code, s.text))
    return out


@dataclass(frozen=True)
class SaturationResult:
    steps: list[tl.SaturationStep]
    codes_total: int
    title: str


def saturation(
    store: Store, *, depth: int | None = None, include_suggested: bool = False, **selection: Any
) -> SaturationResult:
    """New codes observed as participants are added in interview (import) order."""
    sel = select_codings(store, include_suggested=include_suggested, **selection)
    in_scope = set(sel.scope.values())
    order: list[str] = []
    for d in sorted(store.documents(), key=lambda d: d.id):
        if d.participant in in_scope and d.participant not in order:
            order.append(d.participant)
    paths = _paths_to_depth(sel.codebook, depth)
    steps = tl.saturation(sel.codebook, [(sel.scope[seg], code) for seg, code in sel.pairs], order, paths)
    return SaturationResult(steps, len(paths), _title(sel, "Code emergence by participant", include_suggested))
