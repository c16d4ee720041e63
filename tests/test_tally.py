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


def countryman_codings():
    """34 coded sentences from 19 women, shaped like Countryman-Roswurm's (2012) reported figures."""
    ir = "Individual resources"
    faith = f"{ir} > Faith/Spirituality"
    ic = f"{ir} > Individual characteristics"
    so = f"{ic} > Survival oriented"
    codings = []
    seg = 0
    women = [f"W{i:02d}" for i in range(1, 20)]
    # Faith/Spirituality: 15 sentences by 7 women; subcodes 4 scripture, 5 congregation, 7 prayer,
    # one sentence carrying both scripture and prayer (counted once for Faith/Spirituality)
    faith_plan = ["scripture"] * 3 + ["congregation"] * 5 + ["prayer"] * 6 + ["both"]
    for i, kind in enumerate(faith_plan):
        seg += 1
        who = women[i % 7]
        if kind in ("scripture", "both"):
            codings.append((seg, who, f"{faith} > Reading scripture"))
        if kind == "congregation":
            codings.append((seg, who, f"{faith} > Attending a faith congregation"))
        if kind in ("prayer", "both"):
            codings.append((seg, who, f"{faith} > Prayer and other personal spiritual practices"))
    # Individual characteristics: 19 sentences; survival oriented 17 (9 belief in self), future 2
    for i in range(17):
        seg += 1
        codings.append((seg, women[7 + i % 12], f"{so} > Belief in self" if i < 9 else f"{so} > Self-reliance"))
    for i in range(2):
        seg += 1
        codings.append((seg, women[i], f"{ic} > Future oriented"))
    return codings


def test_reproduces_countryman_roswurm_figures():
    book = read_codebook(DATA / "countryman.yaml")
    rows = {r.path: r for r in tally(book, countryman_codings(), participants_total=19)}
    ir = "Individual resources"
    faith = rows[f"{ir} > Faith/Spirituality"]
    assert faith.share == "15/34"  # "Faith/Spirituality had a total of 15/34 mentions"
    assert [
        rows[f"{ir} > Faith/Spirituality > {c}"].mentions
        for c in (
            "Reading scripture",
            "Attending a faith congregation",
            "Prayer and other personal spiritual practices",
        )
    ] == [4, 5, 7]
    belief = rows[f"{ir} > Individual characteristics > Survival oriented > Belief in self"]
    assert belief.share == "9/17"  # "9 of the 17 mentions in survival oriented was belief in self"
    assert (faith.participants, faith.participants_total) == (7, 19)  # "almost half of the women (n=7)"
    assert round(faith.participant_pct) == 37
    assert rows["Hope"].mentions == 0 and rows["Hope"].share == "0/34"  # a code added after the coding
    assert rows[ir].mentions == 34 and rows[ir].participants == 19


def test_prose_and_row_selection():
    from coder.tally import prose, select_rows

    book = read_codebook(DATA / "countryman.yaml")
    rows = tally(book, countryman_codings(), participants_total=19)
    assert prose(rows, unit="women")[0] == (
        "Individual resources was mentioned 34 times (34/34 of all coded mentions) by 19 of 19 women (100%); "
        "the most frequent subcode was individual characteristics (19/34)."
    )
    assert [r.name for r in select_rows(rows, depth=1)] == ["Individual resources", "Hope"]
    assert "Hope" not in [r.name for r in select_rows(rows, min_mentions=1)]


def test_crosstab_splits_by_attribute_with_totals():
    from coder.tally import MISSING, crosstab

    book = read_codebook(DATA / "countryman.yaml")
    codings = countryman_codings()
    women = [f"W{i:02d}" for i in range(1, 20)]
    group = {w: ("under 25" if i < 5 else "25+") for i, w in enumerate(women[:-1])}  # W19 has no value
    tab = crosstab(book, codings, "age_group", group, women)
    assert tab.values == ["25+", "under 25", MISSING]
    assert tab.participants_total == {"25+": 13, "under 25": 5, MISSING: 1}
    faith = next(r for r in tab.rows if r.name == "Faith/Spirituality")
    # faith mentions came from W01..W07: W01..W05 are under 25, W06, W07 are 25+
    assert faith.participants == {"25+": 2, "under 25": 5, MISSING: 0}
    assert sum(faith.mentions.values()) == 15
    assert sum(tab.mentions_total.values()) == 34


def test_presence_cooccurrence_saturation_by_hand():
    from coder.tally import cooccurrence, presence, saturation

    book = read_codebook(DATA / "mini.yaml")
    faith, scripture, prayer, family, edu = (c.path for c in book.codes)
    codings = [(1, scripture), (1, prayer), (2, prayer), (2, family), (3, edu)]
    paths = [faith, scripture, prayer, family, edu]
    assert presence(book, codings, [1, 2, 3, 4], paths) == [
        [1, 1, 1, 0, 0],
        [1, 0, 1, 1, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
    ]
    m = cooccurrence(book, codings, [faith, family, edu])
    assert m == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]  # faith on units 1, 2 (once each); with family on unit 2
    steps = saturation(
        book,
        [("P1", scripture), ("P2", scripture), ("P2", family), ("P3", edu)],
        ["P1", "P2", "P3"],
        [faith, scripture, family, edu],
    )
    assert [(s.participant, s.new_codes, s.cumulative) for s in steps] == [
        ("P1", [faith, scripture], 2),
        ("P2", [family], 3),
        ("P3", [edu], 4),
    ]
