from __future__ import annotations

import math

from sklearn.metrics import cohen_kappa_score

from coder import evaluate as ev


def test_prf_and_micro_macro_by_hand():
    gold = {(1, "A > x"), (2, "A > y"), (3, "B"), (4, "B")}
    pred = {(1, "A > y"), (2, "A > y"), (3, "B"), (5, "B")}
    cats = ev.by_category(gold, pred, [1, 2, 3, 4, 5, 6], ["A", "B"])
    a, b = cats
    assert (a.gold, a.predicted, a.tp, a.precision, a.recall) == (2, 2, 2, 1.0, 1.0)
    assert (b.gold, b.predicted, b.tp) == (2, 2, 1) and math.isclose(b.f1, 0.5)
    assert ev.micro(cats) == (0.75, 0.75, 0.75)
    codes = ev.by_code(gold, pred, [1, 2, 3, 4, 5, 6], ["A > x", "A > y", "B"])
    assert [r.tp for r in codes] == [0, 1, 1]
    p, r, _f = ev.micro(codes)
    assert math.isclose(p, 0.5) and math.isclose(r, 0.5)
    assert ev.prf(0, 0, 0) == (0.0, 0.0, 0.0)


def test_binary_kappa_matches_sklearn():
    rater_a = [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]
    rater_b = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1]
    tp = sum(a and b for a, b in zip(rater_a, rater_b, strict=True))
    fp = sum(b and not a for a, b in zip(rater_a, rater_b, strict=True))
    fn = sum(a and not b for a, b in zip(rater_a, rater_b, strict=True))
    tn = len(rater_a) - tp - fp - fn
    assert math.isclose(ev.binary_kappa(tp, fp, fn, tn), cohen_kappa_score(rater_a, rater_b))
    assert ev.binary_kappa(0, 0, 0, 5) == 1.0
