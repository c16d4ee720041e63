"""Agreement coefficients against published worked examples and independent libraries."""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from coder import agreement as ag

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers x 12 units, missing values.
K = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_published_example(level, published):
    assert round(ag.krippendorff_alpha(K, level), 3) == published
    oracle = krippendorff.alpha(reliability_data=np.array(K, dtype=float), level_of_measurement=level)
    assert ag.krippendorff_alpha(K, level) == pytest.approx(oracle, abs=1e-9)


def test_cohen_textbook_table_and_sklearn_oracle():
    # 50 applications: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> p_o .7, p_e .5, kappa .4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4)
    rng = random.Random(1)
    for _ in range(20):
        x = [rng.randint(1, 4) for _ in range(60)]
        y = [v if rng.random() < 0.6 else rng.randint(1, 4) for v in x]
        for w in (None, "linear", "quadratic"):
            assert ag.cohen_kappa(x, y, weights=w) == pytest.approx(cohen_kappa_score(x, y, weights=w), abs=1e-12)


# Fleiss' kappa worked example (Wikipedia): 10 subjects, 14 raters, 5 categories -> 0.210
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def from_table(table):
    """Coders x units ratings from a subjects x categories count table."""
    units = [[c + 1 for c, n in enumerate(row) for _ in range(n)] for row in table]
    return [list(col) for col in zip(*units, strict=True)]


def test_fleiss_published_example_and_statsmodels_oracle():
    data = from_table(FLEISS_TABLE)
    assert round(ag.fleiss_kappa(data), 3) == 0.210
    assert ag.fleiss_kappa(data) == pytest.approx(sm_fleiss(np.array(FLEISS_TABLE)), abs=1e-12)
    rng = random.Random(2)
    for _ in range(20):
        truth = [rng.randint(0, 3) for _ in range(40)]
        ratings = [[t if rng.random() < 0.7 else rng.randint(0, 3) for t in truth] for _ in range(5)]
        table, _ = aggregate_raters(np.array(ratings).T)
        assert ag.fleiss_kappa(ratings) == pytest.approx(sm_fleiss(table), abs=1e-12)
        # Scott's pi is Fleiss' kappa for two coders; Krippendorff's alpha approaches it for large n
        assert ag.scott_pi(ratings[0], ratings[1]) == pytest.approx(
            sm_fleiss(aggregate_raters(np.array(ratings[:2]).T)[0]), abs=1e-12
        )


def test_gwet_ac1_and_brennan_prediger_by_hand():
    # 2 coders, 100 units: yes/yes 40, yes/no 10, no/yes 5, no/no 45
    a = ["y"] * 50 + ["n"] * 50
    b = ["y"] * 40 + ["n"] * 10 + ["y"] * 5 + ["n"] * 45
    data = [a, b]
    assert ag.percent_agreement(data) == pytest.approx(0.85)
    pi_y = (50 + 45) / 200
    pe = 2 * pi_y * (1 - pi_y)  # AC1 chance term for q = 2
    assert ag.gwet_ac1(data) == pytest.approx((0.85 - pe) / (1 - pe))
    assert ag.brennan_prediger(data) == pytest.approx(0.7) == ag.pabak(data)
    # the kappa paradox: high agreement on a rare code, low kappa, AC1 stays high
    rare_a = ["n"] * 95 + ["y"] * 5
    rare_b = ["n"] * 93 + ["y"] * 2 + ["n"] * 3 + ["y"] * 2
    assert ag.percent_agreement([rare_a, rare_b]) == pytest.approx(0.95)
    assert ag.cohen_kappa(rare_a, rare_b) < 0.5 < 0.9 < ag.gwet_ac1([rare_a, rare_b])


