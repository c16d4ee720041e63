"""What every learner starts from: the codebook, the zero-shot run it is anchored on, the code profile
(from embeddings already in the project), and one coder's standing answers; and what a fit returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from coder import suggest as sg
from coder.app.common import current_codebook
from coder.app.review import _paths
from coder.embed import text_hash
from coder.errors import ProjectError
from coder.store import RunRow, Store
from coder.types import Codebook


def similarity_run(store: Store) -> RunRow:
    run = store.active_run(sg.SUGGESTER)
    if run is None:
        raise ProjectError("no similarity suggestions to learn from", path=store.path, hint="run 'coder suggest' first")
    return run


@dataclass(frozen=True)
class LearnResult:
    coder: str
    """Whose decisions this run learned from."""
    run_id: int
    models: int
    """Codes whose prototype moved (they have decisions)."""
    decisions: int
    prior_fitted: bool
    suggestions: int
    new_segments: int
    """Segments the learned run suggests a code for that similarity.v1 did not."""
    seconds: float
    per_code: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (positives, negatives)
    learner: str = "learned.v1"


@dataclass(frozen=True)
class Setup:
    """What every learner starts from: the codebook, the zero-shot run, the code profile, the coder's answers."""

    book: Codebook
    sim_run: RunRow
    paths: list[str]
    profile: sg.CodeProfile
    latest: dict[tuple[int, str], str]
    """The coder's standing answer on each (sentence, code) of the current codebook."""
    cached: Callable[[Sequence[str]], np.ndarray]
    """Embeddings of texts already in the project (codebook texts); an error when one is missing."""


def setup(store: Store, coder: str) -> Setup:
    book = current_codebook(store)
    sim_run = similarity_run(store)
    model_id = sim_run.model
    paths = [c.path for c in book.codes]
    if _paths(sim_run) != paths:
        raise ProjectError(
            "the codebook changed since the last 'coder suggest'",
            path=store.path,
            hint="run 'coder suggest' again, then learn",
        )

    def cached(texts: Sequence[str]) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        got = store.get_embeddings(model_id, hashes)
        if len(got) < len(set(hashes)):
            raise ProjectError("codebook embeddings are missing", path=store.path, hint="run 'coder suggest' first")
        return np.stack([got[h] for h in hashes])

    profile = sg.build_profile(book, cached)
    decisions = [d for d in store.decisions(coder=coder) if d.code_path in book.by_path()]
    if not decisions and coder not in store.coders():
        known = store.coders()
        raise ProjectError(
            f"no decisions by '{coder}' to learn from",
            path=store.path,
            hint=f"coders in this project: {', '.join(known)}" if known else "review some suggestions first",
        )
    latest: dict[tuple[int, str], str] = {}
    for d in decisions:  # the coder's standing answer on each (sentence, code)
        latest[(d.segment_id, d.code_path)] = d.answer
    return Setup(book, sim_run, paths, profile, dict(sorted(latest.items())), cached)
