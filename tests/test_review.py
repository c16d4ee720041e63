"""Reviewing suggestions through Project.review(): the stream, answers and their audit trail, what a coder sees."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from coder.app import Answered
from coder.app.learning import LearnResult, learn_v1
from coder.app.review import REASONS, Item, with_sample
from coder.errors import InputError
from coder.sample import sample_rank
from coder.store import Store

from .conftest import DATA, write


@pytest.fixture
def suggested(project, embedder, blank_splitter):
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    project.suggest(embedder, threshold=0.2)
    return project


@pytest.fixture
def sampled(project, embedder, blank_splitter, tmp_path):
    """As ``suggested``, with faith's children a mutually exclusive set: the queue then shows the random sample."""
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    book = (DATA / "mini.yaml").read_text().replace("    children:", "    exclusive: true\n    children:", 1)
    project.load_codebook(write(tmp_path / "mini-exclusive.yaml", book))
    project.suggest(embedder, threshold=0.2)
    return project


def keys(items):
    return {(i.segment_id, i.code_path) for i in items}


def test_queue_answer_resume_and_audit_trail(suggested, stored):
    ana = suggested.review("ana")
    items = ana.pending()
    assert len(items) >= 3
    assert len(keys(items)) == len(items)
    first = items[0]
    did = ana.accept(first).decision_id
    # the audit trail: who answered what, under which codebook, for which run and model
    (row,) = [r for r in stored.decisions(coder="ana") if r.id == did]
    run = stored.active_run("similarity.v2")
    assert (row.coder, row.answer, row.code_path, row.codebook_hash, row.suggestion_id) == (
        "ana",
        "accept",
        first.code_path,
        suggested.codebook().hash,
        first.suggestion_id,
    )
    assert (first.suggester, first.model, run.suggester, run.model) == (
        "similarity.v2",
        "hash-bow-64@v1",
        "similarity.v2",
        "hash-bow-64@v1",
    )
    # resumable: a finished item is never shown again to the same coder, but still to others
    assert (first.segment_id, first.code_path) not in keys(suggested.review("ana").pending())
    assert (first.segment_id, first.code_path) in keys(suggested.review("ben").pending())
    ana.reject(items[1], reason=REASONS["2"], note="not about faith")
    p = suggested.review("ana").progress()
    assert (p.reviewed, p.accepted, p.rejected, p.remaining) == (2, 1, 1, len(items) - 2)
    assert p.acceptance == 0.5
    rejected = next(r for r in stored.decisions(coder="ana") if r.answer == "reject")
    assert (rejected.reason, rejected.memo) == ("wrong code", "not about faith")


def test_undo_keeps_audit_and_returns_item(suggested, stored):
    ana = suggested.review("ana")
    item = ana.next()
    ana.reject(item, reason="too vague")
    undone = ana.undo()
    assert undone is not None and (undone.segment_id, undone.code_path, undone.answer) == (
        item.segment_id,
        item.code_path,
        "reject",
    )
    assert (item.segment_id, item.code_path) in keys(suggested.review("ana").pending())
    trail = stored.decisions(include_undone=True)
    assert len(trail) == 1 and trail[0].undone_at is not None  # still in the trail, marked undone
    assert stored.decisions() == []
    assert ana.undo() is None


def test_orders(suggested):
    by_score = suggested.review("ana", order="score").pending()
    assert [i.probability for i in by_score] == sorted((i.probability for i in by_score), reverse=True)
    unc = suggested.review("ana", order="uncertain").pending()
    assert [abs(i.probability - 0.5) for i in unc] == sorted(abs(i.probability - 0.5) for i in unc)
    assert not any(i.sampled for i in unc)  # no exclusive set, whose gate the sample would feed: no sample
    doc = suggested.review("ana", order="document").pending()
    assert [i.segment_idx for i in doc] == sorted(i.segment_idx for i in doc)
    assert keys(by_score) == keys(unc) == keys(doc)
    code = "Spirituality / faith"
    faith = suggested.review("ana", code=code).pending()
    assert faith and all(i.code_path.startswith(code) for i in faith)
    with pytest.raises(InputError, match="no code 'Nope'"):
        suggested.review("ana", code="Nope")
    with pytest.raises(ValueError, match="order must be one of"):
        suggested.review("ana", order="random")


