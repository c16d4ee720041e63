"""Suggest codes by embedding similarity. Pure: arrays in, arrays out.

Each code is represented by its *exemplars*: one text made of its name and definition (plus
its inclusion criteria), and each of its examples. A segment's score for a code is either the
cosine to the normalised mean of the exemplars (``centroid``), the cosine to the nearest
exemplar (``max``), or the mean of the two (``blend``). The nearest exemplar is kept as the
*evidence* a reviewer sees ("closest to: …").

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
from coder.types import Codebook

SUGGESTER = "similarity.v1"
METHODS = ("centroid", "max", "blend")
DEFAULT_METHOD = "centroid"
DEFAULT_THRESHOLD = 0.35
DEFAULT_TOP_K = 3


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


def build_profile(codebook: Codebook, embed: Callable[[Sequence[str]], np.ndarray]) -> CodeProfile:
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
    )


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


def score(segments: np.ndarray, profile: CodeProfile, method: str = DEFAULT_METHOD) -> Scores:
    """Cosine scores (n × codes) of L2-normalised segment vectors."""
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
    if ancestors.any():
        # has_descendant[n, a] = some descendant of a passed for segment n
        has_descendant = (passed.astype(np.int32) @ ancestors.astype(np.int32)) > 0
        passed &= ~has_descendant
    masked = np.where(passed, scores + 2.0 * forced, -np.inf)  # a set's pick ranks first (cosines are ≤ 1)
    k = min(top_k, scores.shape[1])
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    shown = np.isfinite(np.take_along_axis(masked, order, axis=1))
    return [
        [(c, r + 1) for r, (c, ok) in enumerate(zip(idx, oks, strict=True)) if ok]
        for idx, oks in zip(order.tolist(), shown.tolist(), strict=True)
    ]


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
    anc = ancestors.astype(np.int32)
    branch = np.eye(n_codes, dtype=np.int32) + anc.T  # branch[c, j]: j is c or a descendant of c
    for g in sorted(np.unique(groups[groups >= 0]), key=lambda g: -1 if g == n_codes else g):
        members = np.flatnonzero(groups == g)
        in_play = (passed.astype(np.int32) @ branch.T)[:, members] > 0  # the member or a subcode passed
        applies = np.ones(len(scores), dtype=bool) if g == n_codes else passed[:, g] | in_play.any(axis=1)
        key = scores[:, members] + 2.0 * in_play  # a member whose branch passed wins over one whose did not
        winner = members[key.argmax(axis=1)]  # ties: the first in codebook order
        lose = applies[:, None] & (members[None, :] != winner[:, None])
        losers = np.zeros_like(passed)
        losers[:, members] = lose
        passed &= ~((losers.astype(np.int32) @ branch) > 0)
        rows = np.flatnonzero(applies)
        passed[rows, winner[rows]] = True
        picked[rows, winner[rows]] = True
    return passed, picked
