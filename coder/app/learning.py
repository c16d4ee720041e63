"""learned.v1: prototypes moved by a coder's decisions (Rocchio) and a score → probability map
calibrated on them; ``refit`` is the re-fit a review session asks for every N answers."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coder import learn as lr
from coder import suggest as sg
from coder.app.common import CONSENSUS, current_codebook
from coder.app.review import _paths
from coder.embed import text_hash
from coder.errors import CoderError, ProjectError
from coder.store import Store
from coder.types import PATH_SEP

LEARN_EVERY = 25


def refit(store: Store, coder: str) -> LearnResult | str:
    """Re-fit during a review session; returns the result, or why it was skipped (answers are saved either way).

    learned.v1 is one run for the whole project, so a re-fit from one coder's answers would change
    what every other coder is suggested: while others have answers too, it is skipped (double
    coding stays blind; 'coder suggest --learn' still re-fits on purpose).
    """
    others = sorted(set(store.coders()) - {coder, CONSENSUS})
    if others:
        return (
            f"learning skipped: {', '.join(others[:3])}{' …' if len(others) > 3 else ''} also answered here, and "
            "learned.v1 is shared; run 'coder suggest --learn' to re-fit on purpose"
        )
    try:
        return learn(store, coder=coder)
    except (CoderError, sqlite3.OperationalError) as e:
        return f"learning skipped: {e}"


@dataclass(frozen=True)
class LearnResult:
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
    coder: str | None = None,
    top_k: int = sg.DEFAULT_TOP_K,
    threshold: float = lr.SUGGEST_THRESHOLD,
    beta: float = lr.BETA,
    gamma: float = lr.GAMMA,
) -> LearnResult:
    """Fit learned.v1 on the decisions so far and re-score every participant segment.

    Uses only embeddings already in the project (no model is loaded). Registers a new active run
    of ``learned.v1`` beside ``similarity.v1``; both stay recorded.
    """
    t0 = time.perf_counter()
    book = current_codebook(store)
    sim_run = next((r for r in store.active_runs() if r.suggester == sg.SUGGESTER), None)
    if sim_run is None:
        raise ProjectError("no similarity suggestions to learn from", path=store.path, hint="run 'coder suggest' first")
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

    latest: dict[tuple[str, int, str], str] = {}
    for d in decisions:  # each coder's latest standing answer counts
        latest[(d.coder, d.segment_id, d.code_path)] = d.answer
    accepted: dict[str, set[int]] = defaultdict(set)
    rejected: dict[str, set[int]] = defaultdict(set)
    for (_, seg, path), ans in latest.items():
        (accepted if ans == "accept" else rejected)[path].add(seg)
    seg_hash = store.segment_hashes()
    need = sorted({seg_hash[seg] for (_, seg, _) in latest})
    vec = store.get_embeddings(model_id, need)

    def stack(segs: set[int]) -> np.ndarray:
        rows = [vec[seg_hash[s]] for s in segs if seg_hash[s] in vec]
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
        for (_, seg, path), ans in latest.items()
        if seg_hash[seg] in vec
    ]
    prior = lr.fit_prior([x[0] for x in pairs], [x[1] for x in pairs], threshold)

    ancestors = profile.ancestors
    suggested_before = {r.segment_id for r in store.suggestions() if r.suggester == sg.SUGGESTER}
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
        run_id, len(per_code), len(latest), prior.fitted, n_sugg, len(new_segments), time.perf_counter() - t0, per_code
    )
