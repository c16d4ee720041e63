"""Codebook evolution on load: ``formerly`` moves decisions (history included) to renamed and merged codes,
each move is in the audit trail, and a load that would orphan decisions is refused unless --orphan-ok."""

from __future__ import annotations

import csv
import io
import re

import pytest
from click.testing import CliRunner

from coder.cli import main
from coder.errors import InputError

from .conftest import DATA, write

FAITH = "Spirituality / faith"
SCRIPTURE = f"{FAITH} > Reading scripture"
PRAYER = f"{FAITH} > Prayer and personal spiritual practices"
FAMILY = "Familial relationships"
EDUCATION = "Education and educational goals"
MINI = (DATA / "mini.yaml").read_text(encoding="utf-8")


def version(tmp_path, name, text):
    return write(tmp_path / name, text)


def renamed_faith(tmp_path):
    """v2: 'Spirituality / faith' is now 'Faith' (its subcodes follow), 'Education…' is now 'Schooling'."""
    text = MINI.replace("  - name: Spirituality / faith\n", "  - name: Faith\n    formerly: Spirituality / faith\n")
    text = text.replace(
        "  - name: Education and educational goals\n",
        "  - name: Schooling\n    formerly: [Education and educational goals]\n",
    )
    return version(tmp_path, "v2.yaml", text)


def merged_family(tmp_path):
    """v2: 'Education…' merged into 'Familial relationships' (a code that already has decisions)."""
    text = MINI.replace(
        "  - name: Familial relationships\n",
        "  - name: Familial relationships\n    formerly: Education and educational goals\n",
    )
    start = text.index("  - name: Education and educational goals")
    return version(tmp_path, "merged.yaml", text[:start])


@pytest.fixture
def coded(project, stored, blank_splitter):
    """The sample transcript under mini.yaml; ana has decisions on three codes, one of them undone."""
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    s1, s2 = project.sentence("sample", 3).id, project.sentence("sample", 4).id
    decide = stored.decide
    decide(segment_id=s1, code_path=SCRIPTURE, coder="ana", answer="accept", decided_at="2026-01-01T10:00:00+00:00")
    decide(segment_id=s1, code_path=FAMILY, coder="ana", answer="reject", decided_at="2026-01-01T10:01:00+00:00")
    decide(segment_id=s1, code_path=EDUCATION, coder="ana", answer="accept", decided_at="2026-01-01T10:02:00+00:00")
    decide(segment_id=s2, code_path=EDUCATION, coder="ana", answer="reject", decided_at="2026-01-01T10:03:00+00:00")
    decide(segment_id=s2, code_path=EDUCATION, coder="ana", answer="accept", decided_at="2026-01-01T10:04:00+00:00")
    decide(segment_id=s2, code_path=FAMILY, coder="bo", answer="accept", decided_at="2026-01-01T10:05:00+00:00")
    return project, (s1, s2)


def paths(stored, *, undone=False):
    return sorted(
        (d.code_path, d.coder, d.answer)
        for d in stored.decisions(include_undone=True)
        if (d.undone_at is not None) == undone
    )


def test_rename_moves_decisions_and_their_history(coded, stored, tmp_path):
    project, _ = coded
    r = project.load_codebook(renamed_faith(tmp_path))
    assert r.changed and r.orphaned == {} and r.merged == 0
    assert {(m.old_path, m.new_path, m.decisions_moved) for m in r.renamed} == {
        (SCRIPTURE, "Faith > Reading scripture", 1),  # under a renamed parent: 'Old > Child' -> 'New > Child'
        (EDUCATION, "Schooling", 3),  # the undone reject moved too: the history follows the code
    }
    assert paths(stored) == [
        ("Faith > Reading scripture", "ana", "accept"),
        (FAMILY, "ana", "reject"),
        (FAMILY, "bo", "accept"),
        ("Schooling", "ana", "accept"),
        ("Schooling", "ana", "accept"),
    ]
    assert paths(stored, undone=True) == [("Schooling", "ana", "reject")]
    counts = {(c.coder, c.code_path): c.accepted for c in stored.decision_counts()}
    assert counts[("ana", "Schooling")] == 2 and ("ana", EDUCATION) not in counts  # what the tally counts
    assert project.tally(coders=["ana"]) is not None
    # the audit trail keeps every rename, with the codebook version that made it
    trail = stored.code_renames()
    assert [(t.old_path, t.new_path, t.codebook_hash) for t in trail] == [
        (m.old_path, m.new_path, r.codebook.hash) for m in r.renamed
    ]
    # loading it again moves nothing and records nothing more
    again = project.load_codebook(renamed_faith(tmp_path))
    assert not again.changed and again.renamed == [] and len(stored.code_renames()) == 2


