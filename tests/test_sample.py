from __future__ import annotations

from coder.sample import answered_prefix, sample_rank


def test_the_sample_order_is_fixed_and_knows_nothing_but_the_sentences_place():
    assert sample_rank("P01.txt", 3) == sample_rank("P01.txt", 3)
    # pinned: a project's answered sample must mean the same after an upgrade
    assert sample_rank("P01.txt", 3) == 0xE94F5586F35A0230
    ranks = [sample_rank("P01.txt", i) for i in range(200)]
    assert len(set(ranks)) == 200
    assert sorted(range(200), key=ranks.__getitem__) != list(range(200))  # not reading order
    assert sample_rank("P02.txt", 3) != sample_rank("P01.txt", 3)


def test_the_answered_prefix_stops_at_each_documents_first_gap_in_the_sample():
    place = {s: ("a", s) for s in range(10)} | {100 + s: ("b", s) for s in range(10)}
    order = sorted(range(10), key=lambda s: sample_rank("a", s))
    answered = set(order[:4]) | {order[6]}  # a's sample: four answered, then a gap, then one answered after it
    gaps = {order[4], order[5]}
    b_all = {100 + s for s in range(10)}  # b answered wholly, no gap in it: all of it counts
    assert answered_prefix(place, answered | b_all, gaps) == set(order[:4]) | b_all
    assert answered_prefix(place, answered, set()) == answered  # no gap anywhere
    assert answered_prefix(place, answered, {order[0]}) == set()
    # a gap in another document holds nothing back here; sentences not placed are left out
    assert answered_prefix(place, answered | {999}, gaps | {105}) == set(order[:4])
