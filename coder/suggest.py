"""Suggest codes by embedding similarity. Pure: arrays in, arrays out.

Each code is represented by its *exemplars*: one text made of its name and definition (plus
its inclusion criteria), and each of its examples. A segment's score for a code is either the
cosine to the normalised mean of the exemplars (``centroid``), the cosine to the nearest
exemplar (``max``), or the mean of the two (``blend``). The nearest exemplar is kept as the
*evidence* a reviewer sees ("closest to: …").

Two suggesters share this module. **similarity.v1** scores as above. **similarity.v2** (the default
since 2026-12-07) also uses what the codebook says a code is *not*: its exclusion criteria ("use X
instead") and its counterexamples, embedded and averaged into one normalised vector per code, pull the
score down by :data:`CONTRAST` × the segment's cosine to that vector (codes with neither keep v1's
score). Measured on the AnnoMI and demo review halves of `make bench-quality` (λ chosen there from
0.1 … 0.4, then read on the held-out halves: client talk κ 0.252 → 0.271, therapist behaviour 0.404 →
0.417, demo 0.179 → 0.186; NHS answers, whose codebook has neither, unchanged). Each run records its
suggester, so a v1 run is still read as v1.

The children of an ``exclusive`` code are one mutually exclusive set (and so are the top-level codes
of an ``exclusive`` codebook): wherever the set applies, exactly one of its members is suggested.
A nested set applies where its parent or any member's branch (the member or one of its subcodes)
passes the threshold; a codebook's top-level set applies to every unit. The member suggested is the
best-scoring one whose branch passes, or the best-scoring member when none does. Measured: taking
one of change / sustain / neutral talk for every AnnoMI client utterance, instead of leaving those
below the threshold without a suggestion, raised κ with the experts from 0.11 to 0.25 (therapist
behaviour: 0.26 to 0.40; benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from coder.embed import normalise
from coder.types import Code, Codebook

SUGGESTER = "similarity.v2"
"""What a new zero-shot run is made by."""
ZERO_SHOT = ("similarity.v1", "similarity.v2")
"""Every zero-shot suggester: a project has one active zero-shot run, made by one of them."""
CONTRAST = 0.15
"""similarity.v2: how far a cosine to a code's exclusions and counterexamples pulls its score down.

Part of what "similarity.v2" means: runs do not record it, and learned.v2 and the methods paragraph read
old v2 runs with it. Another value is another suggester (similarity.v3), not an edit here."""
METHODS = ("centroid", "max", "blend")
DEFAULT_METHOD = "centroid"
DEFAULT_THRESHOLD = 0.35
DEFAULT_TOP_K = 3


def contrast_of(suggester: str) -> float:
    """The pull-away weight a zero-shot suggester scores with (0 for similarity.v1)."""
    return CONTRAST if suggester == "similarity.v2" else 0.0


def against_texts(code: Code) -> list[str]:
    """What a code is not: its exclusion criteria, then its counterexamples."""
    return ([code.exclude] if code.exclude.strip() else []) + [t for t in code.counterexamples if t.strip()]


def exemplar_texts(code_name: str, definition: str, include: str, examples: Sequence[str]) -> list[str]:
    """The texts that stand for a code: its description first, then its examples."""
    head = f"{code_name}: {definition}"
    if include:
        head += f" {include}"
    return [head, *examples]


@dataclass(frozen=True)
class CodeProfile:
    """Embedded exemplars of every code, grouped by code in codebook order."""

    paths: tuple[str, ...]
    centroids: np.ndarray  # (C, d)
    exemplars: np.ndarray  # (E, d), grouped by code
    starts: np.ndarray  # (C,) index of each code's first exemplar in ``exemplars``
    texts: tuple[str, ...]  # (E,)
    ancestors: np.ndarray  # (C, C) bool: ancestors[c, a] is True when a is an ancestor of c
    exclusive: np.ndarray | None = None  # (C,) int: see exclusive_ids; None when no code is exclusive
    against: np.ndarray | None = None
    """(C, d): the normalised mean of each code's :func:`against_texts` (a zero row where it has none); None
    when the profile was built without them (similarity.v1 needs none)."""


def build_profile(
    codebook: Codebook, embed: Callable[[Sequence[str]], np.ndarray], *, against: bool = True
) -> CodeProfile:
    """Embed every code's exemplar texts (and, with ``against``, what each code is not) through ``embed``."""
    paths = tuple(c.path for c in codebook.codes)
    texts: list[str] = []
    starts: list[int] = []
    for c in codebook.codes:
        starts.append(len(texts))
        texts.extend(exemplar_texts(c.name, c.definition, c.include, c.examples))
    vecs = normalise(embed(texts))
    bounds = [*starts, len(texts)]
    centroids = normalise(np.stack([vecs[bounds[i] : bounds[i + 1]].mean(axis=0) for i in range(len(paths))]))
    groups = exclusive_ids(codebook)
    return CodeProfile(
        paths,
        centroids,
        vecs,
        np.asarray(starts),
        tuple(texts),
        ancestor_matrix(codebook),
        groups if (groups >= 0).any() else None,
        _against(codebook, embed, centroids.shape[1]) if against else None,
    )


