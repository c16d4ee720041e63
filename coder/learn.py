"""learned.v1: code prototypes moved by the coders' decisions, with calibrated probabilities. Pure.

Each code starts from similarity.v1's prototype (the normalised centroid of its exemplars). Its
learned prototype moves toward the sentences accepted for it (or for its subcodes) and away from
those rejected for it (Rocchio's update: c' = c + β·mean(accepted) − γ·mean(rejected)). A sentence's
learned score is its cosine to the learned prototype; learned.v1 suggests codes scoring at least
:data:`SUGGEST_THRESHOLD`.

Probabilities, used to order review by uncertainty and to estimate how many sentences are still
unfound, come from a logistic map of the score fitted on the coder's answers (score of each
answered suggestion → accepted?), with a fixed slope until there are enough answers.

Why not a classifier per code: on the demo corpus, logistic regressions on the embeddings (with the
codebook's examples as seed data, one-vs-rest negatives, blended with the prior) lowered agreement
with the reference after 800 decisions at every regularisation and blend weight we tried, because a
handful of positives per code in 384 dimensions overfits (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEARNER = "learned.v1"
BETA = 0.75
GAMMA = 0.15
SUGGEST_THRESHOLD = 0.45
"""Cosine to the learned prototype at which learned.v1 suggests a code (chosen by measurement)."""
PRIOR_SCALE = 0.05
"""Default slope of the probability map: a cosine 0.05 above the centre maps to p ≈ 0.73."""


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass(frozen=True)
class Prior:
    """Maps a score to a probability: sigmoid((score - centre) / scale)."""

    centre: float
    scale: float = PRIOR_SCALE
    fitted: bool = False

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid((np.asarray(scores, dtype=np.float64) - self.centre) / self.scale)


def fit_prior(scores: Sequence[float], accepted: Sequence[bool], threshold: float) -> Prior:
    """Calibrate the score → probability map on answered suggestions when there are enough."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(accepted, dtype=bool)
    if len(s) < 20 or y.all() or not y.any():
        return Prior(threshold)
    from sklearn.linear_model import LogisticRegression

    # One feature over a narrow range (cosines ~0.2-0.7): regularisation would flatten the slope.
    lr = LogisticRegression(C=1e6).fit(s.reshape(-1, 1), y)
    w, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if w <= 1e-6:  # a probability that falls with similarity is noise
        return Prior(threshold)
    return Prior(centre=-b / w, scale=1.0 / w, fitted=True)


def rocchio(
    prototype: np.ndarray, accepted: np.ndarray, rejected: np.ndarray, *, beta: float = BETA, gamma: float = GAMMA
) -> np.ndarray:
    """A code's prototype moved toward accepted and away from rejected sentence vectors, normalised."""
    v = np.asarray(prototype, dtype=np.float64).copy()
    if len(accepted):
        v += beta * np.asarray(accepted, dtype=np.float64).mean(axis=0)
    if len(rejected):
        v -= gamma * np.asarray(rejected, dtype=np.float64).mean(axis=0)
    n = np.linalg.norm(v)
    return (v / n if n else v).astype(np.float32)


def expected_unfound(p: np.ndarray, reviewed: np.ndarray) -> float:
    """Expected number of segments that deserve the code among those nobody has decided on."""
    return float(p[~reviewed].sum())
