"""ReviewSession: the review rules both faces share (terminal and page), driven without click."""

from __future__ import annotations

import pytest

from coder.app import ReviewState
from coder.app.review import REASONS
from coder.errors import InputError
from coder.store import Store


@pytest.fixture
def reviewing(precoded):
    return precoded


def keys(items):
    return [(i.segment_id, i.code_path) for i in items]


def test_next_accept_reject_and_progress(reviewing):
    s = reviewing.review("ana")
    total = len(s.pending())
    assert total >= 3
    first = s.next()
    a = s.accept(first)
    assert a.answer == "accept" and a.item == first
    second = s.next()
    assert second != first
    s.reject(second, reason=REASONS["2"])
    p = s.progress()
    assert (p.reviewed, p.accepted, p.rejected, p.remaining) == (2, 1, 1, total - 2)
    # a new session (the next day) shows neither answered item
    assert not {(first.segment_id, first.code_path), (second.segment_id, second.code_path)} & set(
        keys(reviewing.review("ana").pending())
    )
    # ben still sees both: answers are per coder
    assert (first.segment_id, first.code_path) in keys(reviewing.review("ben").pending())


def test_reject_with_unknown_reason_is_refused(reviewing):
    s = reviewing.review("ana")
    with pytest.raises(ValueError):
        s.reject(s.next(), reason="because")
    assert s.progress().reviewed == 0


def test_limit_counts_answers_that_still_stand(reviewing):
    """`--limit N` stops after N standing answers: an undone answer no longer counts."""
    s = reviewing.review("ana")
    s.accept(s.next())
    s.reject(s.next())
    assert s.state.answered == 2
    undone = s.undo()
    assert undone is not None and undone.answer == "reject"
    assert s.state.answered == 1
    # the undone item is back, and is what `next(prefer=...)` shows
    assert s.next(prefer=(undone.segment_id, undone.code_path)).segment_id == undone.segment_id
    # an undo of an answer from an earlier session does not change this session's count
    later = reviewing.review("ana")
    assert later.undo() is not None and later.state.answered == 0


def test_skip_hides_for_this_session_only(reviewing):
    s = reviewing.review("ana")
    item = s.next()
    s.skip(item)
    assert (item.segment_id, item.code_path) not in keys(s.pending())
    assert s.progress().remaining == len(s.pending())
    assert (item.segment_id, item.code_path) in keys(reviewing.review("ana").pending())


def test_sentence_done_is_the_last_chance_on_that_sentence(reviewing):
    """Rejecting the last suggestion on a sentence says so, so a face can offer a code for THAT sentence."""
    s = reviewing.review("ana")
    item = s.next()
    same = [i for i in s.pending() if i.segment_id == item.segment_id]
    answers = [s.reject(i) for i in same]
    assert [a.sentence_done for a in answers] == [False] * (len(same) - 1) + [True]
    assert [a.skipped for a in answers] == [0] * len(same)
    # coding the rejected sentence by hand codes that sentence, not the one now at the front
    assert s.apply_code(item.segment_id, "spirituality / FAITH") == "Spirituality / faith"
    front = s.next()
    assert front is None or front.segment_id != item.segment_id


def test_sentence_done_counts_the_suggestions_skipped_on_it(reviewing):
    s = reviewing.review("ana")
    by_sentence: dict[int, list] = {}
    for i in s.pending():
        by_sentence.setdefault(i.segment_id, []).append(i)
    items = next(v for v in by_sentence.values() if len(v) >= 2)
    s.skip(items[0])
    answers = [s.accept(i) for i in items[1:]]
    assert answers[-1].sentence_done and answers[-1].skipped == 1  # pending still: it comes back next session
    s.undo()
    assert s.skipped_on(items[0].segment_id) == 1
    s.apply_code(items[0].segment_id, items[0].code_path)  # the skipped code given by hand: it comes back no more
    assert s.skipped_on(items[0].segment_id) == 0
    last = s.accept(items[-1])
    assert last.sentence_done and last.skipped == 0