def _against(codebook: Codebook, embed: Callable[[Sequence[str]], np.ndarray], dim: int) -> np.ndarray:
    per_code = [against_texts(c) for c in codebook.codes]
    flat = [t for ts in per_code for t in ts]
    out = np.zeros((len(per_code), dim), dtype=np.float32)
    if not flat:
        return out
    vecs = normalise(embed(flat))
    i = 0
    for j, ts in enumerate(per_code):
        if ts:
            out[j] = normalise(vecs[i : i + len(ts)].mean(axis=0, keepdims=True))[0]
            i += len(ts)
    return out


def ancestor_matrix(codebook: Codebook) -> np.ndarray:
    """(C, C) bool, codebook order: ``m[c, a]`` is True when code ``a`` is an ancestor of code ``c``."""
    index = {c.path: i for i, c in enumerate(codebook.codes)}
    by_path = codebook.by_path()
    anc = np.zeros((len(index), len(index)), dtype=bool)
    for c in codebook.codes:
        parent = c.parent
        while parent is not None:
            anc[index[c.path], index[parent]] = True
            parent = by_path[parent].parent
    return anc


def exclusive_ids(codebook: Codebook) -> np.ndarray:
    """(C,) int, codebook order: the index of a code's parent when that parent is ``exclusive``; C (the number
    of codes) for a top-level code of an ``exclusive`` codebook; else -1.

    Codes with the same id are one mutually exclusive group; the group's id is its parent's index (C: none).
    """
    index = {c.path: i for i, c in enumerate(codebook.codes)}
    by_path = codebook.by_path()
    root = len(codebook.codes) if codebook.exclusive else -1
    return np.array(
        [root if c.parent is None else index[c.parent] if by_path[c.parent].exclusive else -1 for c in codebook.codes],
        dtype=np.int64,
    )


@dataclass(frozen=True)
class Scores:
    """Scores of a batch of segments against every code."""

    scores: np.ndarray  # (n, C) float32
    nearest: np.ndarray  # (n, C) int: index into profile.texts of the closest exemplar


