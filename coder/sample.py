"""The random sample: one fixed, model-independent order of a project's sentences. Pure.

``coder review --order uncertain`` answers the sentences nearest a decision first, and answers chosen that way
are a biased sample: a model checked on them can look better than zero-shot while it is worse on whole
documents. So, where the codebook has a mutually exclusive set, after every ``SAMPLE_EVERY - 1`` of the model's
items that order shows the next sentence of this sample (:func:`coder.app.review.samples`,
:func:`coder.app.review.with_sample`), and the set's gate counts the part of each document's sample the coder has
answered without a gap, from its start, as answered in full, as it counts a transcript read in order from its
start (:func:`coder.app.learning_v2.learn_v2`). A single code's rules count documents read from their start
only: a few sampled sentences of a transcript are not a transcript's worth of evidence (benchmarks/NOTES.md).

The order is a hash of the sentence's document name and place, so it is the same in every session, on every
machine and for every coder, and nothing the model or the coder does can move a sentence in it (which sentences
the queue can show from it, those with a suggestion pending, does depend on the suggestions).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping

SAMPLE_EVERY = 4
"""Under ``--order uncertain``, after every ``SAMPLE_EVERY - 1`` of the model's items, the next sentence of the
random sample (benchmarks/NOTES.md: 1 in 6 and 1 in 8 gave therapist behaviour less at 20 %)."""


@functools.lru_cache(maxsize=1 << 17)
def sample_rank(document: str, idx: int) -> int:
    """The sentence's place in the random sample (smaller comes first). Cached: a review session orders its queue
    by it after every answer."""
    digest = hashlib.blake2b(f"{document}\x1f{idx}".encode(), digest_size=8, person=b"coder.sample").digest()
    return int.from_bytes(digest, "big")


def answered_prefix(place: Mapping[int, tuple[str, int]], answered: Iterable[int], gaps: Iterable[int]) -> set[int]:
    """The answered sentences that come before their document's first gap in the random sample's order.

    ``place``: each sentence's (document, index); ``answered``: the sentences the coder has answered; ``gaps``:
    the sentences she could have answered and has not (those the zero-shot run suggested something for). Each
    document is taken on its own, as when it is read from its start: a document nobody reviews, or one the coder
    has not reached, holds no other document's sample back."""
    first_gap: dict[str, int] = {}
    for s in gaps:
        if s in place:
            doc, rank = place[s][0], sample_rank(*place[s])
            first_gap[doc] = min(rank, first_gap.get(doc, rank))
    return {
        s
        for s in answered
        if s in place and (place[s][0] not in first_gap or sample_rank(*place[s]) < first_gap[place[s][0]])
    }
