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
    run = store.zero_shot_run()
    if run is None:
        raise ProjectError("no similarity suggestions to learn from", path=store.path, hint="run 'coder suggest' first")
    return run


@dataclass(frozen=True)
class LearnResult:
    coder: str
    """Whose decisions this run learned from."""
    run_id: int
    models: int
    """Codes learned from the answers: learned.v1's moved prototypes; learned.v2's codes that passed its gates."""
    decisions: int
    prior_fitted: bool
    suggestions: int
    new_segments: int
    """Segments the learned run suggests a code for that the zero-shot run did not."""
    seconds: float
    per_code: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (positives, negatives)
    learner: str = "learned.v1"
    carry: tuple[int, int] | None = None
    """learned.v2: (repeats, codes given the sentence before) its carry model was fitted on, or None (none kept)."""
    why_not: tuple[int, int, bool] | None = None
    """learned.v2: why the other codes were not learned on their own (outside exclusive sets): (codes short of
    :data:`coder.learn2.MIN_CALIBRATION` answers each way from :data:`coder.learn2.MIN_DOCUMENTS` documents, codes
    with enough answers whose learned suggestions did no better than zero-shot on the coder's held-out answers,
    whether those codes' prototypes moved toward her answers); None for other learners."""

    def said(self) -> str:
        """What the re-fit did, in words, the same for every face: "learned.v2 updated from 30 decisions (2 codes
        learned); 4 sentences newly suggested"."""

        def n(count: int, word: str) -> str:
            return f"{count:,} {word}{'' if count == 1 else 's'}"

        return (
            f"{self.learner} updated from {n(self.decisions, 'decision')} ({n(self.models, 'code')} learned); "
            f"{n(self.new_segments, 'sentence')} newly suggested"
        )


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

    profile = sg.build_profile(book, cached, against=sg.contrast_of(sim_run.suggester) > 0)
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


Scorer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, list[list[tuple[int, int]]], np.ndarray, np.ndarray]]
"""Embeddings of a batch of sentences and their ids → (probabilities (n, C), the picks per sentence as (code, rank),
the score each suggestion records (n, C), the index of each code's nearest codebook text (n, C))."""


@dataclass(frozen=True)
class Written:
    run_id: int
    suggestions: int
    new_segments: int
    """Sentences the run suggests a code for that the zero-shot run did not."""


def write_run(
    store: Store,
    st: Setup,
    *,
    coder: str,
    suggester: str,
    method: str,
    threshold: float,
    top_k: int,
    calibrated: Sequence[str],
    score: Scorer,
    carry: str = "",
) -> Written:
    """Score every participant sentence with ``score`` and store the coder's learned run in one transaction
    (it replaces that coder's previous learned run only)."""
    paths, profile = st.paths, st.profile
    suggested_before = {r.segment_id for r in store.suggestions(for_coders=[]) if r.learned_from is None}
    n_sugg, n = 0, 0
    new_segments: set[int] = set()
    with store.transaction():
        run_id = store.start_run(
            suggester=suggester,
            model=st.sim_run.model,
            codebook_hash=st.book.hash,
            method=method,
            threshold=threshold,
            top_k=top_k,
            code_paths=paths,
            learned_from=coder,
            decisions=len(st.latest),
            calibrated=calibrated,
            carry=carry,
        )
        for ids, vecs in store.iter_segment_embeddings(st.sim_run.model):
            probs, picks, shown, nearest = score(vecs, ids)
            rows = []
            for i, picked in enumerate(picks):
                seg = int(ids[i])
                for c, rank in picked:
                    rows.append((seg, paths[c], float(shown[i, c]), rank, profile.texts[int(nearest[i, c])]))
                if picked and seg not in suggested_before:
                    new_segments.add(seg)
            store.add_scores(run_id, ids, np.asarray(probs, dtype=np.float32))
            store.add_suggestions(run_id, rows)
            n_sugg += len(rows)
            n += len(ids)
        store.finish_run(run_id, segments=n, embedded=0)
    return Written(run_id, n_sugg, len(new_segments))