def test_missing_values_follow_gwet():
    # Gwet (2014): p_o over the units with two or more ratings, the shares pi_k over every rated unit
    data = [["a", "b", "a", None], ["a", "b", None, "b"], ["a", "a", None, "b"]]
    assert ag.percent_agreement(data) == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert ag.krippendorff_alpha(data) == pytest.approx(ag.krippendorff_alpha([r[:2] + r[3:] for r in data]))
    assert ag.cohen_kappa(data[0], data[1]) == pytest.approx(1.0)  # pairs: (a,a), (b,b)
    # by hand: units {a,a}, {a,b}, {b,b}, {a}, {b,a}: p_o = 2/4; pi_a = (1 + .5 + 0 + 1 + .5) / 5 = .6
    hand = [["a", "a", "b", "a", "b"], ["a", "b", "b", None, None], [None, None, None, None, "a"]]
    assert ag.fleiss_kappa(hand) == pytest.approx((0.5 - 0.52) / 0.48)
    assert ag.gwet_ac1(hand) == pytest.approx((0.5 - 0.48) / 0.52)
    s = ag.summarise(hand, n_boot=0)
    assert (s.kappa, s.ac1, s.units) == (pytest.approx((0.5 - 0.52) / 0.48), pytest.approx((0.5 - 0.48) / 0.52), 4)


def test_degenerate_cases():
    one = [["x"] * 5, ["x"] * 5]
    assert ag.percent_agreement(one) == 1.0
    assert math.isnan(ag.cohen_kappa(*one)) and math.isnan(ag.fleiss_kappa(one))
    assert math.isnan(ag.krippendorff_alpha(one)) and math.isnan(ag.scott_pi(*one))
    agree = [["x", "y", "x"], ["x", "y", "x"]]
    for f in (ag.fleiss_kappa, ag.krippendorff_alpha, ag.gwet_ac1, ag.brennan_prediger):
        assert f(agree) == pytest.approx(1.0)
    assert ag.cohen_kappa(*agree) == pytest.approx(1.0)
    missing = [[None, None], [None, None]]
    for f in (ag.percent_agreement, ag.fleiss_kappa, ag.krippendorff_alpha, ag.gwet_ac1):
        assert math.isnan(f(missing))
    assert math.isnan(ag.cohen_kappa([None], [None]))
    single = [["a"], ["b"], ["a"]]
    assert ag.percent_agreement(single) == pytest.approx(1 / 3)
    assert ag.fleiss_kappa(single) == pytest.approx(-0.5)  # p_o 1/3, p_e 5/9
    with pytest.raises(ValueError):
        ag.krippendorff_alpha([[1, 2], [1]])


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = random.Random(3)
    truth = [rng.randint(0, 2) for _ in range(80)]
    data = [[t if rng.random() < 0.8 else rng.randint(0, 2) for t in truth] for _ in range(3)]
    lo, hi = ag.bootstrap_ci(ag.krippendorff_alpha, data, n_boot=300, seed=5)
    assert (lo, hi) == ag.bootstrap_ci(ag.krippendorff_alpha, data, n_boot=300, seed=5)
    assert lo < ag.krippendorff_alpha(data) < hi
    assert (lo, hi) != ag.bootstrap_ci(ag.krippendorff_alpha, data, n_boot=300, seed=6)


def test_verdict_thresholds():
    assert [ag.verdict(x) for x in (0.85, 0.7, 0.5)] == ["reliable", "tentative", "unreliable"]
    assert ag.verdict(0.75, reliable=0.7) == "reliable" and ag.verdict(float("nan")) == "undefined"


def _random_data(rng, coders, units, cats, missing):
    truth = [rng.randrange(cats) for _ in range(units)]
    return [
        [None if rng.random() < missing else (t if rng.random() < 0.7 else rng.randrange(cats)) for t in truth]
        for _ in range(coders)
    ]


@pytest.mark.parametrize("coders", [2, 3, 5])
def test_summarise_matches_the_reference_functions(coders):
    rng = random.Random(coders)
    for trial in range(15):
        data = _random_data(rng, coders, rng.randint(2, 60), rng.randint(2, 5), 0.2 * (trial % 3))
        s = ag.summarise(data, n_boot=0)
        assert s.units == len(ag._units(data))
        assert s.percent == pytest.approx(ag.percent_agreement(data), nan_ok=True)
        assert s.alpha == pytest.approx(ag.krippendorff_alpha(data), nan_ok=True)
        assert s.ac1 == pytest.approx(ag.gwet_ac1(data), nan_ok=True)
        assert s.brennan_prediger == pytest.approx(ag.brennan_prediger(data), nan_ok=True)
        expected = ag.cohen_kappa(*data) if coders == 2 else ag.fleiss_kappa(data)
        assert s.kappa == pytest.approx(expected, nan_ok=True)
        assert s.kappa_name == ("Cohen" if coders == 2 else "Fleiss")


