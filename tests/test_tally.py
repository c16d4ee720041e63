from __future__ import annotations

from coder.codebook import read_codebook
from coder.tally import tally

from .conftest import DATA


def test_parent_counts_segment_once_and_shares():
    book = read_codebook(DATA / "mini.yaml")
    faith, scripture, prayer, family, edu = (c.path for c in book.codes)
    codings = [
        (1, "P1", scripture),
        (1, "P1", prayer),  # one segment, two subcodes
        (2, "P1", prayer),
        (3, "P2", scripture),
        (4, "P3", family),
        (5, "P3", edu),
        (6, "P2", "Old code > gone"),  # not in this codebook version: ignored
    ]
    rows = {r.path: r for r in tally(book, codings, participants_total=4)}
    assert rows[faith].mentions == 3 and rows[faith].share == "3/5"
    assert rows[scripture].share == "2/3" and rows[prayer].share == "2/3"
    assert rows[faith].participants == 2 and rows[faith].participant_pct == 50.0
    assert rows[family].share == "1/5" and rows[edu].participants == 1
