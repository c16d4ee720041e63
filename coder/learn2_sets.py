"""learned.v2 for a mutually exclusive set: one softmax model over its members, anchored like one code's. Pure.

Split from :mod:`coder.learn2`, whose constants (penalties, gates, folds) it shares. A set weighs its sentences'
words (:mod:`coder.learn2_words`) from its first fit: on AnnoMI therapist behaviour (review halves split in two,
3 orders) κ after 10 / 20 / 40 / 80 % of decisions went from 0.454 / 0.579 / 0.582 to 0.530 / 0.611 / 0.636 / 0.665,
and client talk from 0.231 at every point to 0.234 / 0.236 / 0.254 / 0.257 (benchmarks/NOTES.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from coder.learn2 import EVERY_FOLD, FOLDS, L2_A, L2_B, L2_WORDS, MIN_CALIBRATION, PRIOR_SCALE

GROUP_L2_W = 1.0
"""Penalty on an exclusive set's weights: at 0.3 AnnoMI client talk fell below zero-shot in one order of three."""


@dataclass(frozen=True)
class GroupExamples:
    """Training rows of one exclusive set: each row belongs to exactly one member (class ``y``)."""

    x: np.ndarray  # (n, d)
    s0: np.ndarray  # (n, K) zero-shot scores of the K members
    y: np.ndarray  # (n,) int in 0..K-1
    weight: np.ndarray  # (n,)
    coder_rows: int
    """The first ``coder_rows`` rows are the coder's answers (in document order), the rest the codebook's examples."""
    words: Any = None
    """(n, V) sparse: each row's words (:mod:`coder.learn2_words`); None: no words block."""
    finished: np.ndarray | None = None
    """(coder_rows,) bool: the row lies in the part of its document the coder answered in full from its start
    (:attr:`coder.learn2.Examples.finished`); None: all do. Every row trains the set; only these may vouch for it
    (:func:`fit_group`)."""


@dataclass(frozen=True)
class GroupModel:
    """An exclusive set's members scored together: softmax over ``a · (s0 − t)/σ + b + W x``.

    ``balance`` is what class-balancing added to each member's log-odds: :meth:`proba` takes it back out
    (calibrated probabilities), :meth:`pick` keeps it (the member most above its base rate; measured on
    AnnoMI, picking by the balanced scores gave κ 0.27 against 0.21 for the calibrated argmax, client talk
    at 20 % of decisions).
    """

    w: np.ndarray  # (K, d)
    a: float
    b: np.ndarray  # (K,)
    balance: np.ndarray  # (K,)
    learned: bool
    v: np.ndarray | None = None
    """(K, V) the words block's weights (None: the set does not use it)."""

    def logits(self, x: np.ndarray, s0: np.ndarray, threshold: float, scale: float, words: Any = None) -> np.ndarray:
        offset = (np.asarray(s0, dtype=np.float64) - threshold) / scale
        z = np.asarray(x, dtype=np.float64) @ self.w.T + self.a * offset + self.b
        return z if self.v is None or words is None else z + np.asarray(words @ self.v.T)

    def proba(
        self, x: np.ndarray, s0: np.ndarray, threshold: float, scale: float = PRIOR_SCALE, words: Any = None
    ) -> np.ndarray:
        return softmax(self.logits(x, s0, threshold, scale, words) - self.balance)

    def pick(
        self, x: np.ndarray, s0: np.ndarray, threshold: float, scale: float = PRIOR_SCALE, words: Any = None
    ) -> np.ndarray:
        """(n, K) scores whose argmax is the member to suggest."""
        return softmax(self.logits(x, s0, threshold, scale, words))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def group_prior(k: int, d: int) -> GroupModel:
    """The set before learning: the argmax of the zero-shot scores."""
    return GroupModel(np.zeros((k, d)), 1.0, np.zeros(k), np.zeros(k), False)