def score(segments: np.ndarray, profile: CodeProfile, method: str = DEFAULT_METHOD, contrast: float = 0.0) -> Scores:
    """Cosine scores (n × codes) of L2-normalised segment vectors; ``contrast`` > 0 (similarity.v2) subtracts
    that much of each segment's cosine to what each code is not (``profile.against``, which it then needs)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    ex = segments @ profile.exemplars.T  # (n, E)
    best = np.maximum.reduceat(ex, profile.starts, axis=1)
    # Index of the best exemplar inside each code's group, made global.
    nearest = np.empty_like(best, dtype=np.int64)
    bounds = [*profile.starts.tolist(), ex.shape[1]]
    for i in range(len(profile.paths)):
        nearest[:, i] = bounds[i] + ex[:, bounds[i] : bounds[i + 1]].argmax(axis=1)
    if method == "max":
        s = best
    else:
        cen = segments @ profile.centroids.T
        s = cen if method == "centroid" else (cen + best) / 2
    if contrast:
        if profile.against is None:
            raise ValueError("this profile was built without what the codes are not (build_profile(against=True))")
        s = s - contrast * (segments @ profile.against.T)
    return Scores(s.astype(np.float32), nearest)


def select(
    scores: np.ndarray,
    profile: CodeProfile | np.ndarray,
    *,
    threshold: float | np.ndarray = DEFAULT_THRESHOLD,
    top_k: int = DEFAULT_TOP_K,
    exclusive: np.ndarray | None = None,
) -> list[list[tuple[int, int]]]:
    """For each segment, up to ``top_k`` (code index, rank) pairs scoring at least ``threshold``.

    A code is dropped when one of its descendants also passes: the more specific code is
    suggested and tallies roll it up to the parent. ``threshold`` may be one value per code.
    ``profile`` may be a :class:`CodeProfile` or just its ancestor matrix.

    ``exclusive`` (see :func:`exclusive_ids`; by default the profile's) makes each mutually exclusive set
    give exactly one suggestion wherever it applies (see the module's docstring): that member ranks first,
    and the others are dropped with all their descendants.
    """
    ancestors = profile if isinstance(profile, np.ndarray) else profile.ancestors
    if exclusive is None and not isinstance(profile, np.ndarray):
        exclusive = profile.exclusive
    passed = scores >= threshold
    forced = np.zeros_like(passed)
    if exclusive is not None and (exclusive >= 0).any():
        passed, forced = _one_per_set(scores, passed, ancestors, exclusive)
    return ranked_picks(passed, scores + 2.0 * forced, ancestors, top_k)  # a set's pick first (cosines are ≤ 1)


def ranked_picks(passed: np.ndarray, key: np.ndarray, ancestors: np.ndarray, top_k: int) -> list[list[tuple[int, int]]]:
    """Per row, up to ``top_k`` (code index, rank) pairs of the codes that ``passed``, best ``key`` first (ties:
    codebook order), leaving out a code where one of its descendants passed too (the more specific is suggested).
    Shared by the zero-shot and learned suggesters' ``select``."""
    if ancestors.any():
        # has_descendant[n, a] = some descendant of a passed for row n; float32, as BLAS does the product
        # (numpy's integer matmul does not) and counts ≤ codes are exact
        passed = passed & ~((passed.astype(np.float32) @ ancestors.astype(np.float32)) > 0)
    masked = np.where(passed, key, -np.inf)
    k = min(top_k, key.shape[1])
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    # what passed sorts before every -inf, so each row's picks are a prefix of its order
    shown = np.isfinite(np.take_along_axis(masked, order, axis=1)).sum(axis=1)
    ranks = range(1, k + 1)
    return [list(zip(idx[:m], ranks[:m], strict=True)) for idx, m in zip(order.tolist(), shown.tolist(), strict=True)]


def _one_per_set(
    scores: np.ndarray, passed: np.ndarray, ancestors: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(passed, picked): ``passed`` with exactly one member of each exclusive set where the set applies (the
    others dropped with their branches), and which (segment, code) cells a set picked.

    Sets are taken outer first (a parent's index comes before its children's), so a member dropped by an
    outer set does not make an inner set apply.
    """
    passed = passed.copy()
    picked = np.zeros_like(passed)
    n_codes = len(groups)
    anc = ancestors.astype(np.float32)  # float32 products: BLAS, exact for counts this small
    branch = np.eye(n_codes, dtype=np.float32) + anc.T  # branch[c, j]: j is c or a descendant of c
    for g in sorted(np.unique(groups[groups >= 0]), key=lambda g: -1 if g == n_codes else g):
        members = np.flatnonzero(groups == g)
        in_play = (passed.astype(np.float32) @ branch.T)[:, members] > 0  # the member or a subcode passed
        applies = np.ones(len(scores), dtype=bool) if g == n_codes else passed[:, g] | in_play.any(axis=1)
        key = scores[:, members] + 2.0 * in_play  # a member whose branch passed wins over one whose did not
        winner = members[key.argmax(axis=1)]  # ties: the first in codebook order
        lose = applies[:, None] & (members[None, :] != winner[:, None])
        losers = np.zeros_like(passed)
        losers[:, members] = lose
        passed &= ~((losers.astype(np.float32) @ branch) > 0)
        rows = np.flatnonzero(applies)
        passed[rows, winner[rows]] = True
        picked[rows, winner[rows]] = True
    return passed, picked
