"""Zero-shot runs (similarity.v2, or v1 on request): embed what is new (cached by text hash), score every
participant sentence against every code, store the run in one transaction."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from coder import suggest as sg
from coder.app import learning
from coder.app.common import ProgressFn, current_codebook, noop
from coder.embed import Embedder, normalise, text_hash
from coder.errors import CoderError, InputError, ProjectError
from coder.store import RunRow, Store


@dataclass(frozen=True)
class SuggestResult:
    run: RunRow
    """The stored run: suggester, model, codebook hash, method, threshold, top_k, segments scored, texts embedded."""
    suggestions: int
    per_code: dict[str, int]
    seconds: float
    embed_seconds: float
    codebook_seconds: float
    """Time spent embedding the codebook's exemplar texts (zero when cached)."""
    relearned: tuple[learning.LearnResult | str, ...] = ()
    """The coders' learned runs, re-fitted on the new scores from the same decisions (or why one was not)."""


def _cached_embed(store: Store, embedder: Embedder) -> Callable[[Sequence[str]], np.ndarray]:
    """Embed the codes' exemplar texts through the project's cache, then this user's cache across projects
    (:mod:`coder.exemplar_cache`: codebook text only, never a transcript's)."""
    from coder import exemplar_cache

    def embed(texts: Sequence[str]) -> np.ndarray:
        model = embedder.model_id
        hashes = [text_hash(t) for t in texts]
        have = store.get_embeddings(model, hashes)
        todo = sorted({h: t for h, t in zip(hashes, texts, strict=True) if h not in have}.items())
        if todo:
            known = exemplar_cache.lookup(model, [h for h, _ in todo])
            fresh = [(h, t) for h, t in todo if h not in known]
            vecs = normalise(embedder.embed([t for _, t in fresh])) if fresh else np.zeros((0, 0), np.float32)
            exemplar_cache.add(model, [h for h, _ in fresh], vecs)
            known.update({h: vecs[i] for i, (h, _) in enumerate(fresh)})
            store.put_embeddings(model, [h for h, _ in todo], np.stack([known[h] for h, _ in todo]))
            have.update(known)
        return np.stack([have[h] for h in hashes])

    return embed


def embed_segments(
    store: Store,
    embedder: Embedder,
    *,
    progress: ProgressFn = noop,
    batch: int = 1024,
    keep: dict[str, np.ndarray] | None = None,
) -> int:
    """Embed every coded segment whose text is not cached for this model; returns how many.

    ``keep``: filled with the new vectors by text hash (up to :data:`KEEP_AT_MOST`), so the caller can score
    them without reading them back.

    A batch's vectors are written by a second connection in a background thread while the model embeds
    the next batch (the model and SQLite both release the GIL); each batch is still its own transaction,
    so an interrupted run keeps what it finished."""
    import queue
    import threading

    batches = list(store.missing_embeddings(embedder.model_id, batch=batch))
    if not batches:
        return 0
    if store.db.in_transaction:  # a second connection would wait for this one's lock: write in line
        for rows in batches:
            vecs = normalise(embedder.embed([t for _, t in rows]))
            store.put_embeddings(embedder.model_id, [h for h, _ in rows], vecs)
            _keep(keep, rows, vecs)
            progress(len(rows))
        return sum(len(rows) for rows in batches)
    todo: queue.Queue[tuple[list[str], np.ndarray] | None] = queue.Queue(maxsize=1)
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with Store(store.path) as writer:
                while (item := todo.get()) is not None:
                    writer.put_embeddings(embedder.model_id, *item)
        except BaseException as e:  # re-raised in the caller's thread
            failed.append(e)
            while todo.get() is not None:  # let the producer finish
                pass

    thread = threading.Thread(target=write, name="coder-embedding-writer", daemon=True)
    thread.start()
    done = 0
    try:
        for rows in batches:
            vecs = normalise(embedder.embed([t for _, t in rows]))
            if failed:
                break
            todo.put(([h for h, _ in rows], vecs))
            _keep(keep, rows, vecs)
            done += len(rows)
            progress(len(rows))
    finally:
        todo.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return done