def test_uncertain_first_gives_the_random_sample_a_place_after_every_three_of_the_models(sampled):
    unc = sampled.review("ana", order="uncertain").pending()
    model_picks = [abs(i.probability - 0.5) for i in unc if not i.sampled]
    assert model_picks == sorted(model_picks)
    # after every three of the model's items, the random sample's next sentence, whatever the model thinks of it
    runs: list[list] = []  # consecutive model picks, or one sample sentence's items
    for i in unc:
        same = runs and runs[-1][0].sampled == i.sampled and (not i.sampled or runs[-1][0].segment_id == i.segment_id)
        if same:
            runs[-1].append(i)
        else:
            runs.append([i])
    assert [r[0].sampled for r in runs[:4]] == [False, True, False, True]
    assert [len(r) for r in runs[:-2] if not r[0].sampled] == [3] * len([r for r in runs[:-2] if not r[0].sampled])
    ranks = [sample_rank(i.document, i.segment_idx) for i in unc if i.sampled]
    assert ranks == sorted(ranks)
    assert not any(i.sampled for i in sampled.review("ana", order="score").pending())
    assert keys(unc) == keys(sampled.review("ana", order="document").pending())


def _item(seg: int, code: str, p: float, doc: str = "d", idx: int | None = None) -> Item:
    return Item(seg, seg, code, p, p, "similarity.v2", "m", "", doc, 1, "P01", seg if idx is None else idx, 0, "t")


def test_with_sample_takes_every_item_of_the_next_sample_sentence_once():
    items = [_item(s, c, 0.5) for s in range(8) for c in ("A", "B")]
    out = with_sample(items, every=3)
    assert sorted((i.segment_id, i.code_path) for i in out) == sorted((i.segment_id, i.code_path) for i in items)
    first = min(range(1, 8), key=lambda s: sample_rank("d", s))  # sentence 0's items came first anyway
    assert [(i.segment_id, i.sampled) for i in out[2:4]] == [(first, True), (first, True)]  # both its codes
    rest = [i for i in out if not i.sampled]
    assert rest == [i for i in items if i in rest]  # the others keep their order
    sampled = [i.segment_id for i in out if i.sampled]
    assert sampled == sorted(sampled, key=lambda s: sample_rank("d", s)) and len(sampled) == 2 * len(set(sampled))
    assert with_sample(items, every=0) == items
    near = [replace(_item(s, "A", 0.4), suggestion_id=None) for s in range(20, 40)]  # near misses only
    assert not any(i.sampled and i.suggestion_id is None for i in with_sample(near + items, every=2))
    assert not any(i.sampled for i in with_sample(with_sample(items, every=3), every=0))  # old marks cleared
    maybe = replace(_item(first, "C", 0.45), suggestion_id=None)  # a near miss on the sample's sentence
    out = with_sample([maybe, *items], every=3)
    assert [i.sampled for i in out if i.code_path == "C"] == [False]  # it stays the model's pick
    assert [(i.segment_id, i.code_path) for i in out if i.sampled][:2] == [(first, "A"), (first, "B")]
    assert with_sample([], every=3) == []


def test_apply_code_memo_and_context(suggested, stored):
    ana = suggested.review("ana")
    seg = suggested.sentence("sample", 3)
    assert ana.apply_code(seg.id, "Familial relationships", note="missed by the suggester") == "Familial relationships"
    (row,) = stored.decisions(coder="ana")
    assert (row.answer, row.suggestion_id, row.memo) == ("accept", None, "missed by the suggester")
    ana.apply_code(seg.id, "familial RELATIONSHIPS")  # a name in any case; the same coding again
    assert [r.id for r in stored.decisions(coder="ana", include_undone=True)] == [row.id]  # no duplicate
    with pytest.raises(InputError, match="no code 'Pets'"):
        ana.apply_code(seg.id, "Pets")
    ana.memo(seg.id, "  she laughed here ")
    assert [m.text for m in stored.memos(seg.id)] == ["she laughed here"]
    with pytest.raises(InputError, match="empty memo"):
        ana.memo(seg.id, "   ")
    item = ana.next()
    ctx = ana.context(item)
    assert ctx.position.startswith("P90 · turn ") and ctx.position.endswith(" of 6")
    _speaker, speech, _mine, span = next(t for t in ctx.turns if t[2])
    assert speech[span[0] : span[1]] == item.text
    assert suggested.sentence_context(item.segment_id) == ctx


