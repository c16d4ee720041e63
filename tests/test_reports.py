"""What a report counts: unreviewed suggestions are those no coder in scope answered, so a suggestion a
coder rejected never counts in that coder's --include-suggested tally, presence table or saturation."""

from __future__ import annotations

import pytest

from coder.app import Project


@pytest.fixture
def coded(precoded):
    return precoded


def mentions(p: Project, path: str, **selection) -> int:
    return next(r.mentions for r in p.tally(**selection).rows if r.path == path)


def test_a_rejected_suggestion_never_counts_in_that_coders_tally(coded):
    s = coded.review("ana")
    item = s.next()
    before = mentions(coded, item.code_path, coders=[], include_suggested=True)
    s.reject(item)
    ana = mentions(coded, item.code_path, coders=["ana"], include_suggested=True)
    assert ana == before - 1
    # the rejected pair is gone from ana's presence table too
    m = coded.presence(coders=["ana"], include_suggested=True)
    col = m.col_labels.index(item.code_path)
    doc = coded.documents()[0]
    row = next(i for i, label in enumerate(m.row_labels) if label.endswith(f"#{item.segment_idx + 1}"))
    assert doc.name in m.row_labels[row]
    assert m.matrix[row][col] == 0 or any(
        i.segment_id == item.segment_id and i.code_path.startswith(item.code_path + " > ") for i in s.pending()
    )


def test_accept_counts_once_and_other_coders_suggestions_stay_unreviewed(coded):
    s = coded.review("ana")
    item = s.next()
    before = mentions(coded, item.code_path, coders=[], include_suggested=True)
    s.accept(item)
    # ana's accept is a coding; it is not counted again as a suggestion
    assert mentions(coded, item.code_path, coders=["ana"], include_suggested=True) == before
    assert mentions(coded, item.code_path, coders=["ana"]) >= 1
    # ben answered nothing, but he is not a coder here yet: his selection needs decisions
    b = coded.review("ben")
    b.reject(b.next())
    # for ben the suggestion ana accepted is still unreviewed: it counts in his pre-coded tally
    assert mentions(coded, item.code_path, coders=["ben"], include_suggested=True) >= 1


def test_undo_brings_a_rejected_suggestion_back(coded):
    s = coded.review("ana")
    item = s.next()
    before = mentions(coded, item.code_path, coders=[], include_suggested=True)
    s.reject(item)
    s.accept(s.next())  # ana must stay a coder with a standing decision after the undo below
    s.undo()
    s.undo()
    s.accept(next(i for i in s.pending() if (i.segment_id, i.code_path) != (item.segment_id, item.code_path)))
    assert mentions(coded, item.code_path, coders=["ana"], include_suggested=True) == before


def test_a_tally_says_how_many_codings_on_interviewer_speech_it_leaves_out(coded):
    store = coded._store
    interviewer = next(s for s in store.segments(coded_only=False) if not s.coded)  # kept from an import, say
    path = coded.codebook().codes[0].path
    store.record_decision(segment_id=interviewer.id, code_path=path, coder="ana", answer="accept")
    note = "1 coding(s) on interviewer speech (kept from an import) are not counted"
    assert any(n.startswith(note) for n in coded.tally(coders=["ana"]).notes)
    assert any(n.startswith(note) for n in coded.tally().notes)
    participant = next(s for s in store.segments(coded_only=True))
    store.record_decision(segment_id=participant.id, code_path=path, coder="ben", answer="accept")
    assert not any("interviewer speech" in n for n in coded.tally(coders=["ben"]).notes)
