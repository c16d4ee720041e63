"""Agreement from a project: which units count, what each coder coded, disagreements, reconciliation."""

from __future__ import annotations

import io
import json
import math

import pytest
from sklearn.metrics import cohen_kappa_score

from coder import agreement as ag
from coder import agreement_report as ar
from coder.app import review as rv
from coder.app.reliability import blindness, describe_run
from coder.errors import CoderError

from .conftest import DATA, write

PRAYER = "Spirituality / faith > Prayer and personal spiritual practices"
SCRIPTURE = "Spirituality / faith > Reading scripture"
FAMILY = "Familial relationships"
EDUCATION = "Education and educational goals"

# sample.txt sentences, as 'coder show' numbers them: 3 4 5 7 8 9 10 12 13 (participant speech)
ANA = [("sample.txt", 5, FAMILY), ("sample.txt", 8, PRAYER), ("sample.txt", 9, SCRIPTURE)]
ANA += [("sample.txt", 10, EDUCATION), ("other.txt", 2, SCRIPTURE), ("third.txt", 2, PRAYER)]
BEN = [("sample.txt", 5, FAMILY), ("sample.txt", 8, PRAYER), ("sample.txt", 9, PRAYER), ("other.txt", 2, SCRIPTURE)]


@pytest.fixture
def coded(project, tmp_path, blank_splitter):
    other = write(tmp_path / "other.txt", "# participant: P91\nInterviewer: Hi.\nP91: I read the Bible.\n")
    third = write(tmp_path / "third.txt", "# participant: P92\nInterviewer: Hi.\nP92: I pray a lot.\n")
    project.import_files([DATA / "sample.txt", other, third], splitter=lambda: blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    for coder, codings in (("ana", ANA), ("ben", BEN)):
        for doc, n, path in codings:
            project.code_sentence(coder, project.sentence(doc, n), path)
    return project


def column(project, coder_codings, units, code):
    """The 0/1 vector a coder should produce, built by hand from the codings above."""
    mine = {project.sentence(d, n).id for d, n, p in coder_codings if p == code}
    return [u in mine for u in units]


def both_reviewed(project):
    """The participant sentences of sample.txt and other.txt (ben coded nothing in third.txt), in import order."""
    docs = sorted((d for d in project.documents() if d.name != "third.txt"), key=lambda d: d.id)
    return [s.id for d in docs for t in project.document_view(d.id).turns for s in t.segments if s.coded]


def test_units_every_coder_reviewed_and_the_numbers_per_code(coded):
    r = coded.agree(["ana", "ben"], n_boot=200)
    # ben made no decision in third.txt: its one sentence is left out; sample (9) + other (1) count
    assert (r.units_total, r.units_included, r.not_reviewed) == (11, 10, {"ana": 0, "ben": 1})
    units = both_reviewed(coded)
    rows = {x.code: x for x in r.rows}
    assert list(rows) == [SCRIPTURE, PRAYER, FAMILY, EDUCATION]  # codebook order, used codes only
    for code, row in rows.items():
        a, b = column(coded, ANA, units, code), column(coded, BEN, units, code)
        assert row.coded_by == [sum(a), sum(b)]
        assert row.summary.percent == pytest.approx(sum(x == y for x, y in zip(a, b, strict=True)) / 10)
        assert row.summary.alpha == pytest.approx(ag.krippendorff_alpha([a, b]), nan_ok=True)
        assert row.summary.kappa == pytest.approx(cohen_kappa_score(a, b), nan_ok=True)
        assert row.prevalence == pytest.approx((sum(a) + sum(b)) / 20)
    assert rows[FAMILY].summary.alpha == 1.0 and rows[FAMILY].verdict == "reliable"
    assert rows[EDUCATION].verdict == "unreliable"
    pooled = [[v for c in rows for v in column(coded, who, units, c)] for who in (ANA, BEN)]
    assert r.pooled.summary.alpha == pytest.approx(ag.krippendorff_alpha(pooled))
    sets = [
        [tuple(sorted(c for c in rows if column(coded, who, units, c)[i])) for i in range(10)] for who in (ANA, BEN)
    ]
    assert r.exact.summary.alpha == pytest.approx(ag.krippendorff_alpha(sets))
    assert r.exact.coded_by == [5, 4]  # sentences with any code


def test_coverage_decided_and_coarser_units(coded):
    r = coded.agree(["ana", "ben"], coverage="decided", n_boot=0)
    assert r.units_included == 4  # sentences both answered on: sample 5, 8, 9 and other 2
    by_p = coded.agree(["ana", "ben"], unit="participant", n_boot=0)
    assert (by_p.units_total, by_p.units_included) == (3, 2)  # P92 reviewed by ana only
    assert {x.code: x.coded_by for x in by_p.rows}[EDUCATION] == [1, 0]
    cats = coded.agree(["ana", "ben"], depth=1, n_boot=0)
    assert [x.code for x in cats.rows] == ["Spirituality / faith", FAMILY, EDUCATION]
    faith = cats.rows[0]
    assert faith.coded_by == [3, 3] and faith.summary.percent == 1.0  # sentence 9: scripture vs prayer, same category


def test_disagreements_and_reconcile_record_consensus(coded):
    r = coded.agree(["ana", "ben"], n_boot=0, disagreements=True)
    got = [(d.unit, d.code, d.coded_by, d.not_coded_by) for d in r.disagreements]
    assert got == [
        ("sample.txt sentence 9", SCRIPTURE, ["ana"], ["ben"]),
        ("sample.txt sentence 9", PRAYER, ["ben"], ["ana"]),
        ("sample.txt sentence 10", EDUCATION, ["ana"], ["ben"]),
    ]
    assert r.disagreements[0].text == "I read my Bible when I can't sleep."
    plan = coded.reconcile_plan(["ana", "ben"])
    assert len(plan.items) == 3 and len(plan.agreed) == 3 and plan.decided == 0
    assert coded.record_agreed(plan, ["ana", "ben"], by="chloe") == 3
    coded.reconcile(plan.items[0], "accept", by="chloe")
    coded.reconcile(plan.items[1], "reject", by="chloe", note="scripture, not prayer")
    again = coded.reconcile_plan(["ana", "ben"])
    assert [i.code for i in again.items] == [EDUCATION] and again.decided == 2 and again.agreed == []
    out = io.StringIO()
    assert coded.export_decisions(out, "jsonl", coder="consensus") == 5
    rows = {(d["code"], d["answer"]): d for d in map(json.loads, out.getvalue().splitlines())}
    assert rows[(PRAYER, "reject")]["note"] == "scripture, not prayer"
    assert rows[(PRAYER, "reject")]["decided_by"] == "chloe" and rows[(PRAYER, "reject")]["decided_at"]
    assert rows[(FAMILY, "accept")]["reason"] == "agreed"
    # consensus is now a coder like any other
    vs = coded.agree(["ana", "consensus"], n_boot=0)
    assert {x.code: x.summary.percent for x in vs.rows}[SCRIPTURE] == 1.0
    with pytest.raises(CoderError, match="people"):
        coded.reconcile_plan(["ana", "machine"])
    with pytest.raises(CoderError, match="who decides"):
        coded.reconcile(again.items[0], "accept", by=" ")


def test_machine_is_a_coder(coded, stored, embedder):
    coded.suggest(embedder, threshold=0.1)
    r = coded.agree(["ana", "machine"], n_boot=0)
    assert r.not_reviewed == {"ana": 0, "machine": 0} and r.units_included == 11  # the machine scored all 11
    machine = {}
    for s in stored.suggestions():
        machine.setdefault(s.code_path, set()).add(s.segment_id)
    for row in r.rows:
        assert row.coded_by[1] == len(machine.get(row.code, ()))
    assert r.machines == {"machine": describe_run(stored.active_run("similarity.v2"))}
    assert "zero-shot" in r.machines["machine"] and not r.warnings
    with pytest.raises(CoderError, match=r"no learned run for 'machine:learned\.v2'"):
        coded.agree(["ana", "machine:learned.v2"])


def test_the_machine_names_its_run_and_whose_decisions_it_learned(coded, stored, embedder):
    coded.suggest(embedder, threshold=0.1)
    [ana] = coded.learn(coder="ana")
    r = coded.agree(["ben", "machine:learned.v2"], n_boot=0)  # the only learned run
    run = stored.active_run("learned.v2", "ana")
    assert r.machines == {"machine:learned.v2": describe_run(run)}
    assert f"learned from ana's {ana.decisions} decisions" in r.machines["machine:learned.v2"]
    assert f"run {run.id}," in r.machines["machine:learned.v2"]
    assert not r.warnings  # ben never saw ana's run
    # compared with the coder it learned from, the figure is flagged
    mine = coded.agree(["ana", "machine:learned.v2:ana"], n_boot=0)
    assert any("learned from ana's decisions" in w and "not independent" in w for w in mine.warnings)
    coded.learn(coder="ben")
    with pytest.raises(CoderError, match=r"ambiguous.*machine:learned\.v2:ana, machine:learned\.v2:ben"):
        coded.agree(["ana", "machine:learned.v2"])
    with pytest.raises(CoderError, match=r"no learned\.v2 run learned from 'zoe'.*learned runs here"):
        coded.agree(["ana", "machine:learned.v2:zoe"])
    assert (
        coded.agree(["ana", "machine:learned.v2:ben"], n_boot=0)
        .machines["machine:learned.v2:ben"]
        .startswith("learned.v2 run ")
    )


def test_a_person_who_answered_another_coders_model_is_flagged(coded, stored, embedder):
    coded.suggest(embedder, threshold=0.1)
    coded.learn(coder="ana")
    theirs = [i for i in rv.queue(stored, "ana") if i.suggester == "learned.v2"]
    assert theirs and rv.queue(stored, "ben")  # ben's own queue never shows them
    assert not any(i.suggester == "learned.v2" for i in rv.queue(stored, "ben"))
    rv.answer(stored, "ben", theirs[0], "accept")  # e.g. a shared screen, or a project from an older version
    r = coded.agree(["ana", "ben"], n_boot=0)
    assert [w for w in r.warnings if "not blind" in w] == [
        "ben answered 1 suggestion(s) of learned.v2 learned from ana's decisions: ben's coding was not blind to them"
    ]


def test_machine_names_that_cannot_be_met_say_what_would(coded, embedder):
    coded.suggest(embedder, threshold=0.1)
    coded.learn(coder="ana", learner="learned.v1")
    with pytest.raises(CoderError, match=r"zero-shot run learns from nobody.*machine:learned\.v2:ana"):
        coded.agree(["ben", "machine:similarity.v2:ana"])
    with pytest.raises(CoderError, match=r"ana's learned run is learned\.v1: use 'machine:learned\.v1:ana'"):
        coded.agree(["ben", "machine:learned.v2:ana"])


def test_a_pooled_run_from_an_older_project_is_not_held_against_its_only_coder(
    project, stored, embedder, blank_splitter
):
    """Before m004 a learned run pooled everyone's answers (marked '*'); with one person it was hers alone."""
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    project.suggest(embedder, threshold=0.2)
    item = project.review("ana").next()
    with stored.transaction():
        run = stored.start_run(
            suggester="learned.v1",
            model="m",
            codebook_hash="h",
            method="rocchio",
            threshold=0.45,
            top_k=3,
            code_paths=[item.code_path],
            learned_from="*",
            decisions=3,
        )
        stored.add_suggestions(run, [(item.segment_id, item.code_path, 0.5, 1, "e")])
        sid = stored.db.execute("SELECT id FROM suggestions WHERE run_id = ?", (run,)).fetchone()[0]
    stored.decide(segment_id=item.segment_id, code_path=item.code_path, coder="ana", answer="accept", suggestion_id=sid)
    assert blindness(stored, ["ana"]) == []
    stored.decide(segment_id=item.segment_id, code_path=item.code_path, coder="ben", answer="reject")
    assert [w.split(":")[0] for w in blindness(stored, ["ana", "ben"])] == [
        "ana answered 1 suggestion(s) of learned.v1 learned from all coders' decisions pooled"
    ]


def test_bad_requests(coded):
    with pytest.raises(CoderError, match="two or more different coders"):
        coded.agree(["ana", "ana"])
    with pytest.raises(CoderError, match=r"no decisions by 'zoe'.*coders in this project: ana, ben"):
        coded.agree(["ana", "zoe"])
    with pytest.raises(CoderError, match="run 'coder reconcile'"):
        coded.agree(["ana", "consensus"])
    with pytest.raises(CoderError, match="no active zero-shot run"):
        coded.agree(["ana", "machine"])
    with pytest.raises(CoderError, match="tentative threshold"):
        coded.agree(["ana", "ben"], reliable=0.6, tentative=0.7)


def test_unanswered_suggestions_are_reported(coded, embedder):
    coded.suggest(embedder, threshold=-1.0, top_k=1)
    ben = coded.review("ben")
    ben.reject(ben.next())  # ben works through suggestions and stops after one
    r = coded.agree(["ana", "ben"], n_boot=0)
    assert any(w.startswith("ben has ") and "unanswered" in w for w in r.warnings)
    assert not any(w.startswith("ana ") for w in r.warnings)  # ana coded by hand: nothing pending to warn about
    assert all(not math.isnan(x.summary.percent) for x in r.rows)


def test_three_coders_use_fleiss_kappa(coded, stored, embedder):
    coded.suggest(embedder, threshold=0.1)
    r = coded.agree(["ana", "ben", "machine"], n_boot=0)
    assert r.units_included == 10 and r.not_reviewed == {"ana": 0, "ben": 1, "machine": 0}
    units = both_reviewed(coded)
    machine = {(s.segment_id, s.code_path) for s in stored.suggestions()}
    for row in r.rows:
        cols = [column(coded, ANA, units, row.code), column(coded, BEN, units, row.code)]
        cols.append([(u, row.code) in machine for u in units])
        assert row.summary.kappa_name == "Fleiss"
        assert row.summary.kappa == pytest.approx(ag.fleiss_kappa(cols), nan_ok=True)
        assert row.summary.alpha == pytest.approx(ag.krippendorff_alpha(cols), nan_ok=True)
        assert row.coded_by == [sum(c) for c in cols]


def _per_unit_reference(stored, r, n_boot, seed):
    """The figures as the per-unit path computed them before rows were counted: a coders × units table per
    code, one Counter per unit for the pooled row, and the sorted code set of every unit."""
    from collections import Counter

    from coder.app.reliability import _unit_key

    units: dict = {}
    for s in stored.segments(coded_only=True):
        units.setdefault(_unit_key(r.unit, s), []).append(s.id)
    need_all = r.coverage == "documents"
    kept = [
        ids for ids in units.values() if all((all if need_all else any)(i in c.covered for i in ids) for c in r.codings)
    ]
    labels = [[set().union(*(c.codes.get(i, set()) for i in ids)) for ids in kept] for c in r.codings]
    out = []
    for row in r.rows:
        data = [[row.code in lab for lab in coder] for coder in labels]
        out.append((ag.summarise(data, categories=[False, True], n_boot=n_boot, seed=seed), [sum(d) for d in data]))
    per_unit = []
    for u in range(len(kept)):
        counts = Counter(tuple(row.code in coder[u] for coder in labels) for row in r.rows)
        per_unit.append(counts)
    pooled = ag.summarise_clustered(per_unit, len(labels), categories=[False, True], n_boot=n_boot, seed=seed)
    exact = ag.summarise([[tuple(sorted(lab)) for lab in coder] for coder in labels], n_boot=n_boot, seed=seed)
    return len(kept), out, pooled, exact


@pytest.mark.parametrize("unit", ["segment", "turn", "document", "participant"])
@pytest.mark.parametrize("coverage", ["documents", "decided"])
def test_counted_rows_give_exactly_the_per_unit_figures(coded, stored, embedder, unit, coverage):
    coded.suggest(embedder, threshold=0.1)
    for coders in (["ana", "ben"], ["ana", "ben", "machine"]):
        r = coded.agree(coders, unit=unit, coverage=coverage, n_boot=150, seed=9)
        n, per_code, pooled, exact = _per_unit_reference(stored, r, 150, 9)
        assert r.units_included == n
        assert [(repr(x.summary), x.coded_by) for x in r.rows] == [(repr(s), c) for s, c in per_code]
        assert repr(r.pooled.summary) == repr(pooled) and repr(r.exact.summary) == repr(exact)
        assert all(x.summary.resamples == 150 for x in (*r.rows, r.pooled, r.exact))
        assert not any("resamples, not" in line for line in ar.notes(r))


def test_a_capped_bootstrap_says_how_many_resamples_and_why(coded):
    r = coded.agree(["ana", "ben"], n_boot=1000, max_draws=10)  # a tiny cap: every row is over it
    assert {x.summary.resamples for x in (*r.rows, r.pooled, r.exact)} == {ag.MIN_RESAMPLES}
    note = (
        "The interval of 'code set per unit, exact match' is from 200 resamples, not 1,000: its units show so many "
        "different patterns of codes that 1,000 resamples would draw over 1,000,000 counts (seconds of work), so "
        "this row draws at most that many (and at least 200 resamples)."
    )
    assert note in ar.notes(r)
    for fmt in ("text", "md", "html"):
        assert "from 200 resamples, not 1,000" in ar.render(r, fmt)
    assert note in json.loads(ar.render(r, "json"))["notes"]
    full = coded.agree(["ana", "ben"], n_boot=1000)  # the default cap is far above this project
    assert {x.summary.resamples for x in (*full.rows, full.pooled, full.exact)} == {1000}


def test_no_unit_every_coder_reviewed(coded):
    coded.code_sentence("cy", coded.sentence("third.txt", 2), PRAYER)  # ben reviewed nothing in third.txt
    r = coded.agree(["ben", "cy"], n_boot=100)
    assert (r.units_included, r.rows, r.pooled) == (0, [], None)
    assert r.warnings[-1] == "no unit was reviewed by every chosen coder"
    assert r.exact.summary.units == 0 and math.isnan(r.exact.summary.alpha)
    assert "no unit was reviewed" in ar.render(r, "text")
