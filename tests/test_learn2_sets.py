"""learned.v2 for mutually exclusive sets (coder.learn2_sets): one anchored multiclass model per set."""

from __future__ import annotations

import numpy as np

from coder import learn2_sets as l2s


def _three_classes(n, rng, d=6):
    """Sentences of three members; the zero-shot scores confuse members 0 and 2, the vectors do not."""
    y = np.arange(n) % 3
    x = rng.normal(scale=0.3, size=(n, d))
    x[np.arange(n), y] += 1.0
    s0 = np.full((n, 3), 0.3) + rng.normal(scale=0.01, size=(n, 3))
    s0[y == 1, 1] += 0.1
    s0[y == 2, 0] += 0.1  # zero-shot says member 0 where the coder says 2
    s0[y == 0, 0] += 0.1
    return x, s0, y


def test_an_exclusive_set_is_learned_as_one_multiclass_model_only_once_earned():
    rng = np.random.default_rng(4)
    x, s0, y = _three_classes(300, rng)
    few = l2s.fit_group(l2s.GroupExamples(x[:12], s0[:12], y[:12], np.ones(12), 12), 0.35)
    assert not few.learned  # 4 sentences per member: fewer than MIN_CALIBRATION
    ex = l2s.GroupExamples(x, s0, y, np.ones(300), 300)
    gm = l2s.fit_group(ex, 0.35)
    again = l2s.fit_group(ex, 0.35)
    np.testing.assert_array_equal(gm.w, again.w)  # the same answers give the same model
    assert gm.learned
    xt, st, yt = _three_classes(300, np.random.default_rng(5))
    p = gm.proba(xt, st, 0.35)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == yt).mean() > 0.9 > (st.argmax(axis=1) == yt).mean()
    # the zero-shot argmax already right: nothing to learn, the set keeps it
    s_right = np.full((300, 3), 0.3)
    s_right[np.arange(300), y] += 0.2
    kept = l2s.fit_group(l2s.GroupExamples(rng.normal(size=(300, 6)), s_right, y, np.ones(300), 300), 0.35)
    assert not kept.learned


def test_a_set_is_checked_only_on_answers_given_in_full_from_a_documents_start():
    """Answers scattered by "uncertain first" are the sentences nearest a decision: they train the set but may not
    vouch for it, as for single codes; only rows answered in full from their document's start check the gate."""
    rng = np.random.default_rng(4)
    x, s0, y = _three_classes(300, rng)
    everywhere = np.ones(300, bool)
    assert l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300, finished=everywhere), 0.35).learned
    scattered = np.zeros(300, bool)
    scattered[:20] = True  # a short run from a document's start: fewer than MIN_CALIBRATION per member
    assert not l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300, finished=scattered), 0.35).learned
    # plenty in full, but all in the first third of the answers: the other thirds cannot vouch for it
    first = np.zeros(300, bool)
    first[:100] = True
    assert not l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300, finished=first), 0.35).learned
    # the same answers with enough of them in full: learned, from all of them
    enough = np.zeros(300, bool)
    enough[::2] = True
    gm = l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300, finished=enough), 0.35)
    assert gm.learned
    np.testing.assert_array_equal(gm.w, l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300), 0.35).w)


def test_a_set_picks_by_its_balanced_scores_and_shows_calibrated_probabilities():
    rng = np.random.default_rng(6)
    x, s0, y = _three_classes(600, rng)
    keep = (y != 1) | (np.arange(600) % 10 == 1)  # member 1 is rare
    ex = l2s.GroupExamples(x[keep], s0[keep], y[keep], np.ones(int(keep.sum())), int(keep.sum()))
    gm = l2s.fit_group(ex, 0.35)
    assert gm.learned and gm.balance[1] > 0 > gm.balance[0]  # balancing raised the rare member's odds
    shown, pick = gm.proba(x, s0, 0.35), gm.pick(x, s0, 0.35)
    np.testing.assert_allclose(
        np.log(pick / shown) - np.log(pick / shown)[:, :1],
        (gm.balance - gm.balance[0])[None, :].repeat(600, 0),
        atol=1e-9,
    )


def test_a_set_weighs_the_words_its_vectors_miss():
    from coder import learn2_words as l2w

    def data(n, rng):
        y = np.arange(n) % 3
        cue = np.array(["want change", "keep same", "said nothing"])[y]
        texts = [f"{c} w{k}" for c, k in zip(cue, rng.integers(0, 30, n), strict=True)]
        x = rng.normal(size=(n, 6))
        s0 = np.full((n, 3), 0.3) + rng.normal(scale=0.01, size=(n, 3))
        return texts, x, s0, y

    texts, x, s0, y = data(300, np.random.default_rng(7))
    words = l2w.vocabulary(texts)
    plain = l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300), 0.35)
    gm = l2s.fit_group(l2s.GroupExamples(x, s0, y, np.ones(300), 300, words(texts)), 0.35)
    assert not plain.learned and plain.v is None
    assert gm.learned and gm.v is not None and gm.v.shape == (3, words.size)
    t_texts, t_x, t_s0, t_y = data(200, np.random.default_rng(8))
    assert (gm.pick(t_x, t_s0, 0.35, words=words(t_texts)).argmax(axis=1) == t_y).mean() > 0.95
    np.testing.assert_allclose(gm.proba(t_x, t_s0, 0.35, words=words(t_texts)).sum(axis=1), 1.0)
