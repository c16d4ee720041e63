"""learned.v2 in a project: training rows from one coder's answers and the codebook, one logistic model
per code anchored on the zero-shot score (:mod:`coder.learn2`), one multiclass model per mutually
exclusive set that picks its member, every sentence re-scored (its text read too where a model weighs
words: :mod:`coder.learn2_words`).

The run stores each sentence's probabilities (``segment_scores``), its suggestions (scored by their
zero-shot similarity, with the nearest codebook example as evidence) and the codes whose
probabilities are calibrated on the coder's answers. No model is loaded: every vector is already in
the project.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from coder import carry
from coder import learn2 as l2
from coder import learn2_pooled as l2p
from coder import learn2_sets as l2s
from coder import learn2_words as l2w
from coder import suggest as sg
from coder.app.training import LearnResult, setup, write_run
from coder.embed import text_hash
from coder.sample import answered_prefix
from coder.store import Store
from coder.store.rows import SegmentKey
from coder.types import PATH_SEP, Codebook

_blas_lock = threading.Lock()
_blas_held: dict[str, Any] = {"users": 0, "limiter": None}


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Fit with a single BLAS thread. Each L-BFGS step works on a few hundred numbers, where a second
    OpenBLAS thread costs far more to wake than it saves: a fully coded demo project (2,497 answers, 84
    codes) re-fitted in 56 s with two threads and 4.6 s with one, to the same model.

    OpenBLAS's setting reaches other threads when set from the main thread, and only the caller's when set
    from another, so every fit sets it, and with fits overlapping in several threads (two coders'
    background re-fits) only the last one out restores what the first one in found."""
    from threadpoolctl import threadpool_limits

    with _blas_lock:
        limiter = threadpool_limits(limits=1, user_api="blas")
        if _blas_held["users"] == 0:
            _blas_held["limiter"] = limiter
        _blas_held["users"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_held["users"] -= 1
            if _blas_held["users"] == 0:
                _blas_held["limiter"].restore_original_limits()
                _blas_held["limiter"] = None


def exclusive_groups(book: Codebook) -> list[tuple[int, list[int]]]:
    """(parent index, children indices) of every mutually exclusive set; -1 for the top-level codes of an
    exclusive codebook."""
    index = {c.path: i for i, c in enumerate(book.codes)}
    return [
        (-1 if parent is None else index[parent], [index[k] for k in kids]) for parent, kids in book.exclusive_groups()
    ]


def _group_examples(
    kids: list[int],
    x: np.ndarray,
    s0: np.ndarray,
    row: dict[int, int],
    branch: Callable[[str], set[int]],
    profile: sg.CodeProfile,
    ex_scores: np.ndarray,
    bounds: list[int],
    words: tuple[Any, Any] | None = None,
    in_full: set[int] | None = None,
) -> l2s.GroupExamples:
    """One exclusive set's rows: the coder's sentences put in exactly one member's branch (in document order),
    then each member's codebook examples; ``words``: the answered sentences' words (rows as ``x``) and the
    codebook texts' (rows as ``profile.exemplars``)."""
    paths = profile.paths
    member: dict[int, int] = {}
    for c, k in enumerate(kids):
        for seg in branch(paths[k]):
            member[seg] = c if seg not in member else -1  # in two members' branches: not a clean example
    mine = sorted(s for s, c in member.items() if c >= 0 and s in row)
    idx = [row[s] for s in mine]
    e_idx = [e for k in kids for e in range(bounds[k], bounds[k + 1])]
    e_cls = [c for c, k in enumerate(kids) for _ in range(bounds[k], bounds[k + 1])]
    return l2s.GroupExamples(
        np.vstack([x[idx], profile.exemplars[e_idx]]),
        np.vstack([s0[np.ix_(idx, kids)], ex_scores[np.ix_(e_idx, kids)]]),
        np.array([member[s] for s in mine] + e_cls, dtype=np.int64),
        np.concatenate([np.ones(len(idx)), np.full(len(e_idx), l2.SEED_WEIGHT)]),
        len(idx),
        None if words is None else _stack([words[0][idx], words[1][e_idx]]),
        None if in_full is None else np.array([s in in_full for s in mine], dtype=bool),
    )


def _pool_the_rest(
    model: l2.Model,
    answered: list[tuple[int, list[int], np.ndarray]],
    s0: np.ndarray,
    row: dict[int, int],
    in_sets: set[int],
    threshold: float,
    doc_of: dict[int, str],
    moving: Moving | None = None,
) -> tuple[l2.Model, np.ndarray | None]:
    """The codes not learned on their own (outside exclusive sets) share what their answers pooled say (``answered``
    holds only those answered in full from their document's start: see :attr:`coder.learn2.Examples.finished`): one
    map from score to probability (:func:`coder.learn2_pooled.fit_pooled`), once it predicts held-out answers better
    than the prior, and one cut (their cut is that score's probability).

    First choice (``moving`` given): each such code's prototype moved toward the sentences the coder gave it and
    away from those she rejected it for (learned.v1's update), scored for each answered document with a
    prototype moved by the other documents only, with the cut (:func:`coder.learn2_pooled.gated_cut`) that does at
    least as well as the zero-shot suggestions on each held-out third of the documents. Returns the model and
    the (C, d) shift each code's prototype moved by (None when not moved). Otherwise: the zero-shot scores
    with one cut (:func:`coder.learn2_pooled.shared_cut`) where it beats the zero-shot threshold."""
    rest = [(j, mine, y) for j, mine, y in answered if not model.codes[j].calibrated and j not in in_sets and mine]
    if not rest:
        return model, None
    order = np.concatenate([np.asarray(mine) for _, mine, _ in rest])
    docs = np.array([doc_of.get(int(s), "") for s in order])
    score = np.concatenate([s0[[row[s] for s in mine], j] for j, mine, _ in rest])
    y = np.concatenate([y for _, _, y in rest])
    pooled = {j for j, c in enumerate(model.codes) if not c.calibrated and j not in in_sets}
    shift = None
    at: float | None = None
    if moving is not None:
        delta, shift = _moved(moving, rest, row, doc_of, pooled)
        moved_score = score + delta
        at = l2p.gated_cut(docs, moved_score, y, score >= threshold, threshold)
        if at is None:
            shift = None
        else:
            score = moved_score
    if at is None:
        at = l2p.shared_cut(docs, score, y, threshold)
    fitted = l2p.fit_pooled(docs, (score - threshold) / model.scale, y)
    if fitted is None and at == threshold and shift is None:
        return model, None
    a, b = fitted if fitted is not None else (1.0, 0.0)
    # every code not learned shares them, answered or not: they are about scores, not about one code
    cut = float(l2.sigmoid(np.array(a * (at - threshold) / model.scale + b)))
    codes = tuple(
        replace(c, a=a, b=b, calibrated=fitted is not None, cut=cut) if j in pooled else c
        for j, c in enumerate(model.codes)
    )
    return replace(model, codes=codes), shift


@dataclass(frozen=True)
class Moving:
    """What moving the pooled codes' prototypes needs: the answered sentences' vectors (rows as ``row``), the
    codes' prototypes, and per code the sentences the coder gave it and those she rejected it for."""

    x: np.ndarray
    prototypes: np.ndarray  # (C, d)
    given: list[set[int]]
    rejected: list[set[int]]


def _moved(
    moving: Moving,
    rest: list[tuple[int, list[int], np.ndarray]],
    row: dict[int, int],
    doc_of: dict[int, str],
    pooled: set[int],
) -> tuple[np.ndarray, np.ndarray]:
    """What moving adds to each pooled row's score, the prototype moved by the other documents' answers only
    (held out), and the (C, d) shift of each pooled code's prototype moved by all of them (zero where it has no
    yes answer)."""
    held: list[np.ndarray] = []
    shift = np.zeros_like(moving.prototypes, dtype=np.float64)
    for j, mine, _ in rest:
        idx = [row[s] for s in mine]
        toward = np.array([s in moving.given[j] for s in mine], bool)
        away = np.array([s in moving.rejected[j] for s in mine], bool)
        if not toward.any():
            held.append(np.zeros(len(mine)))
            continue
        docs = np.array([doc_of.get(s, "") for s in mine])
        held.append(l2p.moved_held_out(moving.x[idx], moving.prototypes[j], toward, away, docs))
    for j in pooled:
        given = [row[s] for s in moving.given[j] if s in row]
        if given:
            against = [row[s] for s in moving.rejected[j] if s in row]
            proto = moving.prototypes[j]
            shift[j] = l2p.moved(proto, moving.x[given], moving.x[against]) - proto
    return np.concatenate([np.zeros(0), *held]), shift


def _fit_carry(
    keys: Sequence[SegmentKey],
    paths: list[str],
    row: dict[int, int],
    s0: np.ndarray,
    accepted: dict[str, set[int]],
    zero_shot: tuple[float, float],
    x: np.ndarray,
    picks: Callable[[Sequence[int], np.ndarray], list[list[tuple[int, int]]]],
) -> carry.CarryModel | None:
    """The coder's carry model (:mod:`coder.carry`): every sentence she answered right after the participant
    sentence before it, which she answered too, with the codes she gave each (exactly, not by branch). Its
    gate compares carrying with what her learned run itself suggests there (``picks`` of the sentences and
    their vectors ``x``)."""
    given: dict[int, set[str]] = defaultdict(set)
    for path, segs in accepted.items():
        for s in segs:
            given[s].add(path)
    before = previous_sentences(keys)
    pairs = [s for s in row if before.get(s) in row]  # import order: documents in turn, sentences in order
    if not pairs:
        return None
    threshold, scale = zero_shot
    offset = (s0[[row[s] for s in pairs]] - threshold) / scale
    prev = np.array([[p in given[before[s]] for p in paths] for s in pairs], dtype=bool)
    now = np.array([[p in given[s] for p in paths] for s in pairs], dtype=bool)
    shown = np.zeros_like(now)
    for i, picked in enumerate(picks(pairs, x[[row[s] for s in pairs]])):
        for c, _ in picked:
            shown[i, c] = True
    return carry.fit_carry(offset, prev, now, shown=shown, threshold=threshold, scale=scale)


def _stack(blocks: Sequence[Any]) -> Any:
    """Sparse word rows (:mod:`coder.learn2_words`) stacked in order, as one CSR matrix."""
    from scipy import sparse

    return sparse.vstack(blocks).tocsr()


def previous_sentences(keys: Sequence[SegmentKey]) -> dict[int, int]:
    """Each participant sentence -> the participant sentence before it in its document (none for the first),
    from :meth:`Store.segment_keys` (by document, then position)."""
    out: dict[int, int] = {}
    last: tuple[str, int] | None = None
    for k in keys:
        if last is not None and last[0] == k.document:
            out[k.id] = last[1]
        last = (k.document, k.id)
    return out


def learn_v2(store: Store, *, coder: str, top_k: int = sg.DEFAULT_TOP_K) -> LearnResult:
    """Fit ``coder``'s learned.v2 from their standing decisions and the codebook; re-score every sentence
    (each code suggested from its own cut, :data:`coder.learn2.SUGGEST_AT` until it is learned)."""
    t0 = time.perf_counter()
    st = setup(store, coder)
    book, paths, profile, latest, sim = st.book, st.paths, st.profile, st.latest, st.sim_run
    threshold = float(sim.threshold)
    contrast = sg.contrast_of(sim.suggester)
    groups = exclusive_groups(book)
    sibling_of: dict[int, list[int]] = defaultdict(list)
    for _, kids in groups:
        for k in kids:
            sibling_of[k] = [x for x in kids if x != k]

    seg_hash = store.segment_hashes()
    vec = store.get_embeddings(sim.model, sorted({seg_hash[s] for s, _ in latest}))
    segs = sorted({s for s, _ in latest if seg_hash[s] in vec})
    x = np.stack([vec[seg_hash[s]] for s in segs]) if segs else np.zeros((0, profile.centroids.shape[1]))
    s0 = sg.score(x, profile, sim.method, contrast).scores if segs else np.zeros((0, len(paths)))
    row = {s: i for i, s in enumerate(segs)}
    keys = store.segment_keys()  # every sentence's document and place: the folds' documents, the carry pairs
    doc_of = {k.id: k.document for k in keys}
    # the rows answered in full: in the part of each document answered from its start ("uncertain first" leaves
    # gaps; for an exclusive set, its part of the random sample answered from the sample's start counts too, below)
    gaps = store.unanswered_suggested(sim.id, coder)
    first_gap: dict[str, int] = {}
    for key in keys:
        if key.id in gaps and key.idx < first_gap.get(key.document, key.idx + 1):
            first_gap[key.document] = key.idx
    in_full = {key.id for key in keys if key.idx < first_gap.get(key.document, key.idx + 1)}
    # an exclusive set's gate may also count each document's part of the random sample answered from its start
    # (review.with_sample); a single code's document counts may not, as a few sampled sentences of a transcript
    # are not a transcript's worth of evidence (benchmarks/NOTES.md)
    place = {key.id: (key.document, key.idx) for key in keys}
    set_rows = in_full | answered_prefix(place, {s for s, _ in latest}, gaps)
    # words weigh in an exclusive set, or in a code whose yes answers span MANY_DOCUMENTS finished documents:
    # with fewer finished documents than that and no set, no model can use them, so none are read or counted
    could_weigh = bool(groups) or len({doc_of[s] for s in segs if s in in_full}) >= l2.MANY_DOCUMENTS
    text_of = store.segment_texts(segs) if could_weigh else {}
    words = l2w.vocabulary([text_of[s] for s in segs]) if could_weigh else None  # the answered sentences' words
    seg_words = words([text_of[s] for s in segs]) if words is not None else None
    seed_words = words(profile.texts) if words is not None else None

    accepted: dict[str, set[int]] = defaultdict(set)
    rejected: dict[str, set[int]] = defaultdict(set)
    for (s, path), ans in latest.items():
        if s in row:
            (accepted if ans == "accept" else rejected)[path].add(s)

    # each code's branch: the sentences accepted for it or one of its subcodes (computed once, used four ways)
    branches = {
        path: {s for p, ss in accepted.items() if p == path or p.startswith(path + PATH_SEP) for s in ss}
        for path in paths
    }
    branch = branches.__getitem__

    # the codebook's own texts: examples for, counterexamples against (and a sibling's examples against)
    ex_scores = sg.score(profile.exemplars, profile, sim.method, contrast).scores
    bounds = [*profile.starts.tolist(), len(profile.texts)]
    counter = {c.path: list(c.counterexamples) for c in book.codes}
    counter_vecs = store.get_embeddings(
        sim.model, sorted({text_hash(t) for ts in counter.values() for t in ts})
    )  # cached by 'coder suggest'
    cts_of = {p: [t for t in ts if text_hash(t) in counter_vecs] for p, ts in counter.items()}
    counter_words: dict[str, Any] = {}  # each code's counterexamples' words, counted in one pass for all codes
    if words is not None and any(cts_of.values()):
        rows, at = words([t for p in paths for t in cts_of[p]]), 0
        for p in paths:
            counter_words[p], at = rows[at : at + len(cts_of[p])], at + len(cts_of[p])
    examples = []
    per_code: dict[str, tuple[int, int]] = {}
    answered: list[tuple[int, list[int], np.ndarray]] = []  # per code: its coder rows, for the pooled map
    for j, path in enumerate(paths):
        pos = branch(path)
        neg = rejected.get(path, set()) - pos
        for k in sibling_of.get(j, []):
            neg |= branch(paths[k]) - pos
        implicit = set(row) - pos - neg  # answered on, coded otherwise
        mine = sorted(pos | neg | implicit)  # in import order (document by document): held out by document
        idx = [row[s] for s in mine]
        # the pooled map, shared cut and moved prototypes' gate: rows answered in full only, like the low cuts
        whole = [s for s in mine if s in in_full]
        answered.append((j, whole, np.array([s in pos for s in whole], bool)))
        xs = [x[idx]]
        ws_words = [seg_words[idx]] if seg_words is not None else []
        ss = [s0[idx, j]]
        ys = [np.array([s in pos for s in mine], bool)]
        ws = [np.array([l2.IMPLICIT_WEIGHT if s in implicit else 1.0 for s in mine])]
        seeds = [(e, True) for e in range(bounds[j], bounds[j + 1])]
        seeds += [(e, False) for k in sibling_of.get(j, []) for e in range(bounds[k], bounds[k + 1])]
        if seeds:
            e_idx = [e for e, _ in seeds]
            xs.append(profile.exemplars[e_idx])
            if seed_words is not None:
                ws_words.append(seed_words[e_idx])
            ss.append(ex_scores[e_idx, j])
            ys.append(np.array([yes for _, yes in seeds], bool))
            ws.append(np.full(len(seeds), l2.SEED_WEIGHT))
        cv = [counter_vecs[text_hash(t)] for t in cts_of[path]]
        if cv:
            cx = np.stack(cv)
            xs.append(cx)
            if words is not None:
                ws_words.append(counter_words[path])
            ss.append(sg.score(cx, profile, sim.method, contrast).scores[:, j])
            ys.append(np.zeros(len(cv), bool))
            ws.append(np.full(len(cv), l2.SEED_WEIGHT))
        examples.append(
            l2.Examples(
                np.vstack(xs),
                np.concatenate(ss),
                np.concatenate(ys),
                np.concatenate(ws),
                len(pos),
                len(neg | implicit),
                len(idx),
                np.array([doc_of.get(s, "") for s in mine]),
                np.array([s in in_full for s in mine], dtype=bool),
                _stack(ws_words) if words is not None else None,
            )
        )
        if pos or neg:
            per_code[path] = (len(pos), len(neg | implicit))
    with one_blas_thread():
        model = l2.fit(examples, threshold)
        alone = set(np.flatnonzero(model.calibrated).tolist())
        moving = (
            Moving(
                x,
                profile.centroids,
                [branches[p] & in_full for p in paths],  # the move its gate checks: the same rows
                [(rejected.get(p, set()) - branches[p]) & in_full for p in paths],
            )
            if sim.method == "centroid"
            else None  # a prototype is a centroid: the other methods score against single exemplars too
        )
        in_sets = {k for _, kids in groups for k in kids}
        model, shift = _pool_the_rest(model, answered, s0, row, in_sets, threshold, doc_of, moving)
        both = (seg_words, seed_words) if words is not None else None
        sets = [
            (
                parent,
                kids,
                l2s.fit_group(
                    _group_examples(kids, x, s0, row, branch, profile, ex_scores, bounds, both, set_rows),
                    threshold,
                ),
            )
            for parent, kids in groups
        ]
    learned = len(alone | {k for _, kids, gm in sets if gm.learned for k in kids})  # a set learned: its members
    enough = {j for j, e in enumerate(examples) if j not in in_sets and l2.enough_answers(e)}
    short = len(paths) - len(in_sets) - len(enough)
    ok = model.calibrated.copy()
    for parent, kids, gm in sets:
        if parent < 0:  # a codebook-wide set is scored by its own model only: calibrated once that is learned
            ok[kids] = gm.learned
    calibrated = [p for p, yes in zip(paths, ok, strict=True) if yes]

    cuts = model.cuts
    # the sentences' words are read and counted only where a learned code or set weighs them
    weighs = any(c.v is not None for c in model.codes) or any(gm.learned and gm.v is not None for _, _, gm in sets)
    reader = words if weighs else None

    def score(
        vecs: np.ndarray, ids: np.ndarray
    ) -> tuple[np.ndarray, list[list[tuple[int, int]]], np.ndarray, np.ndarray]:
        zero = sg.score(vecs, profile, sim.method, contrast)
        moved = zero.scores if shift is None else zero.scores + np.asarray(vecs, np.float64) @ shift.T
        texts = store.segment_texts([int(i) for i in ids]) if reader is not None else {}
        wv = reader([texts[int(i)] for i in ids]) if reader is not None else None
        p = model.proba(vecs, moved, wv)
        rank = zero.scores.astype(np.float64)  # a set's pick: by zero-shot score until the set is learned
        for parent, kids, gm in sets:
            if parent < 0:
                zs = zero.scores[:, kids]
                p[:, kids] = (
                    gm.proba(vecs, zs, threshold, words=wv)
                    if gm.learned
                    else l2.sigmoid((zs - threshold) / model.scale)
                )
            if gm.learned:
                rank[:, kids] = gm.pick(vecs, zero.scores[:, kids], threshold, words=wv)
        picks = l2.select(p, profile.ancestors, groups, at=cuts, top_k=top_k, rank=rank)
        return p, picks, zero.scores, zero.nearest

    carried = _fit_carry(
        keys, paths, row, s0, accepted, (threshold, model.scale), x, lambda i, v: score(v, np.asarray(i))[1]
    )
    out = write_run(
        store,
        st,
        coder=coder,
        suggester=l2.LEARNER,
        # the recipe, the same for every run: which codes weigh words follows from the answers (MANY_DOCUMENTS)
        method=f"logistic(anchor={sim.method},l2={l2.L2_W:g},seed_weight={l2.SEED_WEIGHT:g},balanced,"
        f"words={l2w.NGRAMS[0]}-{l2w.NGRAMS[1]}gram)",
        threshold=l2.SUGGEST_AT,
        top_k=top_k,
        calibrated=calibrated,
        score=score,
        carry=carried.to_json() if carried is not None else "",
    )
    return LearnResult(
        coder,
        out.run_id,
        learned,  # codes learned on their own or as a set (the others keep their zero-shot score, perhaps calibrated)
        len(latest),
        bool(calibrated),
        out.suggestions,
        out.new_segments,
        time.perf_counter() - t0,
        per_code,
        l2.LEARNER,
        (carried.repeats, carried.carried) if carried is not None else None,
        (short, len(enough - alone), shift is not None),
    )
