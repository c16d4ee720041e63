"""Inter-coder agreement coefficients. Pure functions on reliability data.

Reliability data is a coders × units matrix of labels: ``data[c][u]`` is what coder ``c`` gave
unit ``u``; any hashable label; ``None`` = missing. A unit rated by fewer than two coders carries
no information and is left out (Gwet, 2014). Every coefficient is ``(p_o - p_e) / (1 - p_e)`` with
its own chance term ``p_e``, *subtracted* in the numerator and the denominator; Krippendorff's α
is ``1 - D_o / D_e``. A coefficient that is undefined (chance agreement 1, nothing pairable)
is ``nan``, never a made-up number.

Checked against published worked examples and independent libraries (scikit-learn, statsmodels,
krippendorff) in ``tests/test_agreement.py``.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Label = Hashable | None
Data = Sequence[Sequence[Label]]
NAN = float("nan")
LEVELS = ("nominal", "ordinal", "interval", "ratio")
Kind = tuple[tuple[tuple[Label, ...], int], ...]  # a cluster's make-up: (rating pattern, units) pairs
Kinds = Counter[Kind]  # each make-up, and how many clusters have it


def _units(data: Data, minimum: int = 2) -> list[list[Hashable]]:
    """The non-missing ratings of each unit that has at least ``minimum`` of them."""
    if not data:
        return []
    n_units = len(data[0])
    if any(len(row) != n_units for row in data):
        raise ValueError("every coder needs one value per unit (use None for missing)")
    out = []
    for u in range(n_units):
        values = [row[u] for row in data if row[u] is not None]
        if len(values) >= minimum:
            out.append(values)
    return out


def _kappa(p_o: float, p_e: float) -> float:
    if math.isnan(p_o) or p_e >= 1.0:
        return NAN
    return (p_o - p_e) / (1.0 - p_e)


def observed_agreement(data: Data) -> float:
    """Mean over units of the share of agreeing coder pairs (the p_o of Fleiss, Gwet, Brennan–Prediger)."""
    units = _units(data)
    if not units:
        return NAN
    total = 0.0
    for values in units:
        r = len(values)
        counts = Counter(values)
        total += sum(n * (n - 1) for n in counts.values()) / (r * (r - 1))
    return total / len(units)


def percent_agreement(data: Data) -> float:
    """Share of agreeing coder pairs, averaged over units (for two coders: share of units agreed on)."""
    return observed_agreement(data)


def _category_shares(units: list[list[Hashable]]) -> dict[Hashable, float]:
    """π_k: the mean over units of the share of a unit's ratings in category k."""
    shares: defaultdict[Hashable, float] = defaultdict(float)
    for values in units:
        for k, n in Counter(values).items():
            shares[k] += n / len(values)
    return {k: v / len(units) for k, v in shares.items()}


def fleiss_kappa(data: Data) -> float:
    """Fleiss' (1971) κ, any number of coders; missing values as in Gwet (2014).

    With missing values, p_o is averaged over the units with two or more ratings and the category
    shares π_k over every unit with at least one (Gwet 2014, ch. 2; irrCAC does the same).
    """
    if not _units(data):
        return NAN
    p_e = sum(p * p for p in _category_shares(_units(data, 1)).values())
    return _kappa(observed_agreement(data), p_e)


def gwet_ac1(data: Data, categories: Sequence[Hashable] | None = None) -> float:
    """Gwet's AC1 (2008): chance agreement from how far category use is from uniform (missing values as
    in :func:`fleiss_kappa`)."""
    if not _units(data):
        return NAN
    shares = _category_shares(_units(data, 1))
    q = len(categories) if categories is not None else len(shares)
    if q < 2:
        return NAN if observed_agreement(data) < 1 else 1.0
    p_e = sum(p * (1 - p) for p in shares.values()) / (q - 1)
    return _kappa(observed_agreement(data), p_e)


def brennan_prediger(data: Data, categories: Sequence[Hashable] | None = None) -> float:
    """Brennan & Prediger's (1981) κ_n, chance = 1/q; with two categories this is PABAK."""
    if not _units(data):
        return NAN
    q = len(categories) if categories is not None else len({v for u in _units(data, 1) for v in u})
    if q < 2:
        return NAN if observed_agreement(data) < 1 else 1.0
    return _kappa(observed_agreement(data), 1.0 / q)


pabak = brennan_prediger


def _pairs(a: Sequence[Label], b: Sequence[Label]) -> list[tuple[Hashable, Hashable]]:
    if len(a) != len(b):
        raise ValueError("both coders need one value per unit")
    return [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]


