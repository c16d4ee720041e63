"""learned.v2's words block (coder.learn2_words): a vocabulary from the answered sentences only."""

from __future__ import annotations

import numpy as np

from coder import learn2_words as l2w


def test_the_vocabulary_holds_the_terms_of_two_answered_sentences_or_more_and_the_same_texts_give_the_same_rows():
    texts = ["The parking was awful.", "Parking cost too much.", "Staff were kind.", "Kind staff, awful food."]
    words = l2w.vocabulary(texts)
    assert words is not None
    rows = words(["Parking again", "a word nobody answered"])
    assert rows.shape == (2, words.size)
    assert rows[0].nnz >= 1 and rows[1].nnz == 0  # an unseen word carries no weight
    np.testing.assert_allclose(np.linalg.norm(rows[0].toarray()), 1.0)  # each row scaled to unit length
    again = l2w.vocabulary(list(texts))
    assert again is not None
    np.testing.assert_array_equal(words(texts).toarray(), again(texts).toarray())
    # a term in one sentence only is left out: "food" is not in the vocabulary
    assert words(["food"]).nnz == 0


def test_no_vocabulary_without_a_term_two_sentences_share():
    assert l2w.vocabulary([]) is None
    assert l2w.vocabulary(["one sentence", "another thing"]) is None
