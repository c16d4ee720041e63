"""Metrics and result records of `benchmarks/curves.py` (pure: gold and picks in, numbers out)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coder import evaluate as ev

UNCERTAIN = ", uncertain first"
LEARNERS = ["learned.v1", "learned.v2", "learned.v2" + UNCERTAIN]
"""The learned arms, in order: a learner's name, reviewed in document order, or with :data:`UNCERTAIN` after it,
reviewed as `coder review --order uncertain` orders the queue. One that Project.learn does not know yet is
skipped with a note."""


def arm_spec(name: str) -> tuple[str, str]:
    """(learner, review order) of an arm's name in :data:`LEARNERS`."""
    return (name.removesuffix(UNCERTAIN), "uncertain") if name.endswith(UNCERTAIN) else (name, "document")


CHECKPOINTS = (0, 5, 10, 20, 40)
"""% of the review half's units reviewed."""
CALIBRATION_AT = (10, 20)
RELIABILITY_AT = 20
NONE = "(no suggestion)"


@dataclass
class Point:
    pct: int
    reviewed: int
    decisions: int
    kappa: float
    f1: float
    """micro-F1 (multi-label data sets) or accuracy of the best code (single-label)."""
    precision: float
    recall: float
    unsuggested: float
    """Share of held-out units with no suggestion."""
    ece: float | None = None
    """ECE over every (held-out unit, code) pair of the codes the run says are calibrated."""
    ece_shown: float | None = None
    """The same over the pairs the review queue would show (suggested by either run)."""
    reliability: tuple[np.ndarray, np.ndarray] | None = None
    calibrated: int = 0
    """How many codes the run says are calibrated (only those get an ECE)."""
    seconds: float = 0.0
    older: dict[str, float] | None = None
    """Zero-shot only: similarity.v1's figures on the same run (``kappa``, ``f1``), scored in memory."""


@dataclass
class Arm:
    name: str
    runs: list[list[Point]] = field(default_factory=list)
    setting: str = ""
    """The learned run's method and threshold, as the run records them."""


# -- metrics (pure) -----------------------------------------------------------------------------------


def multiclass_kappa(gold: list[str], pred: list[str]) -> float:
    """Cohen's κ of two raters' single labels (a label only one of them uses counts too)."""
    n = len(gold)
    if n == 0:
        return float("nan")
    labels = sorted(set(gold) | set(pred))
    idx = {c: i for i, c in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)))
    for g, p in zip(gold, pred, strict=True):
        m[idx[g], idx[p]] += 1
    po = np.trace(m) / n
    pe = float((m.sum(axis=1) * m.sum(axis=0)).sum()) / (n * n)
    return 1.0 if pe == 1 else float((po - pe) / (1 - pe))


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins: Σ_b (n_b / n)·|mean p_b − mean y_b|."""
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not len(p):
        return float("nan")
    b = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        sel = b == k
        if sel.any():
            total += sel.sum() / len(p) * abs(p[sel].mean() - y[sel].mean())
    return total


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean probability, observed frequency, count) per non-empty equal-width bin."""
    b = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    return [
        (float(p[b == k].mean()), float(y[b == k].mean()), int((b == k).sum())) for k in range(bins) if (b == k).any()
    ]


def agreement(ds, picks: dict[int, list[tuple[int, str]]]) -> tuple[float, float, float, float, float]:
    """κ, F1 (single-label: accuracy), precision, recall (single-label: nan) of the machine's picks against
    gold on the held-out units, and the share of those units it suggests nothing for."""
    held = ds.held_units
    unsuggested = float(np.mean([not picks.get(u) for u in held]))
    if ds.kind == "single":  # the best suggestion (rank 1) against the one expert label; none = its own class
        gold = [next(iter(ds.gold[u])) if ds.gold[u] else NONE for u in held]
        pred = [min(picks[u])[1] if picks.get(u) else NONE for u in held]
        acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
        return multiclass_kappa(gold, pred), acc, float("nan"), float("nan"), unsuggested
    g = {(u, c) for u in held for c in ds.gold[u]}
    p = {(u, c) for u in held for _, c in picks.get(u, [])}
    tp, fp, fn = len(g & p), len(p - g), len(g - p)
    tn = len(held) * len(ds.codes) - tp - fp - fn  # pooled over every (unit, code) pair
    prec, rec, f1 = ev.prf(tp, fp, fn)
    return ev.binary_kappa(tp, fp, fn, tn), f1, prec, rec, unsuggested
