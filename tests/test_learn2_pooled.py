"""learned.v2's codes not learned on their own: the pooled map, the shared cut, moved prototypes (pure)."""

from __future__ import annotations

import numpy as np
import pytest

from coder import learn2 as l2
from coder import learn2_pooled as l2p


def test_the_shared_cut_moves_only_where_held_out_documents_agree():
    rng = np.random.default_rng(5)
    n = 3000
    docs = np.repeat(np.arange(10), n // 10)
    score = rng.uniform(0.1, 0.6, n)
    y = rng.random(n) < np.where(score >= 0.27, 0.8, 0.02)  # the answers say: from about 0.27
    assert l2p.shared_cut(docs, score, y, 0.35) == pytest.approx(0.275)
    assert l2p.shared_cut(np.zeros(n, int), score, y, 0.35) == 0.35  # one document: it cannot say for the next
    y_flat = rng.random(n) < np.where(score >= 0.35, 0.8, 0.02)  # zero-shot's own threshold is right
    assert l2p.shared_cut(docs, score, y_flat, 0.35) == pytest.approx(0.35)
    few = np.zeros(n, bool)
    few[:5] = True
    assert l2p.shared_cut(docs, score, few, 0.35) == 0.35  # too few yeses to say anything
    odd = y.copy()
    odd[docs >= 7] = rng.random(int((docs >= 7).sum())) < np.where(score[docs >= 7] >= 0.5, 0.8, 0.02)
    assert l2p.shared_cut(docs, score, odd, 0.35) == 0.35  # the last third of the documents says otherwise


def _pooled_rows(seed: int, a: float, b: float, n: int = 900) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    docs = np.repeat(np.arange(n // 30), 30)  # three codes answered on each of ten sentences per document
    offset = rng.uniform(-4, 4, n)
    y = rng.random(n) < l2.sigmoid(a * offset + b)
    return docs, offset, y


def test_the_pooled_map_recovers_how_often_a_score_was_a_yes():
    fitted = l2p.fit_pooled(*_pooled_rows(0, 0.6, -1.5))
    assert fitted is not None
    a, b = fitted
    assert a == pytest.approx(0.6, abs=0.15) and b == pytest.approx(-1.5, abs=0.3)


def test_the_pooled_map_waits_for_enough_answers_of_each_kind_and_for_a_sensible_slope():
    docs, offset, y = _pooled_rows(1, 0.6, -1.5)
    few = np.flatnonzero(y)[: l2p.MIN_POOLED - 1]
    keep = np.concatenate([few, np.flatnonzero(~y)])
    assert l2p.fit_pooled(docs[keep], offset[keep], y[keep]) is None
    assert l2p.fit_pooled(docs, offset, offset < 0) is None  # higher scores, fewer yeses: not a map to show
    # one document's answers, however many: they say how its own sentences went, not how the next one's will
    assert l2p.fit_pooled(np.zeros_like(docs), offset, y) is None
    assert l2p.fit_pooled(np.minimum(docs, 1), offset, y) is not None  # two documents: it may
    # a map that predicts two thirds of the documents but not the last is not shown
    odd = y.copy()
    last = docs >= 20
    odd[last] = np.random.default_rng(2).random(int(last.sum())) < l2.sigmoid(-0.6 * offset[last] + 1.5)
    assert l2p.fit_pooled(docs, offset, odd) is None


def test_a_moved_prototype_scores_each_document_as_if_it_had_not_been_answered():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(12, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    proto = np.array([1.0, 0, 0, 0, 0])
    toward = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0], bool)
    away = np.array([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], bool)
    docs = np.repeat(["a", "b", "c"], 4)
    got = l2p.moved_held_out(x, proto, toward, away, docs)
    for d in "abc":  # by hand: the prototype moved by the other two documents' answers only
        other = docs != d
        v = l2p.moved(proto, x[toward & other], x[away & other])
        np.testing.assert_allclose(got[docs == d], x[docs == d] @ v - x[docs == d] @ proto, atol=1e-6)
    v = proto + l2p.MOVE_TOWARD * x[toward].mean(axis=0) - l2p.MOVE_AWAY * x[away].mean(axis=0)
    np.testing.assert_allclose(l2p.moved(proto, x[toward], x[away]), v / np.linalg.norm(v), atol=1e-6)
    only_a = toward & (docs == "a")  # one document holds every yes: it is scored unmoved, as a code with none is
    got = l2p.moved_held_out(x, proto, only_a, away, docs)
    assert (got[docs == "a"] == 0).all() and (got[docs != "a"] != 0).all()
    assert (l2p.moved_held_out(x, proto, toward, np.zeros(12, bool), docs) != 0).all()  # nothing rejected: still moves
