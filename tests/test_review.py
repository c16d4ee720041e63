from __future__ import annotations

import pytest

from coder import review as rv
from coder import workflows as wf
from coder.errors import CoderError, InputError

from .conftest import DATA


@pytest.fixture
def project(store, embedder, blank_splitter):
    wf.import_files(store, [DATA / "sample.txt"], splitter=blank_splitter)
    wf.load_codebook(store, DATA / "mini.yaml")
    wf.suggest(store, embedder, threshold=0.2)
    return store


def test_queue_answer_resume_and_audit_trail(project):
    items = rv.queue(project, "ana")
    assert len(items) >= 3
    assert len({(i.segment_id, i.code_path) for i in items}) == len(items)
    first = items[0]
    did = rv.answer(project, "ana", first, "accept")
    row = project.db.execute(
        """SELECT c.coder, c.answer, c.code_path, c.codebook_hash, r.suggester, r.model
           FROM decisions c JOIN suggestions g ON g.id = c.suggestion_id JOIN suggestion_runs r ON r.id = g.run_id
           WHERE c.id = ?""",
        (did,),
    ).fetchone()
    assert tuple(row) == (
        "ana",
        "accept",
        first.code_path,
        wf.current_codebook(project).hash,
        "similarity.v1",
        "hash-bow-64@v1",
    )
    # resumable: a finished item is never shown again to the same coder, but still to others
    assert (first.segment_id, first.code_path) not in {(i.segment_id, i.code_path) for i in rv.queue(project, "ana")}
    assert (first.segment_id, first.code_path) in {(i.segment_id, i.code_path) for i in rv.queue(project, "ben")}
    rv.answer(project, "ana", items[1], "reject", reason=rv.REASONS["2"], note="not about faith")
    p = rv.progress(project, "ana")
    assert (p.reviewed, p.accepted, p.rejected, p.remaining) == (2, 1, 1, len(items) - 2)
    assert p.acceptance == 0.5


def test_undo_keeps_audit_and_returns_item(project):
    item = rv.queue(project, "ana")[0]
    rv.answer(project, "ana", item, "reject", reason="too vague")
    undone = rv.undo(project, "ana")
    assert undone is not None and (undone.segment_id, undone.code_path, undone.answer) == (
        item.segment_id,
        item.code_path,
        "reject",
    )
    assert (item.segment_id, item.code_path) in {(i.segment_id, i.code_path) for i in rv.queue(project, "ana")}
    rows = project.db.execute("SELECT undone_at FROM decisions").fetchall()
    assert len(rows) == 1 and rows[0][0] is not None  # still in the trail, marked undone
    assert rv.undo(project, "ana") is None


def test_orders(project):
    by_score = rv.queue(project, "ana", order="score")
    assert [i.probability for i in by_score] == sorted((i.probability for i in by_score), reverse=True)
    unc = rv.queue(project, "ana", order="uncertain")
    assert [abs(i.probability - 0.5) for i in unc] == sorted(abs(i.probability - 0.5) for i in unc)
    doc = rv.queue(project, "ana", order="document")
    assert [i.segment_idx for i in doc] == sorted(i.segment_idx for i in doc)
    code = "Spirituality / faith"
    assert all(i.code_path.startswith(code) for i in rv.queue(project, "ana", code=code))
    with pytest.raises(InputError, match="no code 'Nope'"):
        rv.queue(project, "ana", code="Nope")


def test_apply_code_memo_and_context(project):
    seg = project.segments(coded_only=True)[0]
    did = rv.apply_code(project, "ana", seg.id, "Familial relationships", note="missed by the suggester")
    row = project.db.execute("SELECT answer, suggestion_id, memo FROM decisions WHERE id = ?", (did,)).fetchone()
    assert tuple(row) == ("accept", None, "missed by the suggester")
    assert rv.apply_code(project, "ana", seg.id, "Familial relationships") == did  # no duplicate
    with pytest.raises(InputError, match="no code 'Pets'"):
        rv.apply_code(project, "ana", seg.id, "Pets")
    rv.memo(project, "ana", seg.id, "  she laughed here ")
    assert [m["text"] for m in project.memos(seg.id)] == ["she laughed here"]
    item = rv.queue(project, "ana")[0]
    ctx = rv.context(project, item)
    assert ctx.position.startswith("P90 · turn ") and ctx.position.endswith(" of 6")
    _speaker, speech, _mine, span = next(t for t in ctx.turns if t[2])
    assert speech[span[0] : span[1]] == item.text