def test_fleiss_1971_diagnoses():
    # Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses -> kappa .430. The table is taken from
    # statsmodels' own test suite (an independent transcription of the paper), not retyped here.
    from statsmodels.stats.tests.test_inter_rater import diagnoses

    data = diagnoses.T.tolist()
    assert len(data) == 6 and len(data[0]) == 30
    assert round(ag.fleiss_kappa(data), 3) == 0.430
    assert ag.summarise(data, n_boot=0).kappa == pytest.approx(0.4302445, abs=1e-7)
    assert ag.krippendorff_alpha(data) == pytest.approx(
        krippendorff.alpha(reliability_data=np.array(data, dtype=float), level_of_measurement="nominal")
    )


def test_summarise_checks_categories_and_counts_undefined_resamples():
    with pytest.raises(ValueError, match="not among the categories"):
        ag.summarise([["a", "b"], ["a", "c"]], categories=["a", "b"])
    # one disagreement in 200 units: many resamples hold no variation, and are counted, not hidden
    rare = ag.summarise([[False] * 199 + [True], [False] * 200], n_boot=500)
    assert 0 < rare.alpha_undefined < 500
    assert ag.summarise(_random_data(random.Random(4), 2, 80, 2, 0.0), n_boot=200).alpha_undefined == 0


def test_summarise_degenerate_cases():
    one = ag.summarise([["x"] * 5, ["x"] * 5])
    assert one.percent == 1.0 and one.ac1 == 1.0 and one.shares == {"x": 1.0}
    assert math.isnan(one.kappa) and math.isnan(one.alpha) and all(math.isnan(v) for v in one.alpha_ci)
    empty = ag.summarise([[None, None], [None, None]])
    assert empty.units == 0 and math.isnan(empty.percent) and math.isnan(empty.alpha) and empty.shares == {}
    assert ag.summarise([], n_boot=10).units == 0
    single = ag.summarise([["a"], ["b"], ["a"]], n_boot=0)
    assert single.kappa == pytest.approx(-0.5) and single.units == 1


def test_summarise_bootstrap_is_seeded_and_matches_a_unit_bootstrap():
    rng = random.Random(7)
    data = _random_data(rng, 2, 120, 2, 0.0)
    s = ag.summarise(data, n_boot=2000, seed=1)
    assert s == ag.summarise(data, n_boot=2000, seed=1)
    assert s.alpha_ci != ag.summarise(data, n_boot=2000, seed=2).alpha_ci
    assert s.alpha_ci[0] < s.alpha < s.alpha_ci[1] and s.kappa_ci[0] < s.kappa < s.kappa_ci[1]
    # redrawing pattern counts is the same resampling as redrawing units: the intervals agree closely
    lo, hi = ag.bootstrap_ci(ag.krippendorff_alpha, data, n_boot=2000, seed=1)
    assert s.alpha_ci[0] == pytest.approx(lo, abs=0.03) and s.alpha_ci[1] == pytest.approx(hi, abs=0.03)


def test_cluster_bootstrap_resamples_whole_clusters():
    rng = random.Random(11)
    # 60 sentences x 4 codes, pooled: a sentence's codes move together in a resample
    units = [_random_data(rng, 2, 4, 2, 0.0) for _ in range(60)]
    data = [[v for u in units for v in u[c]] for c in range(2)]
    clusters = [i for i in range(60) for _ in range(4)]
    s = ag.summarise(data, n_boot=2000, seed=3, clusters=clusters)
    assert s.alpha == ag.summarise(data, n_boot=0).alpha  # the point estimate does not depend on clusters
    # oracle: a plain loop that redraws sentences and recomputes alpha with the reference function
    r = random.Random(3)
    boot = []
    for _ in range(1000):
        pick = [r.randrange(60) for _ in range(60)]
        boot.append(ag.krippendorff_alpha([[v for i in pick for v in units[i][c]] for c in range(2)]))
    boot.sort()
    assert s.alpha_ci[0] == pytest.approx(boot[25], abs=0.04) and s.alpha_ci[1] == pytest.approx(boot[974], abs=0.04)
    with pytest.raises(ValueError):
        ag.summarise(data, clusters=[1, 2])


