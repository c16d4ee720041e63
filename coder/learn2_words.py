"""The words of a sentence, as learned.v2's second feature block. Pure.

A sentence embedding places "the staff were lovely" near "the nurses were kind", which is what zero-shot
needs; but a coder's codes often turn on words a general sentence model blurs ("parking", "waiting",
"rude"). So an exclusive set's model, and a code's once its yes answers span
:data:`coder.learn2.MANY_DOCUMENTS` documents, also weigh the sentence's words and word pairs, each term
weighted by how rare it is among the sentences the coder has answered (tf-idf, sublinear counts, each
row scaled to unit length), with its own penalty (:data:`coder.learn2.L2_WORDS`). The vocabulary comes
from the coder's answered sentences only, so the same answers give the same model; a word no answered
sentence has carries no weight. Words are scikit-learn's default tokens (two letters or more, so "can't"
counts as "can"): keeping apostrophes and single letters changed κ by less than 0.01 either way on NHS and
AnnoMI (benchmarks/NOTES.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MIN_DF = 2
"""Sentences a term must occur in, among those answered, to enter the vocabulary."""
NGRAMS = (1, 2)


class Words:
    """A vocabulary fitted on answered sentences; calling it gives texts' rows (n, V), sparse."""

    def __init__(self, texts: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vec = TfidfVectorizer(min_df=MIN_DF, ngram_range=NGRAMS, sublinear_tf=True, dtype=np.float64)
        self._vec.fit(list(texts))

    @property
    def size(self) -> int:
        return len(self._vec.vocabulary_)

    def __call__(self, texts: Sequence[str]) -> Any:
        return self._vec.transform(list(texts)).tocsr()


def vocabulary(texts: Sequence[str]) -> Words | None:
    """The words of ``texts`` (the coder's answered sentences), or None when too few to build one from."""
    try:
        return Words(texts)
    except ValueError:  # no term in MIN_DF sentences (or no texts at all)
        return None
