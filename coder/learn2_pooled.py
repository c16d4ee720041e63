"""learned.v2 for the codes not learned on their own: what their answers pooled say. Pure.

Split from :mod:`coder.learn2`, whose folds and gates it shares: one map from zero-shot score to probability
(:func:`fit_pooled`), one shared cut (:func:`shared_cut`, :func:`gated_cut`), and prototypes moved toward what the
coder gave each code (:func:`moved`, :func:`moved_held_out`). :func:`coder.app.learning_v2.learn_v2` says when
each applies.
"""

from __future__ import annotations

import numpy as np

from coder.learn import BETA, GAMMA, rocchio
from coder.learn2 import MIN_DOCUMENTS, _f1, _folds, sigmoid

MIN_POOLED = 30
"""Answers of each kind (yes and no), pooled over the codes not learned yet, before their shared map is fitted."""


def fit_pooled(documents: np.ndarray, offset: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(a, b) of one map from the zero-shot offset ``(s0 − t)/σ`` to a probability, ``sigmoid(a · offset + b)``,
    fitted on the coder's answers for every code not learned on its own, pooled: many codes have too few
    answers each to be calibrated, but all of them together have plenty. Not balanced: it is meant to say
    how often such a score was a yes.

    Rows are (the answered sentence's document, offset, yes/no), one per (sentence answered, code). None while
    either kind has fewer than :data:`MIN_POOLED` answers or the answers come from fewer than
    :data:`coder.learn2.MIN_DOCUMENTS` documents, or when the map does not predict every held-out third of the
    documents (:func:`coder.learn2._folds`) better than the zero-shot prior ``sigmoid(offset)`` does (log loss):
    then the codes keep "not yet calibrated". One interview's answers say how often its own sentences got a code
    at a given score, not how often the next interview's will, as for the shared cut."""
    y = np.asarray(y, dtype=bool)
    documents = np.asarray(documents)
    if y.sum() < MIN_POOLED or (~y).sum() < MIN_POOLED or len(np.unique(documents)) < MIN_DOCUMENTS:
        return None
    offset = np.asarray(offset, dtype=np.float64)
    fold = _folds(len(y), documents)
    for k in np.unique(fold):
        test = fold == k
        if test.all() or y[~test].all() or not y[~test].any():
            return None
        a, b = _platt(offset[~test], y[~test])
        if _log_loss(a * offset[test] + b, y[test]) >= _log_loss(offset[test], y[test]):
            return None
    a, b = _platt(offset, y)
    return (a, b) if a > 0 else None


def _platt(offset: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import minimize

    t = y.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * offset + theta[1]
        r = sigmoid(z) - t
        reg = 1e-3  # a whisper toward the prior map (a = 1, b = 0), so separable answers stay finite
        value = float(np.sum(np.logaddexp(0.0, z) - t * z)) + 0.5 * reg * ((theta[0] - 1) ** 2 + theta[1] ** 2)
        return value, np.array([float(r @ offset) + reg * (theta[0] - 1), float(r.sum()) + reg * theta[1]])

    a, b = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y.astype(np.float64) * z))


SHARED_CUTS = tuple(round(0.2 + 0.025 * i, 3) for i in range(17))
"""Zero-shot scores (0.2 … 0.6) :func:`shared_cut` chooses among."""


def shared_cut(documents: np.ndarray, score: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """One zero-shot cut for every code not learned on its own, from the coder's answers on them pooled (one row
    per (sentence answered, code): the sentence's document, its zero-shot ``score``, yes or no): the cut among
    :data:`SHARED_CUTS` with the best F1. It is kept only if the answers come from :data:`MIN_DOCUMENTS`
    documents or more and, chosen with a third of the documents held out (:func:`_folds`), it does at least as
    well as ``threshold`` on that third, for each third and over all of them; else ``threshold``."""
    cut = gated_cut(documents, score, y, np.asarray(score) >= threshold, threshold)
    return threshold if cut is None else cut


def gated_cut(
    documents: np.ndarray, score: np.ndarray, y: np.ndarray, baseline: np.ndarray, near: float
) -> float | None:
    """The cut on ``score`` among :data:`SHARED_CUTS` with the best F1 on the answers ``y``, if, chosen with each
    third of the documents held out in turn, it does at least as well there as the ``baseline`` suggestions
    (bool, per row), on every third and over all; else None. Ties go to the cut nearest ``near``."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=bool)
    if y.sum() < MIN_POOLED or (~y).sum() < MIN_POOLED or len(np.unique(documents)) < MIN_DOCUMENTS:
        return None
    fold = _folds(len(y), np.asarray(documents))
    counts = np.zeros((2, 3))  # (cut, baseline) x (true positives, predicted, actual)
    for k in np.unique(fold):  # a fold may be empty when one document outweighs the rest
        test = fold == k
        if not y[~test].any() or not y[test].any():
            return None
        cut = _best_score_cut(score[~test], y[~test], near)
        pred = (score[test] >= cut, baseline[test])
        rows = np.array([[(q & y[test]).sum(), q.sum(), y[test].sum()] for q in pred], dtype=np.float64)
        if _f1(rows[0]) < _f1(rows[1]):
            return None
        counts += rows
    if _f1(counts[0]) < _f1(counts[1]):
        return None
    return _best_score_cut(score, y, near)


MOVE_TOWARD = BETA
MOVE_AWAY = GAMMA
"""How far a code's prototype moves toward the mean of the sentences a coder gave it and away from the mean of
those she rejected it for: learned.v1's update and weights (:func:`coder.learn.rocchio`)."""


def moved(prototype: np.ndarray, toward: np.ndarray, away: np.ndarray) -> np.ndarray:
    """``prototype`` (d,) moved toward the mean of ``toward`` (k, d) and away from the mean of ``away``, normalised."""
    return rocchio(prototype, toward, away, beta=MOVE_TOWARD, gamma=MOVE_AWAY).astype(np.float64)


def moved_held_out(
    x: np.ndarray, prototype: np.ndarray, toward: np.ndarray, away: np.ndarray, documents: np.ndarray
) -> np.ndarray:
    """(n,) for each row of ``x`` (n, d): its cosine to ``prototype`` moved (:func:`moved`) with the rows of the
    other documents only (``toward``/``away``: bool masks over the rows), less its cosine to ``prototype``:
    what moving adds to its score, as it would for a document the coder has not answered."""
    x = np.asarray(x, dtype=np.float64)
    _, doc = np.unique(np.asarray(documents), return_inverse=True)
    n_docs = int(doc.max()) + 1 if len(doc) else 0
    out = np.zeros(len(x))
    sums = {}
    for name, mask in (("t", np.asarray(toward, bool)), ("a", np.asarray(away, bool))):
        s = np.zeros((n_docs, x.shape[1]))
        np.add.at(s, doc[mask], x[mask])
        sums[name] = (s, np.bincount(doc[mask], minlength=n_docs), s.sum(axis=0), int(mask.sum()))
    base = np.asarray(prototype, dtype=np.float64)
    for d in range(n_docs):
        if sums["t"][3] == int(sums["t"][1][d]):  # no yes answer outside this document: no move, as for a new code
            continue
        v = base.copy()
        for name, w in (("t", MOVE_TOWARD), ("a", -MOVE_AWAY)):
            s, cnt, total, n = sums[name]
            k = n - int(cnt[d])
            if k:
                v += w * (total - s[d]) / k
        norm = np.linalg.norm(v)
        rows = doc == d
        out[rows] = x[rows] @ (v / norm if norm else v) - x[rows] @ base
    return out


def _best_score_cut(score: np.ndarray, y: np.ndarray, threshold: float) -> float:
    best, best_f1 = threshold, -1.0
    for c in sorted(SHARED_CUTS, key=lambda c: abs(c - threshold)):
        pred = score >= c
        f1 = _f1(np.array([(pred & y).sum(), pred.sum(), y.sum()], dtype=np.float64))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(c), f1
    return best