def test_explain_prefers_a_closer_accepted_segment(project):
    items = [i for i in rv.queue(project, "ana") if i.code_path.endswith("Reading scripture")]
    bible = next(i for i in items if "Bible" in i.text)
    assert rv.explain(project, bible).kind == "example"
    # accept a segment with the same words for that code: now it is the closest evidence
    other = next(s for s in project.segments(coded_only=True) if s.id != bible.segment_id)
    project.db.execute(
        "UPDATE segments SET text = ?, text_hash = (SELECT text_hash FROM segments WHERE id = ?) WHERE id = ?",
        (bible.text, bible.segment_id, other.id),
    )
    rv.apply_code(project, "ben", other.id, bible.code_path)
    why = rv.explain(project, bible)
    assert (why.kind, why.participant) == ("accepted", "P90") and why.similarity == pytest.approx(1.0, abs=1e-5)


def test_search_codes(project):
    book = wf.current_codebook(project)
    assert rv.search_codes(book, "bible")[0] == "Spirituality / faith > Reading scripture"
    assert rv.search_codes(book, "familal")[0] == "Familial relationships"
    assert rv.search_codes(book, "") == []


def test_require_coder(project, monkeypatch):
    with pytest.raises(CoderError, match="no coder name"):
        rv.require_coder(None, project)
    project.set_setting("coder", "ana")
    assert rv.require_coder(None, project) == "ana"
    assert rv.require_coder(" ben ", project) == "ben"


def test_status_counts(project):
    items = rv.queue(project, "ana")
    rv.answer(project, "ana", items[0], "accept")
    rv.answer(project, "ana", items[1], "reject")
    rows = {r.code: r for r in rv.status(project) if r.coder == "ana"}
    a = rows[items[0].code_path]
    assert a.accepted == 1 and a.expected_unfound is None  # no learned.v1 yet
    total_pending = sum(r.pending for r in rows.values())
    assert total_pending == len(items) - 2


def test_one_standing_answer_per_segment_and_code(project):
    item = rv.queue(project, "ana")[0]
    rv.answer(project, "ana", item, "reject", reason="wrong code")
    rv.apply_code(project, "ana", item.segment_id, item.code_path)  # changed her mind via 'c'
    standing = [
        r
        for r in project.decisions(coder="ana")
        if r["segment_id"] == item.segment_id and r["code_path"] == item.code_path
    ]
    assert [r["answer"] for r in standing] == ["accept"]
    trail = project.decisions(coder="ana", include_undone=True)
    assert [(r["answer"], r["undone_at"] is not None) for r in trail] == [("reject", True), ("accept", False)]
    assert rv.answer(project, "ana", item, "accept") == standing[0]["id"]  # same answer again: no new row


def test_stale_codes_and_learned_runs_are_retired(project, embedder, tmp_path):
    from .conftest import write

    rv.answer(project, "ana", rv.queue(project, "ana")[0], "accept")
    rv.learn(project, coder="ana")
    assert any(r["suggester"] == "learned.v1" for r in project.active_runs())
    renamed = write(
        tmp_path / "v2.yaml",
        (DATA / "mini.yaml").read_text().replace("name: Education and educational goals", "name: Education"),
    )
    wf.load_codebook(project, renamed)
    assert all(i.code_path != "Education and educational goals" for i in rv.queue(project, "ana"))
    wf.suggest(project, embedder, threshold=0.2)
    assert [r["suggester"] for r in project.active_runs()] == ["similarity.v1"]


def test_explain_is_blind_to_other_coders(project):
    items = [i for i in rv.queue(project, "ana") if i.code_path.endswith("Reading scripture")]
    bible = next(i for i in items if "Bible" in i.text)
    other = next(s for s in project.segments(coded_only=True) if s.id != bible.segment_id)
    project.db.execute(
        "UPDATE segments SET text = ?, text_hash = (SELECT text_hash FROM segments WHERE id = ?) WHERE id = ?",
        (bible.text, bible.segment_id, other.id),
    )
    rv.apply_code(project, "ben", other.id, bible.code_path)
    assert rv.explain(project, bible, "ana").kind == "example"
    assert rv.explain(project, bible, "ben").kind == "accepted"


