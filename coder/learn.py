"""learned.v1: per-code models fitted on decisions, blended with the similarity prior. Pure.

For each code, a logistic regression on segment embeddings is fitted to the coders' decisions
(accepted = positive, rejected = hard negative) plus the codebook's own examples (positive) and
counterexamples (negative) as seed data. Its probability is *blended* with a prior computed from
the similarity score, weighted by how many decisions the code has: with few decisions the prior
dominates (a linear model on a few dozen decisions is worse than the prior), with many the
model does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEARNER = "learned.v1"
MIN_POSITIVE = 3
MIN_NEGATIVE = 3
BLEND_K = 20.0
"""Decisions at which the learned model and the prior weigh the same (λ = n / (n + K))."""
PRIOR_SCALE = 0.05
"""Default slope of the prior: a cosine 0.05 above the threshold maps to p ≈ 0.73."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass(frozen=True)
class Prior:
    """Maps a similarity score to a probability: sigmoid((score - centre) / scale)."""

    centre: float
    scale: float = PRIOR_SCALE
    fitted: bool = False

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid((np.asarray(scores, dtype=np.float64) - self.centre) / self.scale)


def fit_prior(scores: Sequence[float], accepted: Sequence[bool], threshold: float) -> Prior:
    """Calibrate the prior on decisions (score of the suggestion → accepted?) when there are enough."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(accepted, dtype=bool)
    if len(s) < 20 or y.all() or not y.any():
        return Prior(threshold)
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=10.0).fit(s.reshape(-1, 1), y)
    w, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if w <= 1e-6:  # a prior that falls with similarity is noise
        return Prior(threshold)
    return Prior(centre=-b / w, scale=1.0 / w, fitted=True)


@dataclass(frozen=True)
class CodeModel:
    code: str
    coef: np.ndarray
    intercept: float
    decisions: int
    positives: int
    negatives: int


def fit_code(
    code: str,
    pos: np.ndarray,
    neg: np.ndarray,
    seed_pos: np.ndarray,
    seed_neg: np.ndarray,
    *,
    c: float = 1.0,
) -> CodeModel | None:
    """A logistic regression for one code, or None when there is too little to learn from."""
    n_pos, n_neg = len(pos) + len(seed_pos), len(neg) + len(seed_neg)
    if len(pos) + len(neg) == 0 or n_pos < MIN_POSITIVE or n_neg < MIN_NEGATIVE:
        return None
    from sklearn.linear_model import LogisticRegression

    parts = [a for a in (pos, seed_pos, neg, seed_neg) if len(a)]
    x = np.vstack(parts)
    y = np.concatenate([np.ones(n_pos), np.zeros(n_neg)])
    # No class re-weighting: it would inflate probabilities, and the recall estimate sums them.
    lr = LogisticRegression(C=c, max_iter=500).fit(x, y)
    return CodeModel(
        code, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]), len(pos) + len(neg), len(pos), len(neg)
    )


def blend_weight(decisions: int, k: float = BLEND_K) -> float:
    return decisions / (decisions + k) if decisions > 0 else 0.0


def probabilities(
    segments: np.ndarray,
    similarity: np.ndarray,
    paths: Sequence[str],
    models: dict[str, CodeModel],
    prior: Prior,
    *,
    k: float = BLEND_K,
) -> np.ndarray:
    """(n, C) probabilities: the prior where a code has no model, the blend where it has one."""
    p = prior(similarity)
    for j, path in enumerate(paths):
        m = models.get(path)
        if m is None:
            continue
        lam = blend_weight(m.decisions, k)
        p_model = sigmoid(segments @ m.coef + m.intercept)
        p[:, j] = lam * p_model + (1 - lam) * p[:, j]
    return p.astype(np.float32)


def expected_unfound(p: np.ndarray, reviewed: np.ndarray) -> float:
    """Expected number of segments that deserve the code among those nobody has decided on."""
    return float(p[~reviewed].sum())
