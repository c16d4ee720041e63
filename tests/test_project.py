"""Project: every user action through the one object both faces call, without click."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3

import pytest

from coder.app import Counts, Project
from coder.app.decisions import BadRows, MergeRefused
from coder.errors import CoderError, InputError, ProjectError

from .conftest import DATA, REPO, write

FAITH = "Spirituality / faith"
PRAYER = f"{FAITH} > Prayer and personal spiritual practices"
SCRIPTURE = f"{FAITH} > Reading scripture"
FAMILY = "Familial relationships"
EDUCATION = "Education and educational goals"


def importing(project, paths, splitter, **kw):
    return project.import_files(paths, splitter=splitter, **kw)


def table_counts(project):
    """Rows in every table the import writes, read from the file itself: 'unchanged' means nothing at all
    was written, including turns, attributes and embeddings, which no Project method counts."""
    with sqlite3.connect(f"file:{project.path}?mode=ro", uri=True) as db:
        return {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("documents", "turns", "segments", "attributes", "suggestions", "embeddings")
        }


# -- material ------------------------------------------------------------------------------------------------


def test_import_is_idempotent_by_content(project, blank_splitter, tmp_path):
    r = importing(project, [DATA / "sample.txt"], blank_splitter)
    assert [(d.name, d.participant, d.turns) for d in r.imported] == [("sample.txt", "P90", 6)]
    before = table_counts(project)
    again = importing(project, [DATA / "sample.txt"], blank_splitter)
    assert again.imported == [] and again.unchanged == ["sample.txt"]
    copy = shutil.copy(DATA / "sample.txt", tmp_path / "copy.txt")
    assert importing(project, [copy], blank_splitter).unchanged == ["copy.txt (same content as sample.txt)"]
    assert table_counts(project) == before


def test_changed_file_is_reported_not_duplicated(project, blank_splitter, tmp_path):
    p = write(tmp_path / "a.txt", "Interviewer: Hi.\nP01: Hello.\n")
    importing(project, [p], blank_splitter)
    before = table_counts(project)
    write(p, "Interviewer: Hi.\nP01: Hello again.\n")
    with pytest.raises(InputError, match=r"a different version of 'a\.txt' was imported on"):
        importing(project, [p], blank_splitter)
    assert table_counts(project) == before


def test_failed_import_leaves_project_unchanged(project, blank_splitter, tmp_path):
    good = write(tmp_path / "good.txt", "Interviewer: Hi.\nP01: Hello.\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Interviewer: Hi.\nP02: caf\xe9\n")
    before = table_counts(project)
    with pytest.raises(InputError, match=r"bad\.txt:2: not UTF-8"):
        importing(project, [good, bad], blank_splitter)
    assert table_counts(project) == before
    # attributes errors roll back too
    attrs = write(tmp_path / "a.csv", "participant,age\ngood,30\ngood,31\n")  # good.txt's participant: 'good'
    with pytest.raises(InputError, match=r"a.csv: row 3: participant 'good' appears twice"):
        importing(project, [good], blank_splitter, attributes=attrs)
    assert table_counts(project) == before


def test_attributes_attach(project, stored, blank_splitter):
    files, participants, _ = Project.demo_inputs()
    r = importing(project, files, blank_splitter, attributes=participants)
    assert r.attributes > 0
    assert stored.attributes()["P03"]["ethnicity"] == "White"


def test_demo_inputs_are_the_bundled_corpus():
    files, participants, codebook = Project.demo_inputs()
    assert files and all(f.parent == REPO / "corpora" / "demo" for f in files)
    assert participants == REPO / "corpora" / "demo" / "participants.csv" and participants.is_file()
    assert codebook == REPO / "codebooks" / "resilience.yaml"


def test_documents_counts_and_sentences(project, blank_splitter, tmp_path):
    assert project.counts() == Counts(0, 0, 0, 0, 0, 0)
    other = write(tmp_path / "other.txt", "# participant: P91\nInterviewer: Hi.\nP91: I read the Bible.\n")
    importing(project, [DATA / "sample.txt", other], blank_splitter)
    c = project.counts()
    assert (c.documents, c.participants, c.segments, c.coded_segments, c.suggestions, c.decisions) == (
        2,
        2,
        15,
        10,
        0,
        0,
    )
    assert [(d.name, d.participant, d.coded_segments) for d in project.documents()] == [
        ("other.txt", "P91", 1),
        ("sample.txt", "P90", 9),
    ]
    assert project.document("P91").name == project.document("other").name == "other.txt"
    s = project.sentence("sample", 8)
    assert (s.document, s.participant, s.number, s.text) == ("sample.txt", "P90", 8, "I pray every morning.")
    assert project.sentence("P91", 2).text == "I read the Bible."
    with pytest.raises(InputError, match=r"no sentence #14 in 'sample' \(it has 13\)"):
        project.sentence("sample", 14)
    with pytest.raises(InputError, match="no document 'zzz'"):
        project.sentence("zzz", 1)


def test_show_finds_documents(project, blank_splitter):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    assert project.show("P90").name == project.show("sample").name == "sample.txt"
    with pytest.raises(InputError, match="no document 'zzz'"):
        project.show("zzz")


# -- the codebook ----------------------------------------------------------------------------------------------


def test_codebook_reload_keeps_decisions(project, stored, blank_splitter, tmp_path):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    with pytest.raises(ProjectError, match="no codebook loaded"):
        project.codebook()
    first = project.load_codebook(DATA / "mini.yaml")
    assert first.changed and project.codebook().hash == first.codebook.hash
    seg = project.sentence("sample", 3)  # the first participant sentence
    project.code_sentence("ana", seg, FAMILY)
    project.code_sentence("ana", seg, EDUCATION)
    v2 = write(
        tmp_path / "v2.yaml",
        (DATA / "mini.yaml").read_text().replace("name: Education and educational goals", "name: Education"),
    )
    with pytest.raises(InputError, match="would orphan 1 decision"):
        project.load_codebook(v2)  # refused: nothing a researcher made is dropped silently
    r = project.load_codebook(v2, orphan_ok=True)
    assert r.changed and r.orphaned == {EDUCATION: 1}
    assert project.counts().decisions == 2
    assert len(stored.codebook_versions()) == 2
    assert project.load_codebook(v2, orphan_ok=True).changed is False


def test_resolve_code_by_path_or_name_in_any_case(project):
    project.load_codebook(DATA / "mini.yaml")
    assert project.resolve_code(SCRIPTURE) == SCRIPTURE
    assert project.resolve_code("reading SCRIPTURE") == SCRIPTURE  # a name, in another case
    assert project.resolve_code("spirituality / faith>reading scripture") == SCRIPTURE  # a path, loosely typed
    assert project.resolve_code("familial relationships") == FAMILY
    with pytest.raises(InputError, match="no code 'Reading scriptur' in the codebook") as e:
        project.resolve_code("Reading scriptur")
    assert e.value.hint == f"did you mean '{SCRIPTURE}'?"
    with pytest.raises(InputError, match="no code 'Pets'") as e:
        project.resolve_code("Pets")
    assert e.value.hint == "see 'coder codebook show' for the paths"
    # one word of a name, or nearly: the codes whose names have it, shortest first
    with pytest.raises(InputError) as e:
        project.resolve_code("faith")
    assert e.value.hint == "did you mean 'Spirituality / faith'?"
    with pytest.raises(InputError) as e:
        project.resolve_code("famly")
    assert e.value.hint == f"did you mean '{FAMILY}'?"


def test_code_sentence_resolves_the_code_and_is_a_decision(project, blank_splitter):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    pray = project.sentence("sample", 8)
    assert project.code_sentence("ana", pray, "prayer and personal SPIRITUAL practices", memo="in her words") == PRAYER
    assert project.code_sentence("ana", pray, PRAYER) == PRAYER  # the same coding again adds nothing
    with pytest.raises(InputError, match="did you mean"):
        project.code_sentence("ana", pray, "Prayr and personal spiritual practices")
    out = io.StringIO()
    assert project.export_decisions(out, "jsonl") == 1
    row = json.loads(out.getvalue())
    assert (row["coder"], row["document"], row["code"], row["answer"], row["note"]) == (
        "ana",
        "sample.txt",
        PRAYER,
        "accept",
        "in her words",
    )
    assert project.coders() == ["ana"]


def test_coder_name_from_setting(project):
    with pytest.raises(CoderError, match="no coder name"):
        project.coder_name(None)
    project.set_setting("coder", " ana ")
    assert project.setting("coder") == "ana"
    assert project.coder_name(None) == "ana"
    assert project.coder_name(" ben ") == "ben"


# -- suggestions -------------------------------------------------------------------------------------------------


def test_suggest_needs_codebook_and_segments(project, embedder):
    with pytest.raises(ProjectError, match="no codebook loaded"):
        project.suggest(embedder)
    project.load_codebook(DATA / "mini.yaml")
    with pytest.raises(ProjectError, match="no participant segments to code"):
        project.suggest(embedder)
    assert not project.has_suggestions()


def test_suggest_records_run_and_caches_embeddings(project, stored, embedder, blank_splitter, tmp_path):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    n_coded = project.counts().coded_segments
    assert project.to_embed(embedder.model_id) == n_coded
    r1 = project.suggest(embedder, threshold=0.3)
    assert r1.run.segments == n_coded and r1.run.embedded == n_coded
    assert r1.suggestions > 0 and r1.run.model == "hash-bow-64@v1"
    assert project.has_suggestions() and project.to_embed(embedder.model_id) == 0
    rows = stored.suggestions()
    assert {(r.suggester, r.model, r.codebook_hash) for r in rows} == {
        ("similarity.v2", "hash-bow-64@v1", r1.run.codebook_hash)
    }
    bible = [r for r in rows if r.segment_id == project.sentence("sample", 9).id]
    assert bible[0].code_path == SCRIPTURE
    assert bible[0].evidence == "I read my Bible every night before bed."
    # a codebook edit embeds no segment again; the new run replaces the old one
    edited = write(
        tmp_path / "mini2.yaml",
        (DATA / "mini.yaml")
        .read_text()
        .replace("Reading the Bible or other scripture.", "Reading the Bible, Quran or other scripture."),
    )
    project.load_codebook(edited)
    texts_before = embedder.texts_embedded
    r2 = project.suggest(embedder, threshold=0.3)
    assert r2.run.embedded == 0 and r2.run.codebook_hash != r1.run.codebook_hash
    assert embedder.texts_embedded - texts_before == 1  # only the edited code text
    assert {r.codebook_hash for r in stored.suggestions()} == {r2.run.codebook_hash}
    assert stored.scored_segments(r1.run.id) == set()  # the replaced run's score matrix is gone
    assert len(stored.scored_segments(r2.run.id)) == n_coded


def test_one_zero_shot_run_at_a_time_whichever_suggester_and_learning_reads_it(
    project, stored, embedder, blank_splitter
):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    v2 = project.suggest(embedder, threshold=0.3).run
    assert v2.suggester == "similarity.v2" and stored.zero_shot_run().id == v2.id
    v1 = project.suggest(embedder, threshold=0.3, suggester="similarity.v1").run
    assert v1.suggester == "similarity.v1"
    assert [(r.id, r.suggester) for r in stored.active_runs()] == [(v1.id, "similarity.v1")]  # v2 retired
    assert stored.active_run("similarity.v2") is None and stored.zero_shot_run().id == v1.id
    seg = project.sentence("sample", 9).id
    ana = project.review("ana", learn_every=0)
    ana.apply_code(seg, FAMILY)
    [res] = project.learn(coder="ana", learner="learned.v2")  # learns on the v1 run (test_learn2 checks the anchor)
    assert res.run_id > 0 and stored.learned_run("ana").suggester == "learned.v2"
    with pytest.raises(InputError, match=r"no zero-shot suggester 'similarity\.v9'"):
        project.suggest(embedder, suggester="similarity.v9")
    assert stored.zero_shot_run().id == v1.id  # nothing replaced


def test_export_codings_rows(project, stored, embedder, blank_splitter):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    project.suggest(embedder, threshold=0.3)
    out = io.StringIO()
    n = project.export_codings(out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == project.counts().suggestions > 0
    text = stored.document_text(project.document("sample.txt").id)
    for r in rows:
        assert text[int(r["start"]) : int(r["end"])] == r["text"]
        assert r["status"] == "suggested" and r["suggester"] == "similarity.v2" and r["participant"] == "P90"
    jsonl = io.StringIO()
    assert project.export_codings(jsonl, "jsonl") == n
    assert [json.loads(line)["code"] for line in jsonl.getvalue().splitlines()] == [r["code"] for r in rows]


def test_learn_needs_suggestions_then_fits_on_decisions(project, embedder, blank_splitter):
    importing(project, [DATA / "sample.txt"], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    with pytest.raises(ProjectError, match="no similarity suggestions to learn from"):
        project.learn()
    project.suggest(embedder, threshold=0.2)
    project.code_sentence("ana", project.sentence("sample", 8), PRAYER)
    project.code_sentence("ana", project.sentence("sample", 9), SCRIPTURE)
    [r] = project.learn(coder="ana", learner="learned.v1", top_k=1)
    assert r.decisions == 2 and r.per_code == {FAITH: (2, 0), PRAYER: (1, 0), SCRIPTURE: (1, 0)}  # parents too
    assert r.models == 3 and r.suggestions > 0


# -- reports on a coded project ----------------------------------------------------------------------------------


@pytest.fixture
def coded(project, blank_splitter, tmp_path):
    """Three documents of two participants (P90 twice), coded by ana and ben."""
    second = write(
        tmp_path / "second.txt",
        "# participant: P90\nInterviewer: And now?\nP90: I pray at night.\nInterviewer: Ok.\n"
        "P90: My sister calls me every day.\n",
    )
    other = write(tmp_path / "other.txt", "# participant: P91\nInterviewer: Hi.\nP91: I read the Bible.\n")
    importing(project, [DATA / "sample.txt", second, other], blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    # sample.txt #8 "I pray every morning."; second.txt #2 "I pray at night."; other.txt #2 "I read the Bible."
    for doc, n, code, coders in (
        ("sample.txt", 8, PRAYER, ("ana", "ben")),
        ("second.txt", 2, PRAYER, ("ana",)),
        ("other.txt", 2, SCRIPTURE, ("ana", "ben")),
        ("sample.txt", 5, FAMILY, ("ben",)),
    ):
        for c in coders:
            project.code_sentence(c, project.sentence(doc, n), code)
    return project


def by_path(result):
    return {r.path: r for r in result.rows}


def test_tally_coder_any_consensus(coded, embedder):
    ana = coded.tally(coders=["ana"])
    assert ana.title == "Theme frequencies — codings accepted by ana"
    faith = by_path(ana)[FAITH]
    # P90 mentioned faith in two documents: two mentions, one participant
    assert (faith.mentions, faith.parent_mentions, faith.participants, faith.participants_total) == (3, 3, 2, 2)
    both = by_path(coded.tally(coders=["ana", "ben"], mode="consensus"))
    assert both[FAITH].mentions == 2 and both[FAMILY].mentions == 0
    anyone = coded.tally()
    assert (by_path(anyone)[FAMILY].mentions, by_path(anyone)[FAMILY].parent_mentions) == (1, 4)
    assert (anyone.participants, anyone.coded_segments) == (2, 12)
    only = coded.tally(coders=["ana"], participants=["P91"])
    assert by_path(only)[FAITH].participants_total == 1 and only.notes == ["Filtered to participants: P91."]
    coded.suggest(embedder, threshold=0.3)
    pre = coded.tally(coders=["ana"], include_suggested=True)
    assert pre.title == "Theme frequencies — codings accepted by ana + PRE-CODED, UNREVIEWED SUGGESTIONS"
    assert any("pre-coded, unreviewed — not findings" in n for n in pre.notes)


def test_tally_errors_and_by_attribute(coded, blank_splitter, tmp_path):
    with pytest.raises(InputError, match="--consensus needs at least two --coder names"):
        coded.tally(coders=["ana"], mode="consensus")
    with pytest.raises(InputError, match="no decisions by zoe") as e:
        coded.tally(coders=["zoe"])
    assert e.value.hint == "coders in this project: ana, ben"
    with pytest.raises(InputError, match="no participant attribute 'setting'"):
        coded.tally(by="setting")
    attrs = write(tmp_path / "people.csv", "participant,setting\nP90,indoor\nP91,street-based\n")
    assert coded.import_files([], attributes=attrs, splitter=blank_splitter).attributes == 2
    cross = coded.tally(coders=["ana"], by="setting").cross
    assert cross is not None and cross.values == ["indoor", "street-based"]
    faith = next(r for r in cross.rows if r.path == FAITH)
    assert faith.mentions == {"indoor": 2, "street-based": 1}


def test_presence_and_cooccurrence(coded):
    m = coded.presence(unit="participant")
    assert m.row_labels == ["P90", "P91"] and m.col_labels == [c.path for c in coded.codebook().codes]
    cell = {(r, c): m.matrix[i][j] for i, r in enumerate(m.row_labels) for j, c in enumerate(m.col_labels)}
    assert cell[("P90", FAMILY)] == 1 and cell[("P91", FAMILY)] == 0
    assert cell[("P91", FAITH)] == 1  # a subcode counts for its parent
    assert cell[("P90", SCRIPTURE)] == 0 and cell[("P90", EDUCATION)] == 0
    by_sentence = coded.presence(coders=["ana"])
    assert len(by_sentence.row_labels) == 12 and sum(map(sum, by_sentence.matrix)) == 6  # 3 sentences x (code, parent)
    co = coded.cooccurrence(unit="participant")
    assert co.row_labels == co.col_labels == [FAITH, FAMILY, EDUCATION]  # depth 1 by default
    assert co.matrix == [[2, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert coded.cooccurrence().matrix == [[3, 0, 0], [0, 1, 0], [0, 0, 0]]  # no sentence has two of them


def test_quotes_spread_over_participants(coded):
    prayer = coded.quotes("prayer and personal spiritual practices", coders=["ana"])  # a name, in any case
    assert sorted((q.participant, q.document, q.sentence, q.text) for q in prayer) == [
        ("P90", "sample.txt", 8, "I pray every morning."),
        ("P90", "second.txt", 2, "I pray at night."),
    ]
    assert {q.code for q in prayer} == {PRAYER}
    faith = coded.quotes(FAITH, n=2)
    assert [q.participant for q in faith] == ["P90", "P91"]  # one per participant before a second from anyone
    assert coded.quotes(FAMILY, coders=["ana"]) == []
    with pytest.raises(InputError, match="no code 'Faith'"):
        coded.quotes("Faith")


def test_saturation_in_import_order(coded):
    s = coded.saturation()
    assert s.codes_total == 5 and s.title == "Code emergence by participant"
    assert [(x.participant, x.new_codes, x.cumulative) for x in s.steps] == [
        ("P90", sorted([FAITH, PRAYER, FAMILY]), 3),
        ("P91", [SCRIPTURE], 4),
    ]
    assert [x.cumulative for x in coded.saturation(depth=1).steps] == [2, 2]
    assert s.unreviewed == ()


def test_saturation_leaves_out_participants_nobody_has_answered_on(coded, blank_splitter, tmp_path):
    third = write(tmp_path / "third.txt", "# participant: P92\nInterviewer: Hi.\nP92: I pray too.\n")
    importing(coded, [third], blank_splitter)
    s = coded.saturation(coders=["ana"])
    assert [x.participant for x in s.steps] == ["P90", "P91"] and s.unreviewed == ("P92",)
    assert coded.saturation(coders=["ana"], include_suggested=True).unreviewed == ()
    # by consensus, a participant only one of the two has answered on is left out too (P91: ana and ben, P90: both)
    both = coded.saturation(coders=["ana", "ben"], mode="consensus")
    assert both.unreviewed == ("P92",)


def test_status_per_coder_and_code(coded, embedder):
    coded.suggest(embedder, threshold=0.2)

    def totals():
        rows = coded.status(["ana"])
        assert all(r.coder == "ana" and r.active for r in rows)
        assert all(r.suggested == r.accepted + r.rejected + r.pending for r in rows)
        return [sum(getattr(r, k) for r in rows) for k in ("accepted", "rejected", "pending")]

    before = totals()
    found = {r.code: r.found for r in coded.status(["ana"])}
    assert (found[PRAYER], found[FAITH]) == (2, 3)  # a subcode's acceptance is found for its parent too
    session = coded.review("ana")
    pending = session.pending()
    assert before[2] == len(pending)
    session.accept(pending[0])
    session.reject(pending[1])
    assert totals() == [before[0] + 1, before[1] + 1, before[2] - 2]
    assert {r.coder for r in coded.status()} == {"ana", "ben"}
    assert len(coded.status(["ana"], all_codes=True)) == 5


# -- team work: decisions files, merge, agreement, reconciliation -------------------------------------------------


def test_decisions_export_and_import_into_another_copy(coded, tmp_path, blank_splitter):
    out = tmp_path / "ana.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        assert coded.export_decisions(fh, coder="ana") == 3
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {(r["document"], r["code"]) for r in rows} == {
        ("sample.txt", PRAYER),
        ("second.txt", PRAYER),
        ("other.txt", SCRIPTURE),
    }
    with Project(tmp_path / "copy.db", create=True) as copy:
        docs = [DATA / "sample.txt", tmp_path / "second.txt", tmp_path / "other.txt"]
        importing(copy, docs, blank_splitter)
        copy.load_codebook(DATA / "mini.yaml")
        r = copy.import_decisions(out)
        assert (r.added, r.unchanged, r.superseded, r.coders) == (3, 0, 0, ["ana"])
        assert copy.import_decisions(out).unchanged == 3  # importing twice adds nothing
        assert by_path(copy.tally(coders=["ana"]))[FAITH].mentions == 3
        bad = write(tmp_path / "bad.csv", out.read_text(encoding="utf-8").replace(SCRIPTURE, "Nope"))
        with pytest.raises(BadRows, match="unknown code 'Nope'"):
            copy.import_decisions(bad)
        assert copy.counts().decisions == 3


def test_merge_brings_another_copy_in(coded, tmp_path, blank_splitter):
    with Project(tmp_path / "b.db", create=True) as b:
        importing(b, [DATA / "sample.txt"], blank_splitter)
        b.load_codebook(DATA / "mini.yaml")
        b.code_sentence("chloe", b.sentence("sample", 10), EDUCATION)
    r = coded.merge(tmp_path / "b.db")
    assert (r.documents, r.renamed, r.imported.added, r.imported.coders) == (1, {}, 1, ["chloe"])
    assert coded.coders() == ["ana", "ben", "chloe"]
    assert coded.merge(tmp_path / "b.db").imported.added == 0
    with pytest.raises(InputError, match="cannot merge a project into itself"):
        coded.merge(coded.path)
    with Project(tmp_path / "c.db", create=True) as c:
        importing(c, [write(tmp_path / "x.txt", "P1: Something else.\n")], blank_splitter)
        c.load_codebook(DATA / "mini.yaml")
        c.code_sentence("dan", c.sentence("x", 1), FAMILY)
    with pytest.raises(MergeRefused, match=r"document 'x\.txt' is not in this project"):
        coded.merge(tmp_path / "c.db")


def test_agree_and_reconcile(coded):
    r = coded.agree(["ana", "ben"], n_boot=0, disagreements=True)
    # ben decided nothing in second.txt: its sentences are left out; sample (9) + other (1) count
    assert (r.units_total, r.units_included, r.not_reviewed) == (12, 10, {"ana": 0, "ben": 2})
    rows = {x.code: x for x in r.rows}
    assert list(rows) == [SCRIPTURE, PRAYER, FAMILY]  # codebook order, used codes only
    assert [rows[c].coded_by for c in rows] == [[1, 1], [1, 1], [0, 1]]
    assert rows[SCRIPTURE].summary.percent == 1.0 and rows[FAMILY].summary.percent == 0.9
    assert [(d.unit, d.code, d.coded_by, d.not_coded_by) for d in r.disagreements] == [
        ("sample.txt sentence 5", FAMILY, ["ben"], ["ana"])
    ]
    plan = coded.reconcile_plan(["ana", "ben"])
    assert [i.code for i in plan.items] == [FAMILY] and len(plan.agreed) == 2 and plan.decided == 0
    assert coded.record_agreed(plan, ["ana", "ben"], by="chloe") == 2
    (item,) = plan.items
    coded.reconcile(item, "accept", by="chloe")
    coded.reconcile(item, "reject", by="chloe", note="a sister, not her grandmother")  # the meeting changes its mind
    again = coded.reconcile_plan(["ana", "ben"])
    assert (again.items, again.agreed, again.decided) == ([], [], 1)
    assert "consensus" in coded.coders()
    agreed = by_path(coded.tally(coders=["consensus"]))
    assert (agreed[FAITH].mentions, agreed[FAMILY].mentions) == (2, 0)
    assert coded.agree(["ana", "consensus"], n_boot=0).units_included == 10
    with pytest.raises(CoderError, match="people"):
        coded.reconcile_plan(["ana", "machine"])
    with pytest.raises(CoderError, match="who decides"):
        coded.reconcile(item, "accept", by=" ")