def test_apply_code_resolves_names_in_any_case_and_suggests(reviewing):
    s = reviewing.review("ana")
    item = s.next()
    book = reviewing.codebook()
    leaf = book.codes[-1]
    assert s.apply_code(item.segment_id, leaf.name.upper()) == leaf.path
    with Store(reviewing.path) as store:  # recorded as added by hand
        assert [d.via for d in store.decisions(coder="ana") if d.code_path == leaf.path] == ["hand"]
    with pytest.raises(InputError) as e:
        s.apply_code(item.segment_id, leaf.name[:-1] + "x")
    assert "did you mean" in (e.value.hint or "")


def test_learning_is_due_every_n_answers(reviewing):
    s = reviewing.review("ana", learn_every=2)
    due = [s.accept(s.next()).learn_due for _ in range(4)]
    assert due == [False, True, False, True]
    assert not any(reviewing.review("ana", learn_every=0).accept(i).learn_due for i in [s.next()])


def test_an_undone_answer_does_not_count_toward_the_next_refit(reviewing):
    s = reviewing.review("ana", learn_every=2)
    assert not s.accept(s.next()).learn_due
    s.undo()
    assert not s.accept(s.next()).learn_due  # the first answer was taken back: one answer stands
    assert s.accept(s.next()).learn_due


def test_undoing_a_no_code_answer_puts_the_refit_count_back_where_it_was(reviewing):
    s = reviewing.review("ana", learn_every=3)
    by_sentence: dict[int, list] = {}
    for i in s.pending():
        by_sentence.setdefault(i.segment_id, []).append(i)
    three = next(v for v in by_sentence.values() if len(v) == 3)
    first = next(i for i in s.pending() if i.segment_id != three[0].segment_id)
    assert not s.accept(first).learn_due  # one answer counted
    assert s.no_code(three[0]).learn_due  # its second rejection made the re-fit due, its third counts after it
    assert s.state.since_learn == 1
    s.undo()  # all three taken back: as after the first answer alone
    assert (s.state.since_learn, s.state.due_by, s.state.answered) == (1, None, 1)
    assert not s.accept(s.next()).learn_due and s.accept(s.next()).learn_due  # due again after two more


def test_state_carries_across_sessions_like_the_page(reviewing):
    """The page builds a session per request over one ReviewState per coder."""
    state = ReviewState()
    first = reviewing.review("ana", state=state)
    item = first.next()
    first.skip(item)
    first.accept(first.next())
    second = reviewing.review("ana", state=state)
    assert (item.segment_id, item.code_path) not in keys(second.pending())
    assert second.state.answered == 1
    assert second.undo() is not None and state.answered == 0


def test_same_decisions_same_queue(reviewing):
    """Determinism: two sessions over the same decisions list the same items in the same order."""
    s = reviewing.review("ana", order="uncertain")
    s.accept(s.next())
    assert keys(reviewing.review("ana", order="uncertain").pending()) == keys(
        reviewing.review("ana", order="uncertain").pending()
    )


def test_document_and_code_filters(reviewing):
    doc = reviewing.documents()[0]
    book = reviewing.codebook()
    top = book.children(None)[0]
    s = reviewing.review("ana", document=doc.participant, code=top.name.lower())
    assert s.code == top.path
    assert all(i.document == doc.name and i.code_path.startswith(top.path) for i in s.pending())