def test_learned_suggestions_carry_a_codebook_example_as_evidence(project):
    for item in rv.queue(project, "ana")[:4]:
        rv.answer(project, "ana", item, "accept")
    rv.learn(project, coder="ana", threshold=0.0)
    book = wf.current_codebook(project)
    texts = {t for c in book.codes for t in (c.examples or ())} | {
        f"{c.name}: {c.definition}" + (f" {c.include}" if c.include else "") for c in book.codes
    }
    learned = [r for r in project.suggestions() if r["suggester"] == "learned.v1"]
    assert learned and {r["evidence"] for r in learned} <= texts


def test_chips_show_a_coders_own_answers_and_pending_suggestions(project):
    doc = project.documents()[0].id
    items = rv.queue(project, "ana")
    rv.answer(project, "ana", items[0], "accept")
    rv.answer(project, "ana", items[1], "reject", reason=rv.REASONS["3"])
    seg = next(s for s in project.segments(coded_only=True) if s.id != items[0].segment_id)
    rv.apply_code(project, "ana", seg.id, "Familial relationships")
    rv.answer(project, "ben", items[2], "accept")
    chips = rv.chips(project, "ana", doc)
    flat = {(c.segment_id, c.code_path): c for cs in chips.values() for c in cs}
    assert flat[(items[0].segment_id, items[0].code_path)].state == "accepted"
    rejected = flat[(items[1].segment_id, items[1].code_path)]
    assert (rejected.state, rejected.reason, rejected.suggested) == ("rejected", "too vague", True)
    assert flat[(items[2].segment_id, items[2].code_path)].state == "pending"  # ben's answer is not ana's
    by_hand = flat[(seg.id, "Familial relationships")]
    assert by_hand.state == "accepted" and by_hand.suggested == (
        (seg.id, "Familial relationships") in {(i.segment_id, i.code_path) for i in items}
    )
    pending = {k for k, c in flat.items() if c.state == "pending"}
    assert pending == {(i.segment_id, i.code_path) for i in rv.queue(project, "ana")}
    for cs in chips.values():  # suggestions first, by score
        scores = [c.score for c in cs if c.suggested]
        assert scores == sorted(scores, reverse=True)
        assert [c.suggested for c in cs] == sorted((c.suggested for c in cs), reverse=True)


def test_documents_progress_matches_the_queue(project):
    items = rv.queue(project, "ana")
    for it in items[:2]:
        rv.answer(project, "ana", it, "accept")
    rv.answer(project, "ben", items[0], "reject")
    (p,) = rv.documents_progress(project)
    assert p.suggested == len(items) and p.reviewed == {"ana": 2, "ben": 1}
    assert p.pending("ana") == len(rv.queue(project, "ana")) and p.pending("zoe") == len(items)
    assert p.coded == {"ana": len({i.segment_id for i in items[:2]})}


def test_item_for_finds_answered_suggestions_too(project):
    it = rv.queue(project, "ana")[0]
    rv.answer(project, "ana", it, "accept")
    again = rv.item_for(project, it.segment_id, it.code_path)
    assert again == it
    assert rv.item_for(project, it.segment_id, "No such code") is None


def test_learner_counts_answers_then_fits(project):
    learner = rv.Learner(2)
    items = rv.queue(project, "ana")
    rv.answer(project, "ana", items[0], "accept")
    assert learner.answered(project, "ana") is None
    rv.answer(project, "ana", items[1], "reject")
    res = learner.answered(project, "ana")
    assert isinstance(res, rv.LearnResult) and res.decisions == 2
    assert rv.Learner(0).answered(project, "ana") is None
    # a codebook change since the last suggest: learning is skipped with the reason, answers stay
    stale = rv.Learner(1)
    project.db.execute("UPDATE suggestion_runs SET code_paths = '[]' WHERE suggester = 'similarity.v1'")
    out = stale.answered(project, "ana")
    assert isinstance(out, str) and out.startswith("learning skipped: ") and "the codebook changed" in out
    assert len(project.decisions(coder="ana")) == 2


def test_learner_does_not_refit_while_others_answer(project):
    """learned.v1 is shared: a re-fit from ana's answers would change ben's suggestions (blindness)."""
    items = rv.queue(project, "ana")
    rv.answer(project, "ana", items[0], "accept")
    rv.answer(project, "ben", items[1], "reject")
    out = rv.Learner(1).answered(project, "ana")
    assert isinstance(out, str) and out.startswith("learning skipped: ben also answered here")
    assert project.active_run("learned.v1") is None
    rv.answer(project, "consensus", items[0], "accept")  # the team's role is not another person
    project.db.execute("DELETE FROM decisions WHERE coder = 'ben'")
    assert isinstance(rv.Learner(1).answered(project, "ana"), rv.LearnResult)