def test_merge_keeps_one_standing_decision_per_coder_segment_and_code(coded, stored, tmp_path):
    project, (s1, s2) = coded
    r = project.load_codebook(merged_family(tmp_path))
    assert [(m.old_path, m.new_path, m.decisions_moved, m.duplicates_undone) for m in r.renamed] == [
        (EDUCATION, FAMILY, 3, 1)
    ]
    assert r.merged == 1
    standing = {(d.segment_id, d.coder): d.answer for d in stored.decisions() if d.code_path == FAMILY}
    # ana had reject (Family) and accept (Education) on s1: the accept stands, the reject is undone
    assert standing == {(s1, "ana"): "accept", (s2, "ana"): "accept", (s2, "bo"): "accept"}
    assert len([d for d in stored.decisions() if d.code_path == FAMILY]) == 3
    undone = [(d.segment_id, d.answer) for d in stored.decisions(include_undone=True) if d.undone_at]
    assert sorted(undone) == sorted([(s2, "reject"), (s1, "reject")])  # kept in the trail


def test_merge_of_two_old_paths_keeps_the_newest_of_equal_answers(project, stored, blank_splitter, tmp_path):
    project.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    s1 = project.sentence("sample", 3).id
    for path, at in ((FAMILY, "2026-01-02T00:00:00+00:00"), (EDUCATION, "2026-01-01T00:00:00+00:00")):
        stored.decide(segment_id=s1, code_path=path, coder="ana", answer="reject", decided_at=at)
    start = MINI.index("  - name: Familial relationships")
    text = (
        MINI[:start]
        + "  - name: Life\n    definition: Family or school.\n    formerly: ["
        + FAMILY
        + ", "
        + EDUCATION
        + "]\n"
    )
    r = project.load_codebook(version(tmp_path, "life.yaml", text))
    assert r.merged == 1 and {m.old_path for m in r.renamed} == {FAMILY, EDUCATION}
    [kept] = [d for d in stored.decisions() if d.code_path == "Life"]
    assert kept.decided_at.startswith("2026-01-02")


def test_orphaning_load_is_refused_and_changes_nothing(coded, stored, tmp_path):
    project, _ = coded
    dropped = version(tmp_path, "dropped.yaml", MINI[: MINI.index("  - name: Education and educational goals")])
    before = paths(stored), paths(stored, undone=True), project.codebook().hash
    with pytest.raises(InputError) as e:
        project.load_codebook(dropped)
    assert str(e.value).startswith(f"{dropped}: loading this codebook would orphan 2 decisions on 1 code(s)")
    assert "nothing was changed" in str(e.value) and "formerly" in str(e.value)
    assert e.value.details().splitlines()[0] == (
        f"  '{EDUCATION}': 2 decisions (list them: coder export codings --code '{EDUCATION}')"
    )
    assert (paths(stored), paths(stored, undone=True), project.codebook().hash) == before
    assert len(stored.codebook_versions()) == 1 and stored.code_renames() == []
    r = project.load_codebook(dropped, orphan_ok=True)
    assert r.changed and r.orphaned == {EDUCATION: 2}
    assert paths(stored) == before[0]  # loaded, and the orphaned decisions are still there, reported


