"""learned.v2: one regularised logistic model per code, anchored on the zero-shot score. Pure.

For each code, the log-odds that a sentence deserves it are

    logit p(x) = a · (s0(x) − t) / σ  +  b  +  w · x

where ``s0`` is the sentence's zero-shot score (the zero-shot run's: similarity.v2's or v1's),
``t``/``σ`` the zero-shot threshold and slope, and ``x`` the sentence's embedding. The penalty
pulls ``a`` toward 1 and ``b`` and ``w`` toward 0, so with no answers the model *is* the zero-shot
score mapped to a probability, and a handful of answers can only move it a little: learning starts
from zero-shot instead of replacing it. It is fitted by L-BFGS on

* the coder's answers: a sentence accepted for the code or one of its subcodes is a positive;
  one rejected for it is a negative; in a mutually exclusive set, a sentence accepted for a sibling
  is a negative too; a sentence the coder answered on but did not give the code is a weaker
  negative (:data:`IMPLICIT_WEIGHT`: the review offers every code for a sentence before moving on,
  and agreement counts such a sentence as "not this code" too);
* the codebook's own examples (positives) and counterexamples (negatives), at a lower weight.

Positives and negatives are weighted to equal totals (class-balanced) when the code has both, so a
code answered mostly "no" is not learned as "never"; the odds that balancing adds are taken back out
of the intercept afterwards, so the probabilities are not inflated for rare codes. The same answers give the same model
(deterministic optimiser, sorted inputs).

A code is learned only once the coder has given it at least :data:`MIN_CALIBRATION` positives and
as many negatives: before that its model is the zero-shot prior itself (measured: fitting codes
with a handful of answers made an 84-code codebook slightly worse than zero-shot), and a face
shows its similarity and says "not yet calibrated". Once learned, its probabilities count as
calibrated, and it is suggested from the cut (:data:`CUTS`) that gives the best F1 on the coder's answers
as the cross-validation predicted them, each from a model that had not seen it (a cut chosen on the
probabilities of the answers a model was fitted on over-suggests). A code's answers must come from
:data:`MIN_DOCUMENTS` documents, and it must beat its zero-shot suggestions on them held out a third of
the documents at a time, over all and on none worse (:data:`EVERY_FOLD`), or it keeps the zero-shot
score. While its yes answers come from fewer than :data:`LOW_CUT_DOCUMENTS` documents, counting only the
part of each the coder has answered in full from its start (:attr:`Examples.finished`), it stays nearer
zero-shot: a stronger penalty (:data:`L2_W_FEW`) and no cut below 0.5.

Codes not learned on their own share one map from zero-shot score to probability, fitted on all their
answers pooled (:func:`fit_pooled`), once it predicts held-out answers better than the prior: with many
codes and few answers each, most codes would otherwise never show a probability. First, each of their
prototypes is moved toward the sentences the coder gave it and away from those she rejected it for
(:func:`moved`, learned.v1's update), where, scored document by document with prototypes moved by the
other documents (:func:`moved_held_out`) and cut where :func:`gated_cut` says, that does at least as well
as the zero-shot suggestions on each held-out third of the documents: the one rule measured that learns
from two or three interviews and gains on the next (benchmarks/NOTES.md). They share one
zero-shot cut too (:func:`shared_cut`), chosen on the same pooled answers where it does at least as well
as the zero-shot threshold on each held-out third of their documents: a codebook of bare definitions
scores lower than one with examples, so the best cut differs between projects, and the coder's answers
say where it lies.

A mutually exclusive set is also scored as a whole (:func:`coder.learn2_sets.fit_group`): one softmax over its members,
anchored the same way on their zero-shot scores, class-balanced, learned under the same kind of gates
(Cohen's κ of its picks instead of F1). It decides which member a sentence gets; comparing members'
separate binary models would set a learned member's probability against an unlearned one's prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from coder.learn import BETA, GAMMA, rocchio
from coder.suggest import ranked_picks

LEARNER = "learned.v2"
PRIOR_SCALE = 0.05
"""σ: a zero-shot cosine 0.05 above the threshold maps to log-odds +1 before any answer."""
SEED_WEIGHT = 0.5
"""Weight of one codebook example or counterexample, against 1 for one of the coder's answers."""
IMPLICIT_WEIGHT = 0.5
"""Weight of a sentence the coder coded otherwise, as a negative for a code they did not give it."""
L2_W = 0.5
"""Penalty on one code's weights. Chosen on the review halves of `make bench-quality` only (each split again in two
by document, 3 review orders, one-off): NHS answers (50 codes) κ after 10 / 20 % of decisions 0.330 / 0.336 at 1.0,
0.368 / 0.372 at 0.5, 0.384 / 0.364 at 0.3; the demo the same at all three (AnnoMI's exclusive sets use
:data:`coder.learn2_sets.GROUP_L2_W`)."""
L2_W_FEW = 1.0
"""The penalty while a code's yes answers come from fewer than :data:`LOW_CUT_DOCUMENTS` documents."""
L2_A = 1.0
L2_B = 0.1
SUGGEST_AT = 0.5
"""A code is suggested where its probability reaches this (one child per unit in an exclusive set)."""
MIN_CALIBRATION = 8
"""Answers of each kind (yes and no) a code needs before its probabilities are shown."""