def test_status_keeps_every_answer_after_suggest_runs_again(reviewing, embedder):
    """A re-run of suggest (fewer suggestions) must not move answers out of accepted/rejected."""
    s = reviewing.review("ana")
    s.accept(s.next())
    s.reject(s.next())
    s.reject(s.next())
    hand = reviewing.documents()[0]
    sentence = reviewing.sentence(hand.name, 1)
    book = reviewing.codebook()
    suggested = {(i.segment_id, i.code_path) for i in reviewing.review("zed").pending()}
    leaf = next(c.path for c in book.codes if (sentence.id, c.path) not in suggested)
    reviewing.code_sentence("ana", sentence, leaf)

    def totals():
        rows = reviewing.status(["ana"])
        return sum(r.accepted for r in rows), sum(r.rejected for r in rows), sum(r.added for r in rows)

    assert totals() == (1, 2, 1)
    reviewing.suggest(embedder, threshold=0.99)  # almost nothing suggested now
    assert totals() == (1, 2, 1)


def test_no_code_rejects_every_suggestion_on_the_sentence_and_one_undo_takes_them_back(reviewing):
    from coder.app.review import NO_CODE
    from coder.store import Store

    stored = Store(reviewing.path)

    s = reviewing.review("ana")
    by_sentence: dict[int, list] = {}
    for i in s.pending():
        by_sentence.setdefault(i.segment_id, []).append(i)
    seg, items = next((k, v) for k, v in by_sentence.items() if len(v) >= 2)
    s.skip(items[-1])  # a skipped suggestion on the sentence is answered too, and said to be
    done = s.no_code(items[0])
    assert done.answer == "no code" and done.count == len(items) and done.sentence_done and done.skipped == 1
    assert s.state.answered == len(items)
    assert not any(i.segment_id == seg for i in s.pending())
    rows = [r for r in stored.decisions(coder="ana") if r.segment_id == seg]
    assert sorted(r.code_path for r in rows) == sorted(i.code_path for i in items)
    assert {(r.answer, r.reason) for r in rows} == {("reject", NO_CODE)}
    assert len({r.decided_at for r in rows}) == 1  # one moment: the one undo finds them all by it
    assert s.progress().rejected == len(items)
    undone = s.undo()
    assert undone is not None and 1 + len(undone.also) == len(items)
    assert undone.code_path == items[0].code_path  # the item shown when 'no code' was given: shown again first
    assert s.state.answered == 0 and not [r for r in stored.decisions(coder="ana") if r.segment_id == seg]
    assert {i.code_path for i in s.pending() if i.segment_id == seg} == {i.code_path for i in items}
    # ben's suggestions on the sentence are his own: untouched
    assert {i.code_path for i in reviewing.review("ben").pending() if i.segment_id == seg} == {
        i.code_path for i in items
    }
    stored.close()


def test_an_undo_after_no_code_takes_back_only_that_sentence(reviewing):
    from coder.store import Store

    stored = Store(reviewing.path)
    s = reviewing.review("ana")
    first = s.next()
    s.accept(first)
    later = next(i for i in s.pending() if i.segment_id != first.segment_id)
    s.no_code(later)
    s.undo()
    assert [(r.segment_id, r.answer) for r in stored.decisions(coder="ana")] == [(first.segment_id, "accept")]
    stored.close()


def test_no_code_is_refused_on_a_sentence_already_coded(reviewing):
    s = reviewing.review("ana")
    by_sentence: dict[int, list] = {}
    for i in s.pending():
        by_sentence.setdefault(i.segment_id, []).append(i)
    items = next(v for v in by_sentence.values() if len(v) >= 2)
    s.accept(items[0])
    with pytest.raises(InputError, match=f"you coded this sentence '{items[0].code_path}'") as e:
        s.no_code(items[1])
    assert "undo that code first" in str(e.value)
    assert s.state.answered == 1 and (items[1].segment_id, items[1].code_path) in keys(s.pending())


def test_undoing_the_answer_that_made_a_refit_due_makes_the_next_one_due_again(reviewing):
    s = reviewing.review("ana", learn_every=2)
    assert not s.accept(s.next()).learn_due
    assert s.accept(s.next()).learn_due
    s.undo()  # that answer is withdrawn: one answer stands since the last re-fit
    assert s.accept(s.next()).learn_due