def _same_words_as(stored, bible, other_id):
    """Give another sentence the Bible sentence's words and vector: corrupts the file on purpose, since no
    transcript in the tests has two sentences whose closeness to each other is known in advance."""
    with stored.transaction() as db:
        db.execute(
            "UPDATE segments SET text = ?, text_hash = (SELECT text_hash FROM segments WHERE id = ?) WHERE id = ?",
            (bible.text, bible.segment_id, other_id),
        )


def test_explain_prefers_a_closer_accepted_segment(suggested, stored):
    ben = suggested.review("ben")
    bible = next(i for i in ben.pending() if i.code_path.endswith("Reading scripture") and "Bible" in i.text)
    assert ben.explain(bible).kind == "example"
    # accept a segment with the same words for that code: now it is the closest evidence
    other = suggested.sentence("sample", 3)
    _same_words_as(stored, bible, other.id)
    ben.apply_code(other.id, bible.code_path)
    why = ben.explain(bible)
    assert (why.kind, why.participant) == ("accepted", "P90") and why.similarity == pytest.approx(1.0, abs=1e-5)


def test_explain_is_blind_to_other_coders(suggested, stored):
    ana, ben = suggested.review("ana"), suggested.review("ben")
    bible = next(i for i in ana.pending() if i.code_path.endswith("Reading scripture") and "Bible" in i.text)
    other = suggested.sentence("sample", 3)
    _same_words_as(stored, bible, other.id)
    ben.apply_code(other.id, bible.code_path)
    assert ana.explain(bible).kind == "example"
    assert ben.explain(bible).kind == "accepted"


def test_search_codes(suggested):
    ana = suggested.review("ana")
    assert ana.search_codes("bible")[0] == "Spirituality / faith > Reading scripture"
    assert ana.search_codes("familal")[0] == "Familial relationships"
    assert ana.search_codes("") == []
    # where each matched: "bible" is in Reading scripture's examples, not its name; a typo is close to a name
    assert ana.code_matches("bible")[0] == ("Spirituality / faith > Reading scripture", "text")
    assert ana.code_matches("familal")[0] == ("Familial relationships", "typo")
    assert ana.code_matches("prayer")[0] == ("Spirituality / faith > Prayer and personal spiritual practices", "name")


def test_status_counts(suggested):
    ana = suggested.review("ana")
    items = ana.pending()
    ana.accept(items[0])
    ana.reject(items[1])
    rows = {r.code: r for r in suggested.status() if r.coder == "ana"}
    a = rows[items[0].code_path]
    assert a.accepted == 1 and a.expected_unfound is None  # no learned.v1 yet
    total_pending = sum(r.pending for r in rows.values())
    assert total_pending == len(items) - 2


def test_one_standing_answer_per_segment_and_code(suggested, stored):
    ana = suggested.review("ana")
    item = ana.next()
    ana.reject(item, reason="wrong code")
    ana.apply_code(item.segment_id, item.code_path)  # changed her mind via 'c'
    standing = [
        r for r in stored.decisions(coder="ana") if r.segment_id == item.segment_id and r.code_path == item.code_path
    ]
    assert [r.answer for r in standing] == ["accept"]
    trail = stored.decisions(coder="ana", include_undone=True)
    assert [(r.answer, r.undone_at is not None) for r in trail] == [("reject", True), ("accept", False)]
    assert ana.accept(item).decision_id == standing[0].id  # same answer again: no new row


