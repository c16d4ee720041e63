"""Codes carried over from the sentence before: the pure model (coder.carry) and, in a project, the review
items it offers (coder.app.carrying) on both faces' path."""

from __future__ import annotations

import numpy as np
import pytest

from coder import carry
from coder.app.review import REASONS
from coder.errors import CoderError
from coder.store import Store

from .conftest import DATA


def _runs(seed: int, n: int = 400, codes: int = 6, repeat: float = 0.7, base: float = 0.05):
    """Pairs of consecutive sentences whose codes come in runs: a code given to the sentence before is given
    again with probability ``repeat``, any other with ``base``; the zero-shot offset knows nothing of it."""
    rng = np.random.default_rng(seed)
    before = np.zeros((n, codes), bool)
    given = np.zeros((n, codes), bool)
    prev = rng.random(codes) < 0.3
    for i in range(n):
        now = np.where(prev, rng.random(codes) < repeat, rng.random(codes) < base)
        before[i], given[i] = prev, now
        prev = now
    offset = rng.normal(-1.0, 1.0, size=(n, codes))
    return offset, before, given


def test_codes_that_come_in_runs_are_carried_and_the_model_says_how_often():
    offset, before, given = _runs(0)
    m = carry.fit_carry(offset, before, given, threshold=0.35, scale=0.05)
    assert m is not None
    assert (m.repeats, m.carried, m.pairs) == (int((before & given).sum()), int(before.sum()), len(offset))
    rate = (before & given).sum() / before.sum()
    assert abs(float(m.proba(offset[before]).mean()) - rate) < 0.05  # not class-balanced: what the coder did
    assert m.proba_at(np.array([0.35]))[0] == pytest.approx(m.proba(np.array([0.0]))[0])
    assert carry.CarryModel.from_json(m.to_json()) == m
    assert carry.fit_carry(offset, before, given, threshold=0.35, scale=0.05) == m  # same answers, same model


def test_carrying_must_improve_on_what_is_shown_without_it():
    offset, before, given = _runs(0)
    assert carry.fit_carry(offset, before, given) is not None  # better than the zero-shot suggestions
    assert carry.fit_carry(offset, before, given, shown=given.copy()) is None  # nothing beats a perfect run


def test_nothing_is_carried_without_runs_or_without_enough_answers():
    offset, before, given = _runs(1, repeat=0.05)  # a code given before is no likelier than any other
    assert carry.fit_carry(offset, before, given) is None
    before = np.zeros((40, 1), bool)
    before[:7] = True
    assert carry.fit_carry(np.zeros((40, 1)), before, before.copy()) is None  # 7 repeats: fewer than MIN_PAIRS
    assert carry.fit_carry(np.zeros((0, 3)), np.zeros((0, 3), bool), np.zeros((0, 3), bool)) is None
    assert carry.CarryModel.from_json("") is None


@pytest.fixture
def carrying(project, embedder, blank_splitter, stored):
    """A project where ana's learned run carries every code she gave the sentence before (a stored model that
    gives a carried code p 0.88 whatever its similarity)."""
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    project.suggest(embedder, threshold=0.2)
    _carries_everything(project, stored, "ana")
    return project


def _carries_everything(project, stored, coder: str) -> None:
    """Three answers and a learned.v2 run for ``coder``, whose carry model is replaced by one that carries
    every code (p 0.88)."""
    session = project.review(coder)
    for item in session.pending()[:3]:
        session.reject(item, reason=REASONS["2"])
    project.learn(coder=coder, learner="learned.v2")
    model = carry.CarryModel(0.0, 2.0, 10, 5, 8, 0.2, 0.05)
    stored.db.execute(
        "UPDATE suggestion_runs SET carry = ? WHERE id = ?", (model.to_json(), stored.learned_run(coder).id)
    )


def test_a_code_given_to_a_sentence_is_offered_on_the_next_and_answered_like_a_suggestion(carrying, stored):
    keys = stored.segment_keys()
    first, second = keys[0], keys[1]
    assert first.document == second.document
    doc_id = carrying.document(first.document).id
    assert stored.next_segment(first.id) == (second.id, doc_id)
    last = [k for k in keys if k.document == first.document][-1]
    assert stored.next_segment(last.id) is None
    ana = carrying.review("ana")
    assert not [i for i in ana.pending() if i.carried]
    path = ana.apply_code(first.id, "Familial relationships")  # the same session sees what it now carries
    carried = [i for i in ana.pending() if i.carried]
    assert [(i.segment_id, i.code_path) for i in carried] == [(second.id, path)]
    item = carried[0]
    assert item.probability == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert item.offered and not item.suggested and item.calibrated
    assert item.evidence == stored.segment_texts([first.id])[first.id]  # the sentence before is the reason
    why = ana.explain(item)
    assert (why.kind, why.text) == ("carried", item.evidence)
    # the page answers by sentence and code
    assert ana.item_for(second.id, path) == item
    # blind: ben gave nothing, and ana's carry model is hers
    assert not [i for i in carrying.review("ben").pending() if i.carried]
    done = ana.accept(item)
    assert done.decision_id and (second.id, path) not in {(i.segment_id, i.code_path) for i in ana.pending()}
    # accepting it carries it on to the sentence after, in the same session (where nothing suggests it already)
    third, fourth = keys[2], keys[3]
    assert third.document == second.document == fourth.document
    pending = {(i.segment_id, i.code_path): i for i in ana.pending()}
    assert (third.id, path) in pending
    ana.accept(pending[(third.id, path)])
    nxt = {(i.segment_id, i.code_path): i for i in ana.pending()}.get((fourth.id, path))
    assert nxt is not None and nxt.carried