@dataclass(frozen=True)
class Examples:
    """Training rows of one code: embeddings, zero-shot scores, labels and weights."""

    x: np.ndarray  # (n, d) float64
    s0: np.ndarray  # (n,)
    y: np.ndarray  # (n,) bool
    weight: np.ndarray  # (n,)
    answers_yes: int
    answers_no: int
    coder_rows: int | None = None
    """The first ``coder_rows`` rows are the coder's answers (explicit or implicit), the rest the codebook's
    seeds; None: all rows are the coder's."""
    documents: np.ndarray | None = None
    """(coder_rows,) the document each of the coder's rows comes from (any labels, in the rows' order); None:
    held out in contiguous stretches of rows instead of by document."""
    finished: np.ndarray | None = None
    """(coder_rows,) bool: the row lies in the part of its document the coder has answered in full from its start
    (every sentence up to it that the zero-shot run suggested anything for has an answer; None: all do). Only
    those count toward :data:`LOW_CUT_DOCUMENTS`, and only those train the pooled codes: answers scattered over
    documents, as "uncertain first" gives them, are the sentences nearest the threshold, on which a low cut
    looks better than it does on a stretch of a document read in order."""


@dataclass(frozen=True)
class CodeModel:
    w: np.ndarray  # (d,)
    a: float
    b: float
    calibrated: bool
    cut: float = SUGGEST_AT
    """The probability from which the code is suggested: chosen on the coder's answers once calibrated."""