def test_stale_codes_retired_and_learned_runs_refitted_on_the_new_codebook(suggested, stored, embedder, tmp_path):
    ana = suggested.review("ana")
    ana.accept(ana.next())
    [before] = suggested.learn(coder="ana")
    assert [(r.suggester, r.learned_from) for r in stored.active_runs()] == [
        ("similarity.v2", None),
        ("learned.v2", "ana"),
    ]
    renamed = write(
        tmp_path / "v2.yaml",
        (DATA / "mini.yaml").read_text().replace("name: Education and educational goals", "name: Education"),
    )
    suggested.load_codebook(renamed)
    assert all(i.code_path != "Education and educational goals" for i in suggested.review("ana").pending())
    res = suggested.suggest(embedder, threshold=0.2)
    [again] = res.relearned  # ana's run, fitted again from the same decision on the new scores
    assert again.coder == "ana" and again.decisions == before.decisions == 1
    runs = stored.active_runs()
    assert [(r.suggester, r.learned_from) for r in runs] == [("similarity.v2", None), ("learned.v2", "ana")]
    assert json.loads(runs[1].code_paths) == json.loads(runs[0].code_paths)
    assert "Education" in json.loads(runs[1].code_paths)
    assert stored.learned_run("ana").id == again.run_id != before.run_id


def test_learned_suggestions_carry_a_codebook_example_as_evidence(suggested, stored):
    ana = suggested.review("ana")
    for item in ana.pending()[:4]:
        ana.accept(item)
    learn_v1(stored, coder="ana", threshold=0.0)  # threshold 0: learned.v1 suggests for every sentence
    book = suggested.codebook()
    texts = {t for c in book.codes for t in (c.examples or ())} | {
        f"{c.name}: {c.definition}" + (f" {c.include}" if c.include else "") for c in book.codes
    }
    learned = [r for r in stored.suggestions() if r.suggester == "learned.v1"]
    assert learned and {r.evidence for r in learned} <= texts


def test_chips_show_a_coders_own_answers_and_pending_suggestions(suggested):
    doc = suggested.documents()[0].id
    ana, ben = suggested.review("ana"), suggested.review("ben")
    items = ana.pending()
    ana.accept(items[0])
    ana.reject(items[1], reason=REASONS["3"])
    seg = next(
        s.id for t in suggested.document_view(doc).turns for s in t.segments if s.coded and s.id != items[0].segment_id
    )
    ana.apply_code(seg, "Familial relationships")
    ben.accept(items[2])
    chips = suggested.chips("ana", doc)
    flat = {(c.segment_id, c.code_path): c for cs in chips.values() for c in cs}
    assert flat[(items[0].segment_id, items[0].code_path)].state == "accepted"
    rejected = flat[(items[1].segment_id, items[1].code_path)]
    assert (rejected.state, rejected.reason, rejected.suggested) == ("rejected", "too vague", True)
    assert flat[(items[2].segment_id, items[2].code_path)].state == "pending"  # ben's answer is not ana's
    by_hand = flat[(seg, "Familial relationships")]
    assert by_hand.state == "accepted" and by_hand.suggested == ((seg, "Familial relationships") in keys(items))
    pending = {k for k, c in flat.items() if c.state == "pending"}
    assert pending == keys(suggested.review("ana").pending())
    for cs in chips.values():  # suggestions first, by score
        scores = [c.score for c in cs if c.suggested]
        assert scores == sorted(scores, reverse=True)
        assert [c.suggested for c in cs] == sorted((c.suggested for c in cs), reverse=True)


def test_documents_progress_matches_the_queue(suggested):
    ana = suggested.review("ana")
    items = ana.pending()
    for it in items[:2]:
        ana.accept(it)
    suggested.review("ben").reject(items[0])
    (p,) = suggested.documents_progress("ana")
    assert p.suggested == len(items) and p.reviewed == 2 and p.coded == len({i.segment_id for i in items[:2]})
    assert p.pending == len(suggested.review("ana").pending())
    (b,) = suggested.documents_progress("ben")  # nobody else's work on a coder's list
    assert (b.reviewed, b.coded, b.pending) == (1, 0, len(items) - 1)
    (z,) = suggested.documents_progress("zoe")
    assert (z.reviewed, z.pending) == (0, len(items))


def test_item_for_finds_answered_suggestions_too(suggested):
    ana = suggested.review("ana")
    it = ana.next()
    ana.accept(it)
    again = ana.item_for(it.segment_id, it.code_path)
    assert again == it
    assert ana.item_for(it.segment_id, "No such code") is None