KEEP_AT_MOST = 50_000
"""New vectors kept in memory for scoring (75 MB at 384 dimensions); past that they are read back."""


def _keep(keep: dict[str, np.ndarray] | None, rows: list[tuple[str, str]], vecs: np.ndarray) -> None:
    if keep is not None and len(keep) + len(rows) <= KEEP_AT_MOST:
        keep.update(zip([h for h, _ in rows], vecs, strict=True))


def count_to_embed(store: Store, model_id: str) -> int:
    return store.count_missing_embeddings(model_id)


def suggest(
    store: Store,
    embedder: Embedder,
    *,
    threshold: float = sg.DEFAULT_THRESHOLD,
    top_k: int = sg.DEFAULT_TOP_K,
    method: str = sg.DEFAULT_METHOD,
    suggester: str = sg.SUGGESTER,
    progress: ProgressFn = noop,
) -> SuggestResult:
    """Embed what is new, score every participant segment against every code, store the run.

    The run (suggestions and score matrix) is written in one transaction and replaces the
    previous zero-shot run (of either suggester) only when complete.
    """
    if suggester not in sg.ZERO_SHOT:
        raise InputError(f"no zero-shot suggester '{suggester}'", hint=f"use one of: {', '.join(sg.ZERO_SHOT)}")
    contrast = sg.contrast_of(suggester)
    t0 = time.perf_counter()
    book = current_codebook(store)
    if store.counts()["coded_segments"] == 0:
        raise ProjectError(
            "no participant segments to code",
            path=store.path,
            hint="import transcripts first: coder import FILES…",
        )
    fresh: dict[str, np.ndarray] = {}  # scored from memory, not read back
    embedded = embed_segments(store, embedder, progress=progress, keep=fresh)
    t_embed = time.perf_counter() - t0
    cached = _cached_embed(store, embedder)
    profile = sg.build_profile(book, cached, against=contrast > 0)
    counter = [t for c in book.codes for t in c.counterexamples]
    if counter:  # seed negatives for learned.v2, which must never need the model
        cached(counter)
    t_codebook = time.perf_counter() - t0 - t_embed
    per_code: Counter[str] = Counter()
    n_segments = 0
    with store.transaction():
        run_id = store.start_run(
            suggester=suggester,
            model=embedder.model_id,
            codebook_hash=book.hash,
            method=method,
            threshold=threshold,
            top_k=top_k,
            code_paths=profile.paths,
        )
        for ids, vecs in store.iter_segment_embeddings(embedder.model_id, have=fresh):
            scored = sg.score(vecs, profile, method, contrast)
            picks = sg.select(scored.scores, profile, threshold=threshold, top_k=top_k)
            rows = []
            ids_l, near = ids.tolist(), scored.nearest
            for i, picked in enumerate(picks):
                for c, rank in picked:
                    path = profile.paths[c]
                    rows.append((ids_l[i], path, float(scored.scores[i, c]), rank, profile.texts[near[i, c]]))
                    per_code[path] += 1
            store.add_scores(run_id, ids, scored.scores)
            store.add_suggestions(run_id, rows)
            n_segments += len(ids)
        run = store.finish_run(run_id, segments=n_segments, embedded=embedded)
        retired = store.deactivate_learned_runs()  # scored under the previous run's codebook and documents
    # each coder's learned run again, by the same learner from the same decisions (no model needed; seconds)
    relearned: list[learning.LearnResult | str] = []
    for r in retired:
        if r.learned_from in (None, "*"):
            continue
        try:
            relearned.append(learning.learn(store, coder=r.learned_from, learner=r.suggester, top_k=r.top_k))
        except (CoderError, sqlite3.OperationalError) as e:  # the new suggestions are saved either way
            relearned.append(f"{r.learned_from}'s {r.suggester} not re-fitted ({e}); run 'coder suggest --learn'")
    return SuggestResult(
        run,
        sum(per_code.values()),
        dict(per_code),
        time.perf_counter() - t0,
        t_embed,
        t_codebook,
        tuple(relearned),
    )