@dataclass(frozen=True)
class Model:
    """One :class:`CodeModel` per code, in score-column order, and the zero-shot anchor."""

    codes: tuple[CodeModel, ...]
    threshold: float
    """t: the zero-shot score at which the anchor is even (the zero-shot threshold, or fitted on the answers)."""
    scale: float = PRIOR_SCALE
    """σ: the anchor's slope (fixed, or fitted on the answers pooled over codes)."""

    def logits(self, x: np.ndarray, s0: np.ndarray) -> np.ndarray:
        """(n, C) log-odds for embeddings ``x`` (n, d) with zero-shot scores ``s0`` (n, C)."""
        w = np.stack([c.w for c in self.codes])  # (C, d)
        a = np.array([c.a for c in self.codes])
        b = np.array([c.b for c in self.codes])
        offset = (np.asarray(s0, dtype=np.float64) - self.threshold) / self.scale
        return np.asarray(x, dtype=np.float64) @ w.T + a * offset + b

    def proba(self, x: np.ndarray, s0: np.ndarray) -> np.ndarray:
        return sigmoid(self.logits(x, s0))

    @property
    def cuts(self) -> np.ndarray:
        return np.array([c.cut for c in self.codes])

    @property
    def calibrated(self) -> np.ndarray:
        return np.array([c.calibrated for c in self.codes], dtype=bool)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def balanced_weights(y: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Scale ``base`` weights so positives and negatives carry equal totals (when both are present)."""
    w = np.asarray(base, dtype=np.float64).copy()
    pos, neg = w[y].sum(), w[~y].sum()
    if pos > 0 and neg > 0:
        total = pos + neg
        w[y] *= total / (2 * pos)
        w[~y] *= total / (2 * neg)
    return w


def fit_code(
    ex: Examples,
    threshold: float,
    *,
    scale: float = PRIOR_SCALE,
    l2_w: float | None = None,
    l2_a: float = L2_A,
    l2_b: float = L2_B,
) -> CodeModel:
    """Fit one code's model (L-BFGS; deterministic).

    With too few answers, or when the learned model does not beat the zero-shot score on the coder's
    own answers held out in turn (:data:`FOLDS`-fold cross-validation, F1 of the suggestions), the
    code keeps the zero-shot prior itself: learning never makes a code worse than its zero-shot
    suggestions, as far as the coder's answers can tell.
    """
    d = ex.x.shape[1] if ex.x.ndim == 2 else 0
    prior = CodeModel(np.zeros(d), 1.0, 0.0, False)
    if not (ex.answers_yes >= MIN_CALIBRATION and ex.answers_no >= MIN_CALIBRATION):
        return prior
    if ex.documents is not None and len(np.unique(ex.documents)) < MIN_DOCUMENTS:
        return prior
    x = np.asarray(ex.x, dtype=np.float64)
    offset = (np.asarray(ex.s0, dtype=np.float64) - threshold) / scale
    mine = np.arange(len(ex.y)) < (ex.coder_rows if ex.coder_rows is not None else len(ex.y))
    spread = ex.documents is None or len(np.unique(ex.documents[_whole(ex) & ex.y[mine]])) >= LOW_CUT_DOCUMENTS
    penalties = ((L2_W if spread else L2_W_FEW) if l2_w is None else l2_w, l2_a, l2_b)
    cv = _cross_validated(x, offset, ex, mine, penalties, stop_if_worse=EVERY_FOLD)
    if cv.learned_f1 <= cv.zero_f1 or (EVERY_FOLD and cv.worse):
        return prior
    w, a, b, _ = _fit(x, offset, ex.y, np.asarray(ex.weight, dtype=np.float64), penalties)
    return CodeModel(w, a, b, True, best_cut(cv.held_out[mine], ex.y[mine], CUTS if spread else GATE_CUTS))


def _whole(ex: Examples) -> np.ndarray:
    """(coder_rows,) bool: the coder's rows answered in full from their document's start (:attr:`Examples.finished`)."""
    assert ex.documents is not None
    return np.ones(len(ex.documents), dtype=bool) if ex.finished is None else np.asarray(ex.finished, dtype=bool)


FOLDS = 3
MIN_DOCUMENTS = 2
"""Documents a code's answers must come from before it is learned on its own. Its cross-validation holds out
whole documents (:func:`_folds`): a model fitted on one interview and checked on other stretches of the same
interview learned that interview's topics. Measured on the demo (review half split in two, one-off): codes
learned from the first transcript alone, suggested from a probability of 0.2, took κ on the other transcripts
from 0.171 to 0.09–0.10 in one review order of three."""
LOW_CUT_DOCUMENTS = 5
"""Documents a learned code's yes answers must come from before its cut may go below 0.5 and its penalty drop
to :data:`L2_W`. With its answers in two or three interviews, held-out probabilities are a poor guide to the
next interview: on the demo (review half split in two, 3 orders, after 40 % and 80 % of it) cuts as low as 0.2
took κ from the zero-shot 0.171 to 0.164 / 0.170, never below 0.5 0.173 / 0.170, and with the stronger penalty
too 0.175 / 0.171; NHS answers, each its own document, keep the low cuts (0.372 after 20 % against 0.323 with
the floor) and the weaker penalty. Only rows answered in full from their document's start count: reviewing
"uncertain first" (the sentences nearest the threshold, in every document) once let cuts of 0.2 through on
the demo after a few hundred answers, and F1 on the documents nobody reviewed fell from the zero-shot 0.185
to 0.149 (`make bench`'s simulated reviewer, 900 answers); counting those rows only, it stayed at or above
zero-shot, and document order was unchanged (benchmarks/NOTES.md)."""
EVERY_FOLD = True
"""A code is learned only if its learned suggestions are no worse than zero-shot on any held-out third
of the coder's answers, as well as better over all three: with many codes, a pooled win alone let codes
through by chance that then did worse on documents nobody reviewed (measured on the demo)."""


class CrossValidation(NamedTuple):
    learned_f1: float
    zero_f1: float
    worse: bool
    """The learned suggestions did worse than zero-shot on at least one held-out third."""
    held_out: np.ndarray
    """(n,) each row's probability from the model fitted without its third (NaN: not held out, or not fitted)."""


def _cross_validated(
    x: np.ndarray,
    offset: np.ndarray,
    ex: Examples,
    mine: np.ndarray,
    penalties: tuple[float, float, float],
    *,
    stop_if_worse: bool = False,
) -> CrossValidation:
    """F1 of the learned suggestions and of the zero-shot ones on the coder's rows, each fold of
    :func:`_folds` held out in turn (whole documents; contiguous stretches of rows without them), whether the
    learned ones did worse on any fold, and each held-out row's probability: sentences of one interview are
    alike, so holding out whole interviews, not scattered rows, says how the model does on interviews it has
    not seen.

    ``stop_if_worse``: return at the first worse third (the F1s then cover the thirds fitted so far), as the
    answer is settled: most codes of a fully coded project stop after one or two fits instead of four."""
    fold = np.full(len(ex.y), -1)
    fold[mine] = _folds(int(mine.sum()), ex.documents)
    base = np.asarray(ex.weight, dtype=np.float64)
    counts = np.zeros((2, 3))  # (learned, zero-shot) x (true positives, predicted, actual)
    worse = False
    held_out = np.full(len(ex.y), np.nan)
    for k in range(FOLDS):
        test = fold == k
        train = ~test
        if not test.any() or not ex.y[train & mine].any() or ex.y[train & mine].all():
            continue
        w, a, b, cut = _fit(x[train], offset[train], ex.y[train], base[train], penalties)
        p = sigmoid(x[test] @ w + a * offset[test] + b)
        held_out[test] = p
        y = ex.y[test]
        here = np.zeros((2, 3))
        for row, pred in enumerate((p >= cut, offset[test] >= 0)):  # zero-shot: the score reaches its threshold
            here[row] = ((pred & y).sum(), pred.sum(), y.sum())
        counts += here
        worse |= _f1(here[0]) < _f1(here[1])
        if worse and stop_if_worse:
            break
    return CrossValidation(_f1(counts[0]), _f1(counts[1]), worse, held_out)


def _folds(n: int, documents: np.ndarray | None) -> np.ndarray:
    """(n,) the fold of each of the coder's rows: whole documents, in the order they first appear, dealt into
    up to :data:`FOLDS` runs of about equal rows (fewer folds with fewer documents); without documents,
    contiguous thirds of the rows, so neighbouring sentences stay together."""
    if documents is None:
        return np.arange(n) * FOLDS // max(n, 1)
    _, first, which = np.unique(np.asarray(documents), return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))[which]  # each row's document, numbered by first appearance
    sizes = np.bincount(rank)
    k = min(FOLDS, len(sizes))
    before = np.cumsum(sizes) - sizes  # rows before each document
    doc_fold = np.minimum((before + sizes / 2) * k // max(n, 1), k - 1).astype(np.int64)
    return doc_fold[rank]


def _f1(c: np.ndarray) -> float:
    tp, n_pred, n_true = c
    return float(2 * tp / (n_pred + n_true)) if n_pred + n_true else 0.0


def _fit(
    x: np.ndarray, offset: np.ndarray, y_bool: np.ndarray, base: np.ndarray, penalties: tuple[float, float, float]
) -> tuple[np.ndarray, float, float, float]:
    """(w, a, b, cut): the balanced fit, its intercept corrected back to calibrated odds, and the cut among
    :data:`GATE_CUTS` with the best F1 on the explicit answers among these rows (what the gate compares with
    zero-shot: on the rows it was fitted on, so never below 0.5)."""
    from scipy.optimize import minimize

    l2_w, l2_a, l2_b = penalties
    d = x.shape[1]
    y = y_bool.astype(np.float64)
    sw = balanced_weights(y_bool, base)
    # balancing multiplies the odds by neg/pos: taken back out of the intercept, so probabilities stay calibrated
    shift = float(np.log(base[~y_bool].sum() / base[y_bool].sum())) if y_bool.any() and not y_bool.all() else 0.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, a, b = theta[:d], theta[d], theta[d + 1]
        z = x @ w + a * offset + b
        p = sigmoid(z)
        # log(1 + e^z) - y z, stably
        nll = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z)))
        r = sw * (p - y)
        grad = np.empty_like(theta)
        grad[:d] = x.T @ r + l2_w * w
        grad[d] = float(r @ offset) + l2_a * (a - 1.0)
        grad[d + 1] = float(r.sum()) + l2_b * b
        pen = 0.5 * (l2_w * float(w @ w) + l2_a * (a - 1.0) ** 2 + l2_b * b * b)
        return nll + pen, grad

    theta0 = np.zeros(d + 2)
    theta0[d] = 1.0
    theta = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 200}).x
    w, a, b = theta[:d].copy(), float(theta[d]), float(theta[d + 1]) - shift
    answers = base >= 1.0  # the coder's own explicit answers, not seeds or implicit rows
    cut = best_cut(sigmoid(x[answers] @ w + a * offset[answers] + b), y_bool[answers], GATE_CUTS)
    return w, a, b, cut