def test_learning_is_due_every_n_answers_then_fits(suggested, tmp_path):
    ana = suggested.review("ana", learn_every=2)
    items = ana.pending()
    first = ana.accept(items[0])
    assert isinstance(first, Answered) and not first.learn_due
    assert ana.reject(items[1]).learn_due
    res = ana.learn()
    assert isinstance(res, LearnResult) and res.decisions == 2
    assert not suggested.review("ana", learn_every=0).accept(items[2]).learn_due
    # a codebook change since the last suggest: learning is skipped with the reason, answers stay
    renamed = write(
        tmp_path / "v2.yaml",
        (DATA / "mini.yaml").read_text().replace("name: Education and educational goals", "name: Education"),
    )
    suggested.load_codebook(renamed)
    out = suggested.review("ana").learn()
    assert isinstance(out, str) and out.startswith("learning skipped: ") and "the codebook changed" in out
    assert suggested.review("ana").progress().reviewed == 3


def test_each_coder_refits_their_own_run_while_others_answer(suggested, stored):
    """Every coder learns from their own answers only: ana's re-fits never touch ben's run or queue."""
    ana = suggested.review("ana", learn_every=1)
    items = ana.pending()
    ana.accept(items[0])
    suggested.review("consensus").accept(items[0])
    assert isinstance(ana.learn(), LearnResult)
    first = stored.learned_run("ana")
    assert first is not None and first.decisions == 1
    ben = suggested.review("ben", learn_every=1)
    ben.reject(items[1])
    ben_run = ben.learn()
    assert isinstance(ben_run, LearnResult) and ben_run.coder == "ben" and ben_run.decisions == 1
    ben_queue = suggested.review("ben").pending()
    ana.accept(items[2])
    out = ana.learn()  # others answered too: ana still re-fits, from her answers only
    assert isinstance(out, LearnResult) and out.coder == "ana" and out.decisions == 2
    assert stored.learned_run("ana").id == out.run_id != first.id
    assert stored.learned_run("ben").id == ben_run.run_id  # ben's run untouched
    assert suggested.review("ben").pending() == ben_queue
    assert stored.learned_run("consensus") is None  # nobody asked for one


def test_the_samples_rhythm_goes_on_from_one_session_to_the_next(sampled):
    """A coder who stops after two answers meets the sample in her next session after one more, not three."""
    first = sampled.review("ana", order="uncertain")
    for _ in range(2):
        item = first.next()
        assert not item.sampled
        first.reject(item, reason="wrong code")
    later = sampled.review("ana", order="uncertain").pending()
    assert [i.sampled for i in later[:2]] == [False, True]
    assert [i.sampled for i in sampled.review("ben", order="uncertain").pending()[:4]] == [False, False, False, True]
    assert sampled.setting("review.since_sample.ana") == "2" and sampled.setting("review.since_sample.ben") is None


def test_a_session_keeps_the_samples_rhythm_across_answers_skips_and_reloads(sampled):
    expected = [(i.segment_id, i.code_path, i.sampled) for i in sampled.review("ana", order="uncertain").pending()]
    session = sampled.review("ana", order="uncertain")
    shown = []
    for n in range(14):  # the queue is read again after every answer, as the faces do
        item = session.next()
        assert item is not None
        shown.append((item.segment_id, item.code_path, item.sampled))
        if n == 5:
            session.skip(item)
        elif n == 9:
            session._pending = None  # as after a re-fit: read afresh from the store
            session.reject(item, reason="wrong code")
        else:
            session.reject(item, reason="wrong code")
    assert shown == expected[:14]
    assert sum(s for *_, s in shown) >= 3
    # each answer records how it was reached: the sample's sentences apart from the model's picks
    with Store(sampled.path) as store:
        via = {(d.segment_id, d.code_path): d.via for d in store.decisions(coder="ana")}
    answered = [(seg, code, s) for n, (seg, code, s) in enumerate(shown) if n != 5]
    assert [via[(seg, code)] for seg, code, _ in answered] == ["sample" if s else "uncertain" for *_, s in answered]
    narrowed = sampled.review("ana", order="uncertain", code="Spirituality / faith").pending()
    assert narrowed and not any(i.sampled for i in narrowed)  # a sample of one code's suggestions is no sample
