"""Suggestion quality against a gold coding. Pure: sets of (segment, code path) in, rows out.

Two granularities: *exact* (the suggested code path equals the gold path) and per *top-level
category* (the segment has some code of that category in both). Cohen's kappa per category is
computed on the binary presence of the category over all coded segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from coder.types import PATH_SEP

Coding = tuple[int, str]


def top_level(path: str) -> str:
    return path.split(PATH_SEP, 1)[0]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def binary_kappa(tp: int, fp: int, fn: int, tn: int) -> float:
    """Cohen's kappa of two binary raters from their 2×2 table."""
    n = tp + fp + fn + tn
    if n == 0:
        return float("nan")
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


@dataclass(frozen=True)
class Row:
    label: str
    gold: int
    predicted: int
    tp: int
    precision: float
    recall: float
    f1: float
    kappa: float


def _row(label: str, gold: set[int], pred: set[int], n_units: int) -> Row:
    tp = len(gold & pred)
    fp = len(pred - gold)
    fn = len(gold - pred)
    p, r, f = prf(tp, fp, fn)
    return Row(label, len(gold), len(pred), tp, p, r, f, binary_kappa(tp, fp, fn, n_units - tp - fp - fn))


def _rows(
    gold: Iterable[Coding],
    predicted: Iterable[Coding],
    units: Sequence[int],
    labels: Sequence[str],
    key: Callable[[str], str],
) -> list[Row]:
    g: dict[str, set[int]] = {c: set() for c in labels}
    p: dict[str, set[int]] = {c: set() for c in labels}
    for seg, path in gold:
        g.setdefault(key(path), set()).add(seg)
    for seg, path in predicted:
        p.setdefault(key(path), set()).add(seg)
    return [_row(c, g[c], p[c], len(units)) for c in labels]


def by_category(
    gold: Iterable[Coding], predicted: Iterable[Coding], units: Sequence[int], categories: Sequence[str]
) -> list[Row]:
    """One row per top-level category: segments with some code of it, gold vs predicted."""
    return _rows(gold, predicted, units, categories, top_level)


def by_code(
    gold: Iterable[Coding], predicted: Iterable[Coding], units: Sequence[int], codes: Sequence[str]
) -> list[Row]:
    """One row per code path, exact match."""
    return _rows(gold, predicted, units, codes, lambda path: path)


def micro(rows: Sequence[Row]) -> tuple[float, float, float]:
    tp = sum(r.tp for r in rows)
    return prf(tp, sum(r.predicted for r in rows) - tp, sum(r.gold for r in rows) - tp)


def macro(rows: Sequence[Row]) -> tuple[float, float, float, float]:
    """Mean precision, recall, F1 and kappa over rows that have gold or predicted items."""
    live = [r for r in rows if r.gold or r.predicted]
    if not live:
        return 0.0, 0.0, 0.0, 0.0
    n = len(live)
    return (
        sum(r.precision for r in live) / n,
        sum(r.recall for r in live) / n,
        sum(r.f1 for r in live) / n,
        sum(r.kappa for r in live if r.kappa == r.kappa) / n,
    )