def test_clustered_counts_give_exactly_the_full_table_result():
    from collections import Counter

    rng = random.Random(12)
    units = [_random_data(rng, 3, rng.randint(1, 6), 2, 0.1) for _ in range(40)]
    data = [[v for u in units for v in u[c]] for c in range(3)]
    clusters = [i for i, u in enumerate(units) for _ in u[0]]
    counted = [Counter(zip(*u, strict=True)) for u in units]
    assert ag.summarise_clustered(counted, 3, n_boot=300, seed=4) == ag.summarise(
        data, clusters=clusters, n_boot=300, seed=4
    )


def test_clustered_counts_ignore_zero_counts_and_check_widths():
    from collections import Counter

    a = [Counter({(True, True): 2}), Counter({(True, False): 1, (False, False): 1})]
    b = [Counter({(True, True): 2, (False, False): 0}), Counter({(True, False): 1, (False, False): 1})]
    assert ag.summarise_clustered(a, 2, n_boot=200, seed=1) == ag.summarise_clustered(iter(b), 2, n_boot=200, seed=1)
    with pytest.raises(ValueError, match="one label per coder"):
        ag.summarise_clustered([Counter({(True,): 1})], 2)


def test_counted_patterns_give_exactly_the_full_table_result():
    from collections import Counter

    rng = random.Random(21)
    for m in (2, 3):
        units = [_random_data(rng, m, rng.randint(1, 6), 3, 0.1) for _ in range(40)]
        data = [[v for u in units for v in u[c]] for c in range(m)]
        clusters = [i for i, u in enumerate(units) for _ in u[0]]
        counted = Counter(zip(*data, strict=True))
        kinds = Counter(tuple(Counter(zip(*u, strict=True)).items()) for u in units)
        plain = ag.summarise(data, n_boot=300, seed=5)
        assert repr(ag.summarise_patterns(counted, m, n_boot=300, seed=5)) == repr(plain)
        assert plain.resamples == 300
        pooled = ag.summarise(data, clusters=clusters, n_boot=300, seed=5)
        assert repr(ag.summarise_patterns(counted, m, n_boot=300, seed=5, clusters=kinds)) == repr(pooled)
        # a cap the data stay under changes nothing
        assert repr(ag.summarise_patterns(counted, m, n_boot=300, seed=5, max_draws=10**9)) == repr(plain)
    with pytest.raises(ValueError, match="do not add up"):
        ag.summarise_patterns(Counter({(True, True): 2}), 2, clusters={(((True, True), 1),): 1})
    with pytest.raises(ValueError, match="one label per coder"):
        ag.summarise_patterns(Counter({(True,): 1}), 2)


def test_resamples_are_capped_only_on_very_many_patterns():
    from collections import Counter

    assert ag.resamples_for(1000, 4, ag.MAX_DRAWS) == 1000
    assert ag.resamples_for(1000, 1000, ag.MAX_DRAWS) == 1000  # exactly at the cap
    assert ag.resamples_for(1000, 4820, ag.MAX_DRAWS) == 207
    assert ag.resamples_for(1000, 10**6, ag.MAX_DRAWS) == ag.MIN_RESAMPLES  # never fewer than that
    assert ag.resamples_for(100, 10**6, ag.MAX_DRAWS) == 100  # nor more than asked for
    assert ag.resamples_for(1000, 10**6, None) == 1000
    counted = Counter({(a, b): 1 + (a * 7 + b) % 5 for a in range(30) for b in range(30)})  # 900 patterns
    s = ag.summarise_patterns(counted, 2, n_boot=1000, seed=2, max_draws=300_000)
    assert s.resamples == 333
    same = ag.summarise_patterns(counted, 2, n_boot=333, seed=2)  # the capped run is the first 333 resamples
    assert (s.alpha, s.alpha_ci, s.kappa_ci) == (same.alpha, same.alpha_ci, same.kappa_ci)