MIN_POOLED = 30
"""Answers of each kind (yes and no), pooled over the codes not learned yet, before their shared map is fitted."""


def fit_pooled(order: np.ndarray, offset: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(a, b) of one map from the zero-shot offset ``(s0 − t)/σ`` to a probability, ``sigmoid(a · offset + b)``,
    fitted on the coder's answers for every code not learned on its own, pooled: many codes have too few
    answers each to be calibrated, but all of them together have plenty. Not balanced: it is meant to say
    how often such a score was a yes.

    Rows are (sentence in import order, offset, yes/no), one per (sentence answered, code). None while
    either kind has fewer than :data:`MIN_POOLED` answers, or when the map does not predict every held-out
    third of the sentences (contiguous stretches of sentence ids) better than the zero-shot
    prior ``sigmoid(offset)`` does (log loss): then the codes keep "not yet calibrated"."""
    y = np.asarray(y, dtype=bool)
    if y.sum() < MIN_POOLED or (~y).sum() < MIN_POOLED:
        return None
    offset = np.asarray(offset, dtype=np.float64)
    _, fold = np.unique(np.asarray(order), return_inverse=True)
    fold = fold * FOLDS // (fold.max() + 1)
    for k in range(FOLDS):
        test = fold == k
        if not test.any() or test.all() or y[~test].all() or not y[~test].any():
            return None
        a, b = _platt(offset[~test], y[~test])
        if _log_loss(a * offset[test] + b, y[test]) >= _log_loss(offset[test], y[test]):
            return None
    a, b = _platt(offset, y)
    return (a, b) if a > 0 else None


def _platt(offset: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import minimize

    t = y.astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * offset + theta[1]
        r = sigmoid(z) - t
        reg = 1e-3  # a whisper toward the prior map (a = 1, b = 0), so separable answers stay finite
        value = float(np.sum(np.logaddexp(0.0, z) - t * z)) + 0.5 * reg * ((theta[0] - 1) ** 2 + theta[1] ** 2)
        return value, np.array([float(r @ offset) + reg * (theta[0] - 1), float(r.sum()) + reg * theta[1]])

    a, b = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def _log_loss(z: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y.astype(np.float64) * z))


CUTS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)
"""Where a learned code may be suggested from, chosen on held-out probabilities (:func:`_cross_validated`).
The old rule (a cut ≥ 0.5 chosen on the answers the model was fitted on) had over-suggested on the demo when
allowed lower (0.13 against 0.165); chosen out of fold, with whole documents held out (:data:`MIN_DOCUMENTS`), and
with the shared cut and :data:`L2_W` above, NHS answers went from κ 0.30 to 0.37 after 20 % of decisions and
the demo from 0.171 to 0.175 (review halves split in two, 3 orders, one-off)."""
GATE_CUTS = (0.5, 0.6, 0.7, 0.8)


def best_cut(p: np.ndarray, y: np.ndarray, cuts: Sequence[float] = CUTS) -> float:
    """The cut among ``cuts`` with the best F1 of ``p`` against the answers ``y`` (ties: the one nearest 0.5);
    rows whose ``p`` is NaN are left out."""
    p = np.asarray(p, dtype=np.float64)
    keep = ~np.isnan(p)
    p, y = p[keep], np.asarray(y, dtype=bool)[keep]
    best, best_f1 = SUGGEST_AT, -1.0
    for c in sorted(cuts, key=lambda c: abs(c - SUGGEST_AT)):
        pred = p >= c
        tp = float((pred & y).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if (pred.sum() + y.sum()) else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = c, f1
    return best


SHARED_CUTS = tuple(round(0.2 + 0.025 * i, 3) for i in range(17))
"""Zero-shot scores (0.2 … 0.6) :func:`shared_cut` chooses among."""


def shared_cut(documents: np.ndarray, score: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """One zero-shot cut for every code not learned on its own, from the coder's answers on them pooled (one row
    per (sentence answered, code): the sentence's document, its zero-shot ``score``, yes or no): the cut among
    :data:`SHARED_CUTS` with the best F1. It is kept only if the answers come from :data:`MIN_DOCUMENTS`
    documents or more and, chosen with a third of the documents held out (:func:`_folds`), it does at least as
    well as ``threshold`` on that third, for each third and over all of them; else ``threshold``."""
    cut = gated_cut(documents, score, y, np.asarray(score) >= threshold, threshold)
    return threshold if cut is None else cut


def gated_cut(
    documents: np.ndarray, score: np.ndarray, y: np.ndarray, baseline: np.ndarray, near: float
) -> float | None:
    """The cut on ``score`` among :data:`SHARED_CUTS` with the best F1 on the answers ``y``, if, chosen with each
    third of the documents held out in turn, it does at least as well there as the ``baseline`` suggestions
    (bool, per row), on every third and over all; else None. Ties go to the cut nearest ``near``."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=bool)
    if y.sum() < MIN_POOLED or (~y).sum() < MIN_POOLED or len(np.unique(documents)) < MIN_DOCUMENTS:
        return None
    fold = _folds(len(y), np.asarray(documents))
    counts = np.zeros((2, 3))  # (cut, baseline) x (true positives, predicted, actual)
    for k in np.unique(fold):  # a fold may be empty when one document outweighs the rest
        test = fold == k
        if not y[~test].any() or not y[test].any():
            return None
        cut = _best_score_cut(score[~test], y[~test], near)
        pred = (score[test] >= cut, baseline[test])
        rows = np.array([[(q & y[test]).sum(), q.sum(), y[test].sum()] for q in pred], dtype=np.float64)
        if _f1(rows[0]) < _f1(rows[1]):
            return None
        counts += rows
    if _f1(counts[0]) < _f1(counts[1]):
        return None
    return _best_score_cut(score, y, near)


MOVE_TOWARD = BETA
MOVE_AWAY = GAMMA
"""How far a code's prototype moves toward the mean of the sentences a coder gave it and away from the mean of
those she rejected it for: learned.v1's update and weights (:func:`coder.learn.rocchio`)."""


def moved(prototype: np.ndarray, toward: np.ndarray, away: np.ndarray) -> np.ndarray:
    """``prototype`` (d,) moved toward the mean of ``toward`` (k, d) and away from the mean of ``away``, normalised."""
    return rocchio(prototype, toward, away, beta=MOVE_TOWARD, gamma=MOVE_AWAY).astype(np.float64)


def moved_held_out(
    x: np.ndarray, prototype: np.ndarray, toward: np.ndarray, away: np.ndarray, documents: np.ndarray
) -> np.ndarray:
    """(n,) for each row of ``x`` (n, d): its cosine to ``prototype`` moved (:func:`moved`) with the rows of the
    other documents only (``toward``/``away``: bool masks over the rows), less its cosine to ``prototype``:
    what moving adds to its score, as it would for a document the coder has not answered."""
    x = np.asarray(x, dtype=np.float64)
    _, doc = np.unique(np.asarray(documents), return_inverse=True)
    n_docs = int(doc.max()) + 1 if len(doc) else 0
    out = np.zeros(len(x))
    sums = {}
    for name, mask in (("t", np.asarray(toward, bool)), ("a", np.asarray(away, bool))):
        s = np.zeros((n_docs, x.shape[1]))
        np.add.at(s, doc[mask], x[mask])
        sums[name] = (s, np.bincount(doc[mask], minlength=n_docs), s.sum(axis=0), int(mask.sum()))
    base = np.asarray(prototype, dtype=np.float64)
    for d in range(n_docs):
        if sums["t"][3] == int(sums["t"][1][d]):  # no yes answer outside this document: no move, as for a new code
            continue
        v = base.copy()
        for name, w in (("t", MOVE_TOWARD), ("a", -MOVE_AWAY)):
            s, cnt, total, n = sums[name]
            k = n - int(cnt[d])
            if k:
                v += w * (total - s[d]) / k
        norm = np.linalg.norm(v)
        rows = doc == d
        out[rows] = x[rows] @ (v / norm if norm else v) - x[rows] @ base
    return out


def _best_score_cut(score: np.ndarray, y: np.ndarray, threshold: float) -> float:
    best, best_f1 = threshold, -1.0
    for c in sorted(SHARED_CUTS, key=lambda c: abs(c - threshold)):
        pred = score >= c
        f1 = _f1(np.array([(pred & y).sum(), pred.sum(), y.sum()], dtype=np.float64))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(c), f1
    return best


def fit(examples: Sequence[Examples], threshold: float, scale: float = PRIOR_SCALE, **penalties: float) -> Model:
    return Model(tuple(fit_code(e, threshold, scale=scale, **penalties) for e in examples), threshold, scale)


def select(
    proba: np.ndarray,
    ancestors: np.ndarray,
    groups: Sequence[tuple[int, Sequence[int]]] = (),
    *,
    at: float | np.ndarray = SUGGEST_AT,
    top_k: int = 3,
    rank: np.ndarray | None = None,
) -> list[list[tuple[int, int]]]:
    """Per sentence, up to ``top_k`` (code index, rank) pairs whose probability reaches ``at``.

    A code is dropped when one of its descendants also passes (the more specific is suggested).
    ``groups`` are mutually exclusive sets as (parent index, member indices): exactly one member is
    suggested, the likeliest, wherever the parent or any member (itself or through a subcode) passes,
    and on every sentence for the top-level set of an exclusive codebook (parent index -1); the others
    and their subcodes never are. ``rank`` (n, C), if given, decides which member is the likeliest
    (compared within a set only); by default ``proba``.
    """
    p = np.asarray(proba, dtype=np.float64)
    passed = p >= np.asarray(at)
    forced = np.zeros_like(passed)
    for parent, members in groups:
        idx = np.asarray(members, dtype=np.int64)
        below = [np.flatnonzero(ancestors[:, m]) for m in idx]  # each member's subcodes
        hit = np.stack([passed[:, m] | passed[:, d].any(axis=1) for m, d in zip(idx, below, strict=True)], axis=1)
        applies = np.ones(len(p), dtype=bool) if parent < 0 else hit.any(axis=1) | passed[:, parent]
        best = np.argmax((p if rank is None else np.asarray(rank))[:, idx], axis=1)
        for j, (m, d) in enumerate(zip(idx, below, strict=True)):  # the others, with their subcodes, are out
            lose = applies & (best != j)
            passed[np.ix_(lose, d)] = False
            passed[:, m] = False
        rows = np.flatnonzero(applies)
        passed[rows, idx[best[rows]]] = True
        forced[rows, idx[best[rows]]] = True
    return ranked_picks(passed, p + forced, ancestors, top_k)  # a set's pick ranks first: the set always applies