def test_no_code_rejects_a_carried_code_too(carrying, stored):
    keys = stored.segment_keys()
    carrying.review("ana").apply_code(keys[0].id, "Familial relationships")
    ana = carrying.review("ana")
    on_second = [i for i in ana.pending() if i.segment_id == keys[1].id]
    assert any(i.carried for i in on_second)
    done = ana.no_code(on_second[0])
    assert done.count == len(on_second)
    assert not [i for i in ana.pending() if i.segment_id == keys[1].id]


def test_a_learned_v2_fit_learns_to_carry_codes_that_come_in_runs(project, embedder, blank_splitter, stored, tmp_path):
    """A coder who codes stretches of sentences alike: her re-fit stores a carry model, and the sentence after
    her last answer is offered her last code."""
    from .conftest import write

    lines = ["# SYNTHETIC TRANSCRIPT written for coder's tests. Not real interview data.", "# participant: P70", ""]
    for i in range(60):
        lines.append(f"Interviewer: And then, part {i}?")
        lines.append(f"P70: Sentence number {i} about my week and what happened then.")
    project.import_files([write(tmp_path / "P70.txt", "\n".join(lines) + "\n")], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    project.suggest(embedder, threshold=0.2)
    codes = ["Familial relationships", "Education and educational goals", "Spirituality / faith"]
    keys = stored.segment_keys()
    session = project.review("ana", learn_every=0)
    for n, k in enumerate(keys[:48]):
        session.apply_code(k.id, codes[(n // 4) % 3])  # runs of four
    project.learn(coder="ana", learner="learned.v2")
    model = carry.CarryModel.from_json(stored.learned_run("ana").carry)
    assert model is not None and model.repeats >= carry.MIN_PAIRS
    assert project.learn(coder="ana", learner="learned.v2")[0].carry == (model.repeats, model.carried)
    offered = [i for i in project.review("ana").pending() if i.segment_id == keys[48].id]
    on_next = {i.code_path for i in offered}
    carried_before = {i.code_path for i in offered if i.carried}  # her code of the sentence before, if not suggested
    extra = next(c.path for c in project.codebook().codes if c.path not in on_next)
    session.apply_code(keys[47].id, extra)  # a second code on her last sentence, suggested nowhere after it
    nxt = [i for i in session.pending() if i.segment_id == keys[48].id and i.carried]
    assert carried_before <= {codes[2]}
    assert sorted(i.code_path for i in nxt) == sorted(carried_before | {extra})  # and now her second code too
    [it] = [i for i in nxt if i.code_path == extra]
    assert it.probability == pytest.approx(float(model.proba_at(np.array([it.score]))[0]))


def test_the_cli_says_what_the_carry_model_learned():
    from coder.cli._common import carries

    assert carries((205, 305)) == (
        " Codes given to a sentence are now offered on the next one where likely (in these answers a code ran on "
        "to the next sentence 205 times of 305, 67%)."
    )


def test_carried_answers_count_as_answers_to_an_offered_code_not_as_codes_added_by_hand(carrying, stored):
    keys = stored.segment_keys()
    ana = carrying.review("ana")
    path = ana.apply_code(keys[0].id, "Familial relationships")
    before = {r.code: r for r in carrying.status(["ana"], all_codes=True)}
    reviewed = ana.progress().reviewed
    (doc_before,) = [d for d in carrying.documents_progress("ana") if d.name == keys[1].document]
    (item,) = [i for i in ana.pending() if i.carried and i.segment_id == keys[1].id]
    ana.accept(item)
    # the documents list counts it as an offered code answered, as status does
    (doc,) = [d for d in carrying.documents_progress("ana") if d.name == keys[1].document]
    assert (doc.suggested, doc.reviewed) == (doc_before.suggested + 1, doc_before.reviewed + 1)
    (d,) = [d for d in stored.decisions(coder="ana") if d.segment_id == keys[1].id and d.code_path == path]
    assert d.carried == 1 and d.suggestion_id is None
    assert ana.progress().reviewed == reviewed + 1
    row = {r.code: r for r in carrying.status(["ana"], all_codes=True)}[path]
    assert row.added == before[path].added  # still only the code given by hand on the first sentence
    assert (row.suggested, row.accepted) == (before[path].suggested + 1, before[path].accepted + 1)


def test_nothing_is_carried_onto_a_sentence_marked_no_code(carrying, stored):
    keys = stored.segment_keys()
    ana = carrying.review("ana")
    on_second = [i for i in ana.pending() if i.segment_id == keys[1].id and i.suggested]
    assert on_second, "the fixture suggests something on the second sentence"
    ana.no_code(on_second[0])
    ana.apply_code(keys[0].id, "Familial relationships")
    assert not [i for i in ana.pending() if i.segment_id == keys[1].id]


def test_carrying_is_blind_each_coder_carries_her_own_codes_only(carrying, stored):
    keys = stored.segment_keys()
    _carries_everything(carrying, stored, "ben")
    carrying.review("ana").apply_code(keys[0].id, "Familial relationships")
    assert [i.code_path for i in carrying.review("ana").pending() if i.carried] == ["Familial relationships"]
    assert not [i for i in carrying.review("ben").pending() if i.carried]  # ana's code is not carried for ben
    carrying.review("ben").apply_code(keys[5].id, "Education and educational goals")
    assert [i.code_path for i in carrying.review("ana").pending() if i.carried] == ["Familial relationships"]


def test_an_unreadable_carry_model_is_an_error_that_says_what_to_do(carrying, stored):
    from coder.errors import ProjectError

    with pytest.raises(ValueError, match="not a carry model"):
        carry.CarryModel.from_json('{"a": 1}')
    stored.db.execute("UPDATE suggestion_runs SET carry = '{broken' WHERE id = ?", (stored.learned_run("ana").id,))
    with pytest.raises(ProjectError, match=r"unreadable carry model.*coder suggest --learn"):
        carrying.review("ana").pending()


@pytest.mark.parametrize("order", ["document", "score", "uncertain"])
def test_a_session_queue_after_each_answer_is_what_a_fresh_queue_would_be(
    project, embedder, blank_splitter, stored, order
):
    """Codes given one after another (an exclusive set among them), the session's own queue against a fresh one
    after every step, in every order."""
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "exclusive.yaml")
    project.suggest(embedder, threshold=0.2)
    _carries_everything(project, stored, "ana")
    keys = stored.segment_keys()

    def shown(items):
        return sorted((i.segment_id, i.code_path, i.carried, i.offered, round(i.probability, 6)) for i in items)

    answered = {d.segment_id for d in stored.decisions(coder="ana")}
    a, b, c = next(keys[i : i + 3] for i in range(len(keys)) if not answered & {k.id for k in keys[i : i + 3]})
    assert a.document == b.document == c.document
    session = project.review("ana", order=order, learn_every=0)
    sustain = "Client talk > Sustain talk"
    session.apply_code(a.id, sustain)
    assert shown(session.pending()) == shown(project.review("ana", order=order).pending())
    assert [i.code_path for i in session.pending() if i.segment_id == b.id and i.carried] == [sustain]
    session.apply_code(b.id, "Client talk > Change talk")  # rules out the Sustain talk carried onto b
    assert shown(session.pending()) == shown(project.review("ana", order=order).pending())
    assert not [i for i in session.pending() if i.segment_id == b.id and i.code_path == sustain]
    session.apply_code(c.id, "Support > Family")
    assert shown(session.pending()) == shown(project.review("ana", order=order).pending())
    for item in [i for i in session.pending() if i.offered][:4]:
        session.accept(item)
        assert shown(session.pending()) == shown(project.review("ana", order=order).pending())


def test_the_carried_flag_survives_decisions_export_import_and_merge(
    project, embedder, blank_splitter, stored, tmp_path
):
    """An answer to a carried code stays marked as one in another copy: exported, imported, merged."""
    import csv

    from coder.app import Project

    from .conftest import write

    lines = ["# SYNTHETIC TRANSCRIPT written for coder's tests. Not real interview data.", "# participant: P71", ""]
    lines += [f"P71: Sentence {i} about my week." for i in range(4)]
    text = "\n".join(lines) + "\n"
    project.import_files([write(tmp_path / "P71.txt", text)], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    keys = stored.segment_keys()
    code = project.codebook().codes[0].path
    with stored.transaction():
        stored.record_decision(segment_id=keys[1].id, code_path=code, coder="ana", answer="accept", carried=True)
        stored.record_decision(segment_id=keys[2].id, code_path=code, coder="ana", answer="accept")
    out = tmp_path / "d.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        project.export_decisions(fh)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["carried"] for r in rows] == ["yes", ""]

    def copy(name):
        p = Project(tmp_path / name, create=True)
        p.import_files([tmp_path / "P71.txt"], splitter=blank_splitter)
        p.load_codebook(DATA / "mini.yaml")
        return p

    with copy("b.db") as b:
        b.import_decisions(out)
    with copy("c.db") as c:
        c.merge(project.path)
    for name in ("b.db", "c.db"):
        with Store(tmp_path / name) as other:
            assert sorted((d.segment_id, d.carried) for d in other.decisions()) == [(keys[1].id, 1), (keys[2].id, 0)]
    bad = write(tmp_path / "bad.csv", out.read_text(encoding="utf-8").replace(",yes", ",maybe"))
    with copy("d.db") as d, pytest.raises(CoderError, match="carried must be yes or empty"):
        d.import_decisions(bad)
