"""Learning from one coder's decisions: ``learn`` fits learned.v2 (:mod:`coder.app.learning_v2`, the
default) or learned.v1 (prototypes moved by the decisions, Rocchio, with a score → probability map
calibrated on them); ``refit`` is the re-fit a review session asks for every N answers.

Each coder has their own learned run, fitted from the codebook and their own standing decisions
only (``consensus`` too, once reconciled): what one coder is suggested never depends on another's
answers, so double coding stays blind. The same decisions give the same run.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict

import numpy as np

from coder import learn as lr
from coder import learn2 as l2
from coder import suggest as sg
from coder.app import learning_v2
from coder.app.training import LearnResult, setup, similarity_run, write_run
from coder.errors import CoderError, ProjectError
from coder.store import Store
from coder.types import PATH_SEP

LEARN_EVERY = 25
LEARNERS = (lr.LEARNER, l2.LEARNER)
DEFAULT_LEARNER = l2.LEARNER


def refit(store: Store, coder: str) -> LearnResult | str:
    """Re-fit the answering coder's own run during a review; returns the result, or why it was skipped
    (answers are saved either way). Other coders' runs and screens are untouched."""
    current = store.learned_run(coder)
    try:
        return learn(store, coder=coder, learner=current.suggester if current is not None else DEFAULT_LEARNER)
    except (CoderError, sqlite3.OperationalError) as e:
        return f"learning skipped: {e}"


def learn_all(store: Store, *, learner: str = DEFAULT_LEARNER, top_k: int = sg.DEFAULT_TOP_K) -> list[LearnResult]:
    """One learned run per coder who has standing decisions (people and ``consensus``), each from their own."""
    similarity_run(store)
    with_answers = [c for c in store.coders() if store.standing_decisions(c)]
    if not with_answers:
        raise ProjectError("no decisions to learn from", path=store.path, hint="review some suggestions first")
    return [learn(store, coder=c, learner=learner, top_k=top_k) for c in with_answers]


def learn(store: Store, *, coder: str, learner: str = DEFAULT_LEARNER, top_k: int = sg.DEFAULT_TOP_K) -> LearnResult:
    """Fit ``coder``'s learned run with ``learner`` (learned.v1 or learned.v2) from their standing decisions
    and re-score every participant segment; it replaces that coder's previous learned run only."""
    if learner == lr.LEARNER:
        return learn_v1(store, coder=coder, top_k=top_k)
    if learner == l2.LEARNER:
        return learning_v2.learn_v2(store, coder=coder, top_k=top_k)
    raise ProjectError(f"no learner '{learner}'", path=store.path, hint=f"learners: {', '.join(LEARNERS)}")


def learn_v1(
    store: Store,
    *,
    coder: str,
    top_k: int = sg.DEFAULT_TOP_K,
    threshold: float = lr.SUGGEST_THRESHOLD,
    beta: float = lr.BETA,
    gamma: float = lr.GAMMA,
) -> LearnResult:
    """learned.v1: Rocchio prototypes from ``coder``'s standing decisions; re-score every participant segment.

    Uses only embeddings already in the project (no model is loaded).
    """
    t0 = time.perf_counter()
    st = setup(store, coder)
    paths, profile, latest = st.paths, st.profile, st.latest
    model_id = st.sim_run.model

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

    def score(
        vecs: np.ndarray, ids: np.ndarray
    ) -> tuple[np.ndarray, list[list[tuple[int, int]]], np.ndarray, np.ndarray]:
        scores = vecs @ prototypes.T
        nearest = sg.score(vecs, profile, "max").nearest  # the codebook example shown as "why"
        picks = sg.select(scores, profile, threshold=threshold, top_k=top_k)  # its exclusive sets too
        return prior(scores), picks, scores, nearest

    out = write_run(
        store,
        st,
        coder=coder,
        suggester=lr.LEARNER,
        method=f"rocchio(beta={beta:g},gamma={gamma:g})",
        threshold=threshold,
        top_k=top_k,
        calibrated=paths if prior.fitted else (),
        score=score,
    )
    return LearnResult(
        coder,
        out.run_id,
        len(per_code),
        len(latest),
        prior.fitted,
        out.suggestions,
        out.new_segments,
        time.perf_counter() - t0,
        per_code,
    )
