"""Codes carried over from the sentence before. Pure.

A coder's codes come in runs: on the demo reference coding a code given to one participant sentence is
given to the next one 40 % of the time, against a few per cent for a code in general, and AnnoMI's
experts label a client's utterance like the one before far more often than chance. Similarity scores each
sentence alone and cannot see this; a coder reviewing in document order can, because she has just
answered the sentence before. So, once she has, each code she gave it is offered on the next sentence
when a small model fitted on her own answers says it is more likely than not there:

    logit p = a · (s0 − t) / σ + b

fitted only on the (sentence, code) pairs where the code was given to the sentence before, ``s0`` the
sentence's zero-shot score for the code and ``t``/``σ`` the zero-shot threshold and slope (as in
:mod:`coder.learn2`). It is not class-balanced: the probability is what the coder did.

The model is kept only with at least :data:`MIN_PAIRS` repeats and as many non-repeats among her answers,
and only if adding the carried codes to what is suggested without them (her learned run's picks) gives a
better F1 on her answers held out a contiguous third at a time, over all three and on none worse. The carry
model is fitted without the third it is tested on; the learned run's picks are not (it was fitted on all her
answers), so the test leans against carrying. The same answers give the same model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from coder.evaluate import prf

CARRY_AT = 0.5
"""A code given to the sentence before is offered on this one from this probability."""
MIN_PAIRS = 8
"""Repeats (a code given to two sentences in a row) and non-repeats needed before carrying is fitted."""
FOLDS = 3
L2 = 1.0


@dataclass(frozen=True)
class CarryModel:
    a: float
    b: float
    pairs: int
    """Sentences answered right after an answered sentence: what it was fitted on."""
    repeats: int
    """(sentence, code) pairs where a code given to the sentence before was given again."""
    carried: int
    """(sentence, code) pairs where a code was given to the sentence before (repeats included)."""
    threshold: float = 0.0
    scale: float = 1.0
    """``t`` and ``σ`` of the offsets it was fitted on."""

    def proba(self, offset: np.ndarray) -> np.ndarray:
        """P(the code applies) for codes given to the sentence before, from their zero-shot offsets."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.a * np.asarray(offset, dtype=np.float64) + self.b, -40, 40)))

    def proba_at(self, similarity: np.ndarray) -> np.ndarray:
        """The same from their zero-shot similarities."""
        return self.proba((np.asarray(similarity, dtype=np.float64) - self.threshold) / self.scale)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> CarryModel | None:
        """The model a learned run stored, or None (none fitted, or an older run)."""
        if not text:
            return None
        try:
            d = json.loads(text)
            return cls(
                float(d["a"]),
                float(d["b"]),
                int(d["pairs"]),
                int(d["repeats"]),
                int(d["carried"]),
                float(d["threshold"]),
                float(d["scale"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a carry model ({type(e).__name__}: {e})") from None


def _fit(offset: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of a two-parameter logistic fit, ``a`` pulled toward 1 and ``b`` toward 0 (deterministic)."""
    from scipy.optimize import minimize

    yf = y.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta
        z = a * offset + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        nll = float(np.sum(np.logaddexp(0.0, z) - yf * z)) + 0.5 * L2 * ((a - 1.0) ** 2 + b * b)
        r = p - yf
        return nll, np.array([float(r @ offset) + L2 * (a - 1.0), float(r.sum()) + L2 * b])

    theta = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(theta[0]), float(theta[1])


def _f1(counts: np.ndarray) -> float:
    return prf(*(int(c) for c in counts))[2]


def fit_carry(
    offset: np.ndarray,
    before: np.ndarray,
    given: np.ndarray,
    *,
    shown: np.ndarray | None = None,
    threshold: float = 0.0,
    scale: float = 1.0,
) -> CarryModel | None:
    """The carry model from a coder's answers, or None.

    ``offset``, ``before`` and ``given`` are (pairs × codes), one row per sentence she answered right after
    an answered sentence, in document order: the zero-shot offset ``(s0 − t) / σ`` of each code, whether
    she gave the code to the sentence before, and whether she gave it to this one. ``shown``: what is
    suggested there without carrying (the learned run's picks; by default the zero-shot ``offset >= 0``), which
    the carried codes must improve on. ``threshold`` and ``scale`` are kept with the model, for
    :meth:`CarryModel.proba_at`.
    """
    offset = np.asarray(offset, dtype=np.float64)
    before = np.asarray(before, dtype=bool)
    given = np.asarray(given, dtype=bool)
    shown = offset >= 0 if shown is None else np.asarray(shown, dtype=bool)
    n = len(offset)
    repeats = int((before & given).sum())
    if n == 0 or repeats < MIN_PAIRS or int((before & ~given).sum()) < MIN_PAIRS:
        return None
    fold = np.arange(n) * FOLDS // n  # contiguous thirds: neighbouring sentences stay together
    totals = np.zeros((2, 3))  # (shown, shown + carried) x (tp, fp, fn)
    worse = False
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        if not (before[train] & given[train]).any() or not (before[train] & ~given[train]).any():
            continue
        a, b = _fit(offset[train][before[train]], given[train][before[train]])
        base = shown[test]
        p = 1.0 / (1.0 + np.exp(-np.clip(a * offset[test] + b, -40, 40)))
        carried = base | (before[test] & (p >= CARRY_AT))
        y = given[test]
        here = np.array([[(pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()] for pred in (base, carried)])
        totals += here
        worse |= _f1(here[1]) < _f1(here[0])
    if worse or _f1(totals[1]) <= _f1(totals[0]):
        return None
    a, b = _fit(offset[before], given[before])
    return CarryModel(a, b, n, repeats, int(before.sum()), threshold, scale)
