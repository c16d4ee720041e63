"""learned.v1: prototypes moved by one coder's decisions (Rocchio) and a score → probability map
calibrated on them; ``refit`` is the re-fit a review session asks for every N answers.

Each coder has their own learned run, fitted from the codebook and their own standing decisions
only (``consensus`` too, once reconciled): what one coder is suggested never depends on another's
answers, so double coding stays blind. The same decisions give the same run.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coder import learn as lr
from coder import suggest as sg
from coder.app.common import current_codebook
from coder.app.review import _paths
from coder.embed import text_hash
from coder.errors import CoderError, ProjectError
from coder.store import RunRow, Store
from coder.types import PATH_SEP

LEARN_EVERY = 25


def refit(store: Store, coder: str) -> LearnResult | str:
    """Re-fit the answering coder's own run during a review; returns the result, or why it was skipped
    (answers are saved either way). Other coders' runs and screens are untouched."""
    try:
        return learn(store, coder=coder)
    except (CoderError, sqlite3.OperationalError) as e:
        return f"learning skipped: {e}"


def learn_all(store: Store, *, top_k: int = sg.DEFAULT_TOP_K) -> list[LearnResult]:
    """One learned run per coder who has standing decisions (people and ``consensus``), each from their own."""
    _similarity_run(store)
    with_answers = [c for c in store.coders() if store.standing_decisions(c)]
    if not with_answers:
        raise ProjectError("no decisions to learn from", path=store.path, hint="review some suggestions first")
    return [learn(store, coder=c, top_k=top_k) for c in with_answers]


def _similarity_run(store: Store) -> RunRow:
    run = store.active_run(sg.SUGGESTER)
    if run is None:
        raise ProjectError("no similarity suggestions to learn from", path=store.path, hint="run 'coder suggest' first")
    return run


@dataclass(frozen=True)
class LearnResult:
    coder: str
    """Whose decisions this run learned from."""
    run_id: int
    models: int
    """Codes whose prototype moved (they have decisions)."""
    decisions: int
    prior_fitted: bool
    suggestions: int
    new_segments: int
    """Segments learned.v1 suggests a code for that similarity.v1 did not."""
    seconds: float
    per_code: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (positives, negatives)


def learn(
    store: Store,
    *,
    coder: str,
    top_k: int = sg.DEFAULT_TOP_K,
    threshold: float = lr.SUGGEST_THRESHOLD,
    beta: float = lr.BETA,
    gamma: float = lr.GAMMA,
) -> LearnResult:
    """Fit ``coder``'s learned.v1 on their standing decisions and re-score every participant segment.

    Uses only embeddings already in the project (no model is loaded). Registers a new active run of
    ``learned.v1`` learned from ``coder`` beside ``similarity.v1`` (replacing that coder's previous one
    only); every run stays recorded.
    """
    t0 = time.perf_counter()
    book = current_codebook(store)
    sim_run = _similarity_run(store)
    model_id = sim_run.model
    paths = [c.path for c in book.codes]
    if _paths(sim_run) != paths:
        raise ProjectError(
            "the codebook changed since the last 'coder suggest'",
            path=store.path,
            hint="run 'coder suggest' again, then learn",
        )

    def cached(texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        got = store.get_embeddings(model_id, hashes)
        if len(got) < len(set(hashes)):
            raise ProjectError("codebook embeddings are missing", path=store.path, hint="run 'coder suggest' first")
        return np.stack([got[h] for h in hashes])

    profile = sg.build_profile(book, cached)
    decisions = [d for d in store.decisions(coder=coder) if d.code_path in book.by_path()]
    if not decisions and coder not in store.coders():
        known = store.coders()
        raise ProjectError(
            f"no decisions by '{coder}' to learn from",
            path=store.path,
            hint=f"coders in this project: {', '.join(known)}" if known else "review some suggestions first",
        )

    latest: dict[tuple[int, str], str] = {}
    for d in decisions:  # the coder's standing answer on each (sentence, code)
        latest[(d.segment_id, d.code_path)] = d.answer
    accepted: dict[str, set[int]] = defaultdict(set)
    rejected: dict[str, set[int]] = defaultdict(set)
    for (seg, path), ans in latest.items():
        (accepted if ans == "accept" else rejected)[path].add(seg)
    seg_hash = store.segment_hashes()
    need = sorted({seg_hash[seg] for (seg, _) in latest})
    vec = store.get_embeddings(model_id, need)

    def stack(segs: set[int]) -> np.ndarray:
        rows = [vec[seg_hash[s]] for s in sorted(segs) if seg_hash[s] in vec]  # sorted: same decisions, same sums
        return np.vstack(rows) if rows else np.zeros((0, profile.centroids.shape[1]), dtype=np.float32)

    prototypes = profile.centroids.copy()
    per_code: dict[str, tuple[int, int]] = {}
    for j, path in enumerate(paths):
        # a subcode's acceptance is evidence for its parent too
        pos = {s for p, segs in accepted.items() if p == path or p.startswith(path + PATH_SEP) for s in segs}
        neg = rejected.get(path, set()) - pos
        if pos or neg:
            prototypes[j] = lr.rocchio(profile.centroids[j], stack(pos), stack(neg), beta=beta, gamma=gamma)
            per_code[path] = (len(pos), len(neg))

    # score -> probability, fitted on every standing answer scored against the learned prototypes
    col = {p: j for j, p in enumerate(paths)}
    pairs = [
        (float(vec[seg_hash[seg]] @ prototypes[col[path]]), ans == "accept")
        for (seg, path), ans in sorted(latest.items())
        if seg_hash[seg] in vec
    ]
    prior = lr.fit_prior([x[0] for x in pairs], [x[1] for x in pairs], threshold)

    ancestors = profile.ancestors
    suggested_before = {r.segment_id for r in store.suggestions(for_coders=[]) if r.suggester == sg.SUGGESTER}
    n_sugg = 0
    new_segments: set[int] = set()
    with store.transaction():
        run_id = store.start_run(
            suggester=lr.LEARNER,
            model=model_id,
            codebook_hash=book.hash,
            method=f"rocchio(beta={beta:g},gamma={gamma:g})",
            threshold=threshold,
            top_k=top_k,
            code_paths=paths,
            learned_from=coder,
            decisions=len(latest),
        )
        n = 0
        for ids, vecs in store.iter_segment_embeddings(model_id):
            scores = vecs @ prototypes.T
            p = prior(scores).astype(np.float32)
            nearest = sg.score(vecs, profile, "max").nearest  # the codebook example shown as "why"
            picks = sg.select(scores, ancestors, threshold=threshold, top_k=top_k)
            rows = []
            for i, picked in enumerate(picks):
                for c, rank in picked:
                    rows.append((int(ids[i]), paths[c], float(scores[i, c]), rank, profile.texts[int(nearest[i, c])]))
                    if int(ids[i]) not in suggested_before:
                        new_segments.add(int(ids[i]))
            store.add_scores(run_id, ids, p)
            store.add_suggestions(run_id, rows)
            n_sugg += len(rows)
            n += len(ids)
        store.finish_run(run_id, segments=n, embedded=0)
    return LearnResult(
        coder,
        run_id,
        len(per_code),
        len(latest),
        prior.fitted,
        n_sugg,
        len(new_segments),
        time.perf_counter() - t0,
        per_code,
    )