def cohen_kappa(
    a: Sequence[Label],
    b: Sequence[Label],
    weights: str | None = None,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's (1960) κ for two coders; ``weights`` 'linear' or 'quadratic' for ordered categories.

    Units either coder left missing are dropped. ``categories`` fixes the order (and set) of
    categories for the weights; by default the sorted labels seen.
    """
    pairs = _pairs(a, b)
    if not pairs:
        return NAN
    cats = list(categories) if categories is not None else sorted({v for p in pairs for v in p}, key=_order_key)
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    n = len(pairs)
    obs = [[0.0] * k for _ in range(k)]
    for x, y in pairs:
        obs[index[x]][index[y]] += 1 / n
    row = [sum(obs[i]) for i in range(k)]
    col = [sum(obs[i][j] for i in range(k)) for j in range(k)]

    def w(i: int, j: int) -> float:  # disagreement weight
        if weights is None:
            return 0.0 if i == j else 1.0
        d = abs(i - j) / (k - 1) if k > 1 else 0.0
        if weights == "linear":
            return d
        if weights == "quadratic":
            return d * d
        raise ValueError("weights must be None, 'linear' or 'quadratic'")

    d_o = sum(w(i, j) * obs[i][j] for i in range(k) for j in range(k))
    d_e = sum(w(i, j) * row[i] * col[j] for i in range(k) for j in range(k))
    if d_e == 0:
        return NAN
    return 1.0 - d_o / d_e


def scott_pi(a: Sequence[Label], b: Sequence[Label]) -> float:
    """Scott's (1955) π for two coders: chance from the pooled category shares."""
    pairs = _pairs(a, b)
    if not pairs:
        return NAN
    p_o = sum(x == y for x, y in pairs) / len(pairs)
    pooled = Counter(v for p in pairs for v in p)
    p_e = sum((c / (2 * len(pairs))) ** 2 for c in pooled.values())
    return _kappa(p_o, p_e)


def _order_key(v: Hashable) -> tuple[int, object]:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def krippendorff_alpha(data: Data, level: str = "nominal") -> float:
    """Krippendorff's α (coincidence-matrix form), any number of coders, missing values allowed.

    ``level``: 'nominal', 'ordinal' (ranks of the sorted values), 'interval' or 'ratio' (numeric labels).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    units = _units(data)
    if not units:
        return NAN
    coincidences: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in units:
        m = len(values)
        counts = Counter(values)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                if pairs:
                    coincidences[(c, k)] += pairs / (m - 1)
    n_c: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), v in coincidences.items():
        n_c[c] += v
    n = sum(n_c.values())
    values_sorted = sorted(n_c, key=_order_key)

    if level == "ordinal":
        pos = {v: i for i, v in enumerate(values_sorted)}

        def delta(c: Hashable, k: Hashable) -> float:
            lo, hi = sorted((pos[c], pos[k]))
            between = sum(n_c[values_sorted[g]] for g in range(lo, hi + 1))
            return (between - (n_c[c] + n_c[k]) / 2) ** 2
    elif level == "interval":

        def delta(c: Hashable, k: Hashable) -> float:
            return (float(c) - float(k)) ** 2  # type: ignore[arg-type]
    elif level == "ratio":

        def delta(c: Hashable, k: Hashable) -> float:
            x, y = float(c), float(k)  # type: ignore[arg-type]
            return ((x - y) / (x + y)) ** 2 if x + y else 0.0
    else:

        def delta(c: Hashable, k: Hashable) -> float:
            return 0.0 if c == k else 1.0

    d_o = sum(v * delta(c, k) for (c, k), v in coincidences.items()) / n
    d_e = sum(n_c[c] * n_c[k] * delta(c, k) for c in n_c for k in n_c) / (n * (n - 1)) if n > 1 else 0.0
    if d_e == 0:
        return NAN
    return 1.0 - d_o / d_e


def bootstrap_ci(
    statistic: Callable[[Data], float],
    data: Data,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a coefficient, resampling units with replacement.

    Seeded, so the same data and seed give the same interval. (This is the plain unit bootstrap;
    Hayes & Krippendorff's (2007) macro resamples pairable values instead.)
    """
    if not data or not data[0]:
        return NAN, NAN
    rng = random.Random(seed)
    n_units = len(data[0])
    stats = []
    for _ in range(n_boot):
        idx = [rng.randrange(n_units) for _ in range(n_units)]
        s = statistic([[row[i] for i in idx] for row in data])
        if not math.isnan(s):
            stats.append(s)
    if not stats:
        return NAN, NAN
    stats.sort()
    lo = stats[math.floor((1 - level) / 2 * (len(stats) - 1))]
    hi = stats[math.ceil((1 + level) / 2 * (len(stats) - 1))]
    return lo, hi


def verdict(alpha: float, *, reliable: float = 0.800, tentative: float = 0.667) -> str:
    """Krippendorff's (2004) thresholds: ≥ .800 reliable, ≥ .667 tentative conclusions only."""
    if math.isnan(alpha):
        return "undefined"
    if alpha >= reliable:
        return "reliable"
    if alpha >= tentative:
        return "tentative"
    return "unreliable"


# -- the report engine: nominal coefficients from unit patterns, bootstrapped in one pass ---------------------
#
# Every nominal coefficient above is a sum over units. Units with the same ratings (a "pattern": for two
# coders and one code there are at most four) contribute the same amount, so the data compress to
# (pattern, count) pairs, and a bootstrap resample is just a new vector of counts drawn from a multinomial.
# ``summarise`` computes the point estimates and ``n_boot`` resamples as matrix products over the patterns:
# milliseconds per code instead of seconds. Tests check it against the functions above on random data.


@dataclass(frozen=True)
class Summary:
    """Nominal agreement on one set of reliability data, with bootstrap intervals."""

    coders: int
    units: int  # units with at least two ratings
    percent: float
    kappa: float  # Cohen's κ for two coders, Fleiss' κ for more
    kappa_name: str
    kappa_ci: tuple[float, float]
    alpha: float
    alpha_ci: tuple[float, float]
    ac1: float
    brennan_prediger: float
    shares: dict[Hashable, float]  # π_k: share of ratings in each category (prevalence)
    alpha_undefined: int = 0  # bootstrap resamples in which α was undefined (left out of the interval)
    resamples: int = 0  # bootstrap resamples drawn (fewer than asked when capped: see resamples_for)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _kappas(p_o: np.ndarray, p_e: np.ndarray) -> np.ndarray:
    return _ratio(p_o - p_e, np.where(p_e < 1 - 1e-12, 1.0 - p_e, 0.0))


class _Patterns:
    """Reliability data as distinct unit patterns (pairable units only) and how often each occurs."""

    def __init__(
        self, columns: Counter[tuple[Label, ...]], m: int, categories: Sequence[Hashable] | None = None
    ) -> None:
        self.m = m
        # a canonical order, so the same data give the same resamples however they were counted
        self.patterns = sorted(
            (p for p in columns if any(v is not None for v in p)), key=lambda p: [_order_key(v) for v in p]
        )
        self.index = {p: i for i, p in enumerate(self.patterns)}
        self.counts = np.array([columns[p] for p in self.patterns], dtype=float)
        seen = {v for p in self.patterns for v in p if v is not None}
        self.categories = list(categories) if categories is not None else sorted(seen, key=_order_key)
        self.q = len(self.categories) if categories is not None else len(seen)
        index = {c: i for i, c in enumerate(self.categories)}
        unknown = seen - set(index)
        if unknown:
            raise ValueError(f"labels not among the categories given: {sorted(map(str, unknown))}")
        k = len(self.categories)
        self.n = np.zeros((len(self.patterns), k))  # ratings per category in each pattern
        for i, p in enumerate(self.patterns):
            for v in p:
                if v is not None:
                    self.n[i, index[v]] += 1
        r = self.n.sum(axis=1)
        # p_o and α use the units with two or more ratings; the category shares π use every rated unit
        self.pairable = (r >= 2).astype(float)
        r_pair = np.where(r >= 2, r, 2.0)
        self.agree = self.pairable * (self.n * (self.n - 1)).sum(axis=1) / (r_pair * (r_pair - 1))
        self.share = self.n / r[:, None] if len(r) else self.n
        self.n_pairable = self.n * self.pairable[:, None]
        self.disagree = self.pairable * (r * r - (self.n**2).sum(axis=1)) / (r_pair - 1)
        if self.m == 2:
            both = [i for i, p in enumerate(self.patterns) if None not in p]
            self.pair = np.zeros(len(self.patterns))
            self.pair[both] = 1.0
            self.a = np.zeros_like(self.n)
            self.b = np.zeros_like(self.n)
            for i in both:
                self.a[i, index[self.patterns[i][0]]] = 1.0
                self.b[i, index[self.patterns[i][1]]] = 1.0

    def coefficients(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """Every coefficient for each row of unit counts ``w`` (shape: draws × patterns)."""
        p_o = _ratio(w @ self.agree, w @ self.pairable)
        pi = _ratio(w @ self.share, w.sum(axis=1)[:, None])
        out = {"percent": p_o}
        fleiss = _kappas(p_o, (pi**2).sum(axis=1))
        if self.q >= 2:
            out["ac1"] = _kappas(p_o, (pi * (1 - pi)).sum(axis=1) / (self.q - 1))
            out["brennan_prediger"] = _kappas(p_o, np.full_like(p_o, 1.0 / self.q))
        else:  # one category: perfect agreement is all there is to say
            out["ac1"] = out["brennan_prediger"] = np.where(p_o >= 1.0, 1.0, np.nan)
        n_c = w @ self.n_pairable
        total = n_c.sum(axis=1)
        out["alpha"] = 1.0 - _ratio((total - 1) * (w @ self.disagree), total**2 - (n_c**2).sum(axis=1))
        if self.m == 2:
            pairs = w @ self.pair
            row, col = _ratio(w @ self.a, pairs[:, None]), _ratio(w @ self.b, pairs[:, None])
            equal = _ratio(w @ (self.a * self.b).sum(axis=1), pairs)
            out["kappa"] = _kappas(equal, (row * col).sum(axis=1))
        else:
            out["kappa"] = fleiss
        return out

    @classmethod
    def of(cls, data: Data, categories: Sequence[Hashable] | None = None) -> _Patterns:
        if data and any(len(row) != len(data[0]) for row in data):
            raise ValueError("every coder needs one value per unit (use None for missing)")
        return cls(Counter(zip(*data, strict=True)) if data else Counter(), len(data), categories)

    def cluster_rows(self, kinds: Kinds) -> tuple[np.ndarray, np.ndarray]:
        """For resampling whole clusters (e.g. all the codes of one unit): each distinct make-up of a cluster
        as a row of pattern counts, and how many clusters have it. ``kinds``: each make-up as ``(pattern,
        units)`` pairs, and how many clusters have it."""
        rows: Counter[tuple[tuple[int, int], ...]] = Counter()
        for kind, times in kinds.items():
            rows[tuple(sorted((self.index[p], n) for p, n in kind if p in self.index))] += times
        rows = Counter(dict(sorted(rows.items())))
        m = np.zeros((len(rows), len(self.patterns)))
        for r, row in enumerate(rows):
            for i, n in row:
                m[r, i] = n
        return m, np.array(list(rows.values()), dtype=float)


def _kinds(clusters: Sequence[Counter[tuple[Label, ...]]]) -> Kinds:
    return Counter(tuple(c.items()) for c in clusters)


MAX_DRAWS = 1_000_000
"""Counts a capped bootstrap draws at most (resamples × distinct patterns): a fraction of a second."""
MIN_RESAMPLES = 200


def resamples_for(n_boot: int, patterns: int, max_draws: int | None = None) -> int:
    """How many resamples a bootstrap over ``patterns`` distinct unit patterns draws: ``n_boot``, unless that
    means drawing more than ``max_draws`` counts (each resample draws one count per pattern); then as many as
    fit, but never fewer than :data:`MIN_RESAMPLES` (nor more than ``n_boot``)."""
    if max_draws is None or n_boot * patterns <= max_draws:
        return n_boot
    return min(n_boot, max(MIN_RESAMPLES, max_draws // max(patterns, 1)))


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    v = np.sort(values[~np.isnan(values)])
    if not len(v):
        return NAN, NAN
    return float(v[math.floor((1 - level) / 2 * (len(v) - 1))]), float(v[math.ceil((1 + level) / 2 * (len(v) - 1))])


def summarise(
    data: Data,
    *,
    categories: Sequence[Hashable] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    clusters: Sequence[Hashable] | None = None,
) -> Summary:
    """Percent agreement, κ (Cohen for two coders, Fleiss for more), α, AC1 and κ_n, with bootstrap CIs.

    Nominal data, missing values allowed (``None``). The intervals are percentile intervals of
    ``n_boot`` resamples of the rated units, seeded, so a report is reproducible; resamples in which
    α is undefined (nobody varies: common for rare codes) are left out and counted in
    ``alpha_undefined``. ``clusters``
    (one id per unit) resamples whole clusters instead: for pooled data, where the units of one
    cluster (the codes of one sentence) are not independent.
    """
    composition = None
    if clusters is not None:
        if data and len(clusters) != len(data[0]):
            raise ValueError("one cluster id per unit")
        groups: dict[Hashable, Counter[tuple[Label, ...]]] = {}
        for j, c in enumerate(clusters):
            groups.setdefault(c, Counter())[tuple(row[j] for row in data)] += 1
        composition = list(groups.values())
    kinds = _kinds(composition) if composition is not None else None
    return _summarise(_Patterns.of(data, categories), kinds, n_boot=n_boot, level=level, seed=seed)


def summarise_patterns(
    patterns: Mapping[tuple[Label, ...], int],
    coders: int,
    *,
    categories: Sequence[Hashable] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    clusters: Mapping[Kind, int] | None = None,
    max_draws: int | None = None,
) -> Summary:
    """:func:`summarise` for data given as counts: how many units show each rating pattern (a tuple with one
    label per coder). The same result as ``summarise(data)`` without the coders × units table. ``clusters``
    resamples whole clusters as :func:`summarise_clustered` does, given as each distinct make-up of a cluster
    (its ``(pattern, units)`` pairs) and how many clusters have it; ``patterns`` is then their total.
    ``max_draws`` caps the resamples on data with very many distinct patterns (:func:`resamples_for`)."""
    if any(len(p) != coders for p in patterns):
        raise ValueError(f"every pattern needs one label per coder ({coders})")
    total = Counter({p: n for p, n in patterns.items() if n})
    kinds: Kinds | None = None
    if clusters is not None:
        kinds, brought = Counter(), Counter[tuple[Label, ...]]()
        for kind, times in clusters.items():
            if times:
                kinds[tuple((p, n) for p, n in kind if n)] += times
                for p, n in kind:
                    brought[p] += n * times
        if +brought != total:
            raise ValueError("the clusters do not add up to the patterns given")
    pats = _Patterns(total, coders, categories)
    return _summarise(pats, kinds, n_boot=n_boot, level=level, seed=seed, max_draws=max_draws)


def summarise_clustered(
    clusters: Sequence[Counter[tuple[Label, ...]]],
    coders: int,
    *,
    categories: Sequence[Hashable] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Summary:
    """:func:`summarise` for data given as clusters: for each cluster, how many units show each rating
    pattern (a tuple with one label per coder). The same result as ``summarise(data, clusters=...)``
    without building the full table: pooled agreement over 100,000 sentences × 84 codes stays cheap."""
    clusters = [+c for c in clusters]  # drop zero counts (and use up a generator once)
    total: Counter[tuple[Label, ...]] = Counter()
    for c in clusters:
        if any(len(p) != coders for p in c):
            raise ValueError(f"every pattern needs one label per coder ({coders})")
        total.update(c)
    return _summarise(_Patterns(total, coders, categories), _kinds(clusters), n_boot=n_boot, level=level, seed=seed)


def _summarise(
    pats: _Patterns,
    clusters: Kinds | None,
    *,
    n_boot: int,
    level: float,
    seed: int,
    max_draws: int | None = None,
) -> Summary:
    point = {k: float(v[0]) for k, v in pats.coefficients(pats.counts[None, :]).items()}
    n_units = int(pats.counts.sum())
    ci = {"alpha": (NAN, NAN), "kappa": (NAN, NAN)}
    undefined = resamples = 0
    if n_units and n_boot > 0:
        rng = np.random.default_rng(seed)
        if clusters is None:
            resamples = resamples_for(n_boot, len(pats.patterns), max_draws)
            draws = rng.multinomial(n_units, pats.counts / n_units, size=resamples).astype(float)
        else:
            rows, weights = pats.cluster_rows(clusters)
            resamples = resamples_for(n_boot, len(weights), max_draws)
            n = int(weights.sum())
            draws = rng.multinomial(n, weights / n, size=resamples).astype(float) @ rows
        boot = pats.coefficients(draws)
        ci = {k: _interval(boot[k], level) for k in ci}
        undefined = int(np.isnan(boot["alpha"]).sum())
    shares = {}
    if n_units:
        pi = (pats.counts @ pats.share) / n_units
        shares = {c: float(pi[i]) for i, c in enumerate(pats.categories)}
    return Summary(
        coders=pats.m,
        units=int(pats.counts @ pats.pairable),
        percent=point["percent"],
        kappa=point["kappa"],
        kappa_name="Cohen" if pats.m == 2 else "Fleiss",
        kappa_ci=ci["kappa"],
        alpha=point["alpha"],
        alpha_ci=ci["alpha"],
        ac1=point["ac1"],
        brennan_prediger=point["brennan_prediger"],
        shares=shares,
        alpha_undefined=undefined,
        resamples=resamples,
    )