def fit_group(ex: GroupExamples, threshold: float, *, scale: float = PRIOR_SCALE) -> GroupModel:
    """Fit one exclusive set's model (L-BFGS; deterministic), or keep the zero-shot argmax.

    The set is learned only once the coder has put at least :data:`MIN_CALIBRATION` sentences in each
    member, and only if, on the coder's answers held out a contiguous third at a time, its picks agree
    with the coder better (Cohen's κ) than the zero-shot argmax does, over all three and (:data:`EVERY_FOLD`)
    on none worse. Only rows answered in full from their document's start (``ex.finished``) count for either
    check, and every third must hold some: the answers "uncertain first" gives are the sentences nearest a
    decision, on which a set can look better than zero-shot while it is worse on whole documents (AnnoMI client
    talk, `make bench-quality`'s held-out half: κ 0.124 against the zero-shot 0.249 after 20 % reviewed that way;
    its review half split in two: 0.189 against 0.247 at 40 %, and at zero-shot with this rule). A set still
    trains on every answer. This is stricter than for single codes, which are checked on all their answers and
    use those rows only for their low cuts, the twenty-document rule and the pooled codes' fits.
    """
    k = ex.s0.shape[1]
    d = ex.x.shape[1] if ex.x.ndim == 2 else 0
    prior = group_prior(k, d)
    mine = np.arange(len(ex.y)) < ex.coder_rows
    census = mine.copy()  # the rows that may check the gate: answered in full from their document's start
    if ex.finished is not None:
        census[: ex.coder_rows] = np.asarray(ex.finished, dtype=bool)
    counts = np.bincount(ex.y[census], minlength=k) if ex.coder_rows else np.zeros(k, int)
    if (counts < MIN_CALIBRATION).any():
        return prior
    x = np.asarray(ex.x, dtype=np.float64)
    offset = (np.asarray(ex.s0, dtype=np.float64) - threshold) / scale
    base = np.asarray(ex.weight, dtype=np.float64)
    fold = np.full(len(ex.y), -1)
    fold[mine] = np.arange(ex.coder_rows) * FOLDS // ex.coder_rows
    learned_pred, zero_pred, truth = [], [], []
    worse = False
    for f in range(FOLDS):
        test, train = fold == f, fold != f
        if len(np.unique(ex.y[train & mine])) < k:
            continue
        check = test & census
        if not check.any():  # a third with nothing to vouch for it: "on none worse" cannot be said
            return prior
        words = None if ex.words is None else ex.words[train]
        w, a, b, _, v = _fit_group(x[train], offset[train], ex.y[train], base[train], k, words)
        z = x[check] @ w.T + a * offset[check] + b
        learned_pred.append(np.argmax(z if v is None else z + ex.words[check] @ v.T, axis=1))
        zero_pred.append(np.argmax(offset[check], axis=1))
        truth.append(ex.y[check])
        worse |= _kappa(truth[-1], learned_pred[-1], k) < _kappa(truth[-1], zero_pred[-1], k)
    if not truth:
        return prior
    y_true = np.concatenate(truth)
    if _kappa(y_true, np.concatenate(learned_pred), k) <= _kappa(y_true, np.concatenate(zero_pred), k):
        return prior
    if EVERY_FOLD and worse:
        return prior
    w, a, b, balance, v = _fit_group(x, offset, ex.y, base, k, ex.words)
    return GroupModel(w, a, b, balance, True, v)


def _kappa(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Cohen's κ of two label vectors over ``k`` classes (0 where chance agreement is total)."""
    m = np.zeros((k, k))
    np.add.at(m, (y, pred), 1.0)
    n = m.sum()
    po = np.trace(m) / n
    pe = float(m.sum(axis=0) @ m.sum(axis=1)) / (n * n)
    return 0.0 if pe >= 1 else (po - pe) / (1 - pe)


def _fit_group(
    x: np.ndarray, offset: np.ndarray, y: np.ndarray, base: np.ndarray, k: int, words: Any = None
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray | None]:
    """(W, a, b, balance, V): the class-balanced multinomial fit with the same penalties as one code's, and the
    words block's weights (None without ``words``, the rows' (n, V) sparse words)."""
    from scipy.optimize import minimize

    d = x.shape[1]
    nv = 0 if words is None else int(words.shape[1])
    kd, kv = k * d, k * nv
    onehot = np.eye(k)[y]
    totals = np.array([base[y == c].sum() for c in range(k)])
    factor = totals.sum() / (k * totals) if (totals > 0).all() else np.ones(k)
    sw = base * factor[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, v = theta[:kd].reshape(k, d), theta[kd : kd + kv].reshape(k, nv)
        a, b = theta[kd + kv], theta[kd + kv + 1 :]
        z = x @ w.T + a * offset + b
        if nv:
            z = z + np.asarray(words @ v.T)
        top = z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
        nll = float(np.sum(sw * (lse - (z * onehot).sum(axis=1))))
        r = sw[:, None] * (np.exp(z - lse[:, None]) - onehot)
        grad = np.concatenate(
            [
                (r.T @ x + GROUP_L2_W * w).ravel(),
                np.asarray(words.T @ r).T.ravel() + L2_WORDS * v.ravel() if nv else np.zeros(0),
                [float((r * offset).sum()) + L2_A * (a - 1.0)],
                r.sum(axis=0) + L2_B * b,
            ]
        )
        pen = GROUP_L2_W * float((w * w).sum()) + L2_WORDS * float((v * v).sum())
        pen = 0.5 * (pen + L2_A * (a - 1.0) ** 2 + L2_B * float(b @ b))
        return nll + pen, grad

    theta0 = np.zeros(kd + kv + 1 + k)
    theta0[kd + kv] = 1.0
    theta = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 300}).x
    w, a, b = theta[:kd].reshape(k, d).copy(), float(theta[kd + kv]), theta[kd + kv + 1 :].copy()
    v = theta[kd : kd + kv].reshape(k, nv).copy() if nv else None
    return w, a, b, np.log(factor), v