def test_export_codings_lists_one_codes_codings(coded, stored):
    project, _ = coded
    assert stored.coded_paths() == {r.code_path for r in stored.codings()} == {SCRIPTURE, FAMILY, EDUCATION}
    out = io.StringIO()
    n = project.export_codings(out, code=EDUCATION)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) and rows and {r["code"] for r in rows} == {EDUCATION}
    out = io.StringIO()
    project.export_codings(out, code=FAITH)  # a code and the codes under it
    assert {r["code"] for r in csv.DictReader(io.StringIO(out.getvalue()))} == {SCRIPTURE}
    # a code by its name in any case, as the other commands take it; a typo is an error that says what was meant
    out = io.StringIO()
    assert project.export_codings(out, code=SCRIPTURE.rsplit(" > ", 1)[-1].upper()) == n_scripture(project)
    with pytest.raises(InputError, match="did you mean '" + re.escape(SCRIPTURE)):
        project.export_codings(io.StringIO(), code="scriptur")


def n_scripture(project) -> int:
    out = io.StringIO()
    return project.export_codings(out, code=SCRIPTURE)


# -- the CLI ------------------------------------------------------------------------------------------------------


def cli(tmp_path, *args, code=0):
    result = CliRunner().invoke(main, ["-p", str(tmp_path / "project.db"), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_cli_codebook_load_refuses_then_orphan_ok(coded, tmp_path):
    dropped = version(tmp_path, "dropped.yaml", MINI[: MINI.index("  - name: Education and educational goals")])
    out = cli(tmp_path, "codebook", "load", str(dropped), code=1).output
    assert f"Error: {dropped}: loading this codebook would orphan 2 decisions" in out
    assert f"  '{EDUCATION}': 2 decisions (list them: coder export codings --code '{EDUCATION}')" in out
    assert "Nothing was changed. To load it: add 'formerly: <old name>'" in out
    out = cli(tmp_path, "codebook", "load", str(dropped), "--orphan-ok").output
    assert out.startswith("Loaded codebook 'mini' version 0.1 (4 codes")
    assert f"note: 2 decisions refer to '{EDUCATION}', which this version no longer has" in out


def test_cli_codebook_load_reports_renames(coded, tmp_path):
    out = cli(tmp_path, "codebook", "load", str(merged_family(tmp_path))).output
    assert f"  renamed: '{EDUCATION}' → '{FAMILY}' (3 decisions)" in out
    assert "  merged: 1 decision duplicated by a merge marked undone" in out


def test_cli_codebook_diff_counts_the_projects_decisions(coded, tmp_path):
    text = renamed_faith(tmp_path).read_text(encoding="utf-8")
    start = text.index("  - name: Familial relationships")
    end = text.index("  - name: Schooling")
    new = version(tmp_path, "v3.yaml", text[:start] + text[end:] + "  - name: Work\n    definition: A job.\n")
    out = cli(tmp_path, "codebook", "diff", str(DATA / "mini.yaml"), str(new)).output
    assert out.splitlines() == [
        "mini 0.1 → mini 0.1",
        "  added:   'Work'",
        f"  renamed: '{FAITH}' → 'Faith' (0 decisions)",
        f"  renamed: '{SCRIPTURE}' → 'Faith > Reading scripture' (1 decision)",
        f"  renamed: '{PRAYER}' → 'Faith > Prayer and personal spiritual practices' (0 decisions)",
        f"  renamed: '{EDUCATION}' → 'Schooling' (2 decisions)",
        f"  dropped: '{FAMILY}' (2 decisions)",
        "Loading it would orphan decisions on 1 code(s) and is refused without --orphan-ok; add 'formerly:' to the "
        "code that replaces each, or list them to recode: coder export codings --code PATH",
    ]


def test_cli_codebook_diff_without_a_project(tmp_path):
    merged = merged_family(tmp_path)
    out = cli(tmp_path, "codebook", "diff", str(DATA / "mini.yaml"), str(merged)).output
    assert not (tmp_path / "project.db").exists()
    assert out.splitlines() == ["mini 0.1 → mini 0.1", f"  merged:  '{FAMILY}', '{EDUCATION}' → '{FAMILY}'"]
