"""coder agree, reconcile and merge from the command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from coder.cli import main

from .conftest import DATA, write

GOLDEN = Path(__file__).parent / "golden"
PRAYER = "Spirituality / faith > Prayer and personal spiritual practices"
SCRIPTURE = "Spirituality / faith > Reading scripture"


def make_project(tmp_path: Path, name: str, codings, *, other_text="I read the Bible."):
    runner = CliRunner()
    path = tmp_path / name

    def run(*args, code=0, input=None):
        r = runner.invoke(main, ["-p", str(path), *args], catch_exceptions=False, input=input)
        assert r.exit_code == code, r.output
        return r

    folder = tmp_path / (name + "-files")
    other = write(folder / "other.txt", f"# participant: P91\nInterviewer: Hi.\nP91: {other_text}\n")
    run("init")
    run("import", str(DATA / "sample.txt"), str(other), "--pipeline", "blank")
    run("codebook", "load", str(DATA / "mini.yaml"))
    for coder, doc, seg, code_path in codings:
        run("code", doc, "--segment", str(seg), "--code", code_path, "--coder", coder)
    return run, path


ANA = [("ana", "sample.txt", 5, "Familial relationships"), ("ana", "sample.txt", 8, PRAYER)]
ANA += [("ana", "sample.txt", 9, SCRIPTURE), ("ana", "other.txt", 2, SCRIPTURE)]
BEN = [("ben", "sample.txt", 5, "Familial relationships"), ("ben", "sample.txt", 8, PRAYER)]
BEN += [("ben", "sample.txt", 9, PRAYER), ("ben", "other.txt", 2, SCRIPTURE)]


@pytest.fixture
def proj(tmp_path):
    run, _ = make_project(tmp_path, "p.db", ANA + BEN)
    return run


@pytest.mark.parametrize("fmt", ["text", "md", "csv", "json"])
def test_agree_report_golden(proj, fmt):
    """What a reader sees, per format (regenerate with CODER_REGEN=1)."""
    out = proj("agree", "--coder", "ana", "--coder", "ben", "--bootstrap", "200", "--format", fmt).output
    golden = GOLDEN / f"agreement.{fmt}"
    if os.environ.get("CODER_REGEN"):
        golden.write_bytes(out.encode("utf-8"))
    assert out.encode("utf-8") == golden.read_bytes()


def test_agree_json_numbers_and_file_output(proj, tmp_path):
    data = json.loads(proj("agree", "--coder", "ana", "--coder", "ben", "--format", "json").output)
    assert (data["units_total"], data["units_counted"]) == (10, 10)
    codes = {c["code"]: c for c in data["codes"]}
    assert codes["Familial relationships"]["alpha"] == 1.0
    assert codes["Familial relationships"]["verdict"] == "reliable"
    assert codes[SCRIPTURE]["units_ana"] == 2 and codes[SCRIPTURE]["units_ben"] == 1
    assert codes[SCRIPTURE]["percent_agreement"] == 0.9
    r = proj("agree", "--coder", "ana", "--coder", "ben", "-o", str(tmp_path / "a.md"))
    assert "Wrote the agreement report (10 units, 3 codes)" in r.output
    assert (tmp_path / "a.md").read_text().startswith("**Agreement of ana and ben")
    bad = proj("agree", "--coder", "ana", "--coder", "ben", "-o", str(tmp_path / "a.pdf"), code=2)
    assert "cannot tell the format from" in bad.output and not (tmp_path / "a.pdf").exists()


def test_agree_disagreements_list(proj):
    out = proj("agree", "--coder", "ana", "--coder", "ben", "--disagreements", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["unit"], r["code"], r["coded_by"], r["not_coded_by"]) for r in rows] == [
        ("sample.txt sentence 9", SCRIPTURE, "ana", "ben"),
        ("sample.txt sentence 9", PRAYER, "ben", "ana"),
    ]
    text = proj("agree", "--coder", "ana", "--coder", "ben", "--disagreements").output
    assert "2 disagreement(s) between ana, ben" in text
    assert "“I read my Bible when I can't sleep.”" in text


def test_agree_writes_word_and_excel_tables(proj, tmp_path):
    import docx
    import openpyxl

    data = json.loads(proj("agree", "--coder", "ana", "--coder", "ben", "--format", "json").output)
    alpha = {c["code"]: c["alpha"] for c in data["codes"]}
    r = proj("agree", "--coder", "ana", "--coder", "ben", "-o", str(tmp_path / "a.docx"))
    assert "Wrote the agreement report (10 units, 3 codes)" in r.output
    doc = docx.Document(str(tmp_path / "a.docx"))
    assert doc.paragraphs[0].text.startswith("Agreement of ana and ben")
    [table] = doc.tables
    header = [c.text for c in table.rows[0].cells]
    assert header[:3] == ["Code", "ana", "ben"] and "α [95% CI]" in header
    cells = {row.cells[0].text.strip(): [c.text for c in row.cells] for row in table.rows[1:]}
    assert "Familial relationships" in cells and cells["Familial relationships"][header.index("α [95% CI]")].startswith(
        f"{alpha['Familial relationships']:.3f}"
    )
    assert any("Prayer" in k for k in cells)  # subcodes under their parent's heading row
    assert any(p.text.startswith("Units:") or "units" in p.text for p in doc.paragraphs[1:])  # the notes follow

    proj("agree", "--coder", "ana", "--coder", "ben", "--disagreements", "-o", str(tmp_path / "a.xlsx"))
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames == ["agreement", "disagreements"]
    ws = wb["agreement"]
    assert ws["A1"].value.startswith("Agreement of ana and ben") and ws["A2"].value == "Code"
    rows = {str(r[0]).strip(): r for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    assert isinstance(rows["Familial relationships"][1], int)  # counts are numbers Excel can sum
    d = list(wb["disagreements"].iter_rows(values_only=True))
    assert d[0][:5] == ("unit", "document", "participant", "text", "code") and len(d) == 3
    assert {row[4] for row in d[1:]} == {SCRIPTURE, PRAYER}

    bad = proj("agree", "--coder", "ana", "--coder", "ben", "--format", "xlsx", code=2)
    assert "--format xlsx writes a file: add -o FILE.xlsx" in bad.output


def test_agree_errors(proj):
    r = proj("agree", "--coder", "ana", "--coder", "zoe", code=1)
    assert r.output.strip() == "Error: no decisions by 'zoe' — coders in this project: ana, ben (or 'machine')"
    r = proj("agree", "--coder", "ana", code=1)
    assert "agreement needs two or more different coders" in r.output
    r = proj("agree", "--coder", "ana", "--coder", "machine", code=1)
    assert "no active zero-shot run to compare as 'machine'" in r.output and "run 'coder suggest' first" in r.output


def test_reconcile_walks_disagreements_and_records_consensus(proj):
    r = proj("reconcile", "--coder", "ana", "--coder", "ben", "--by", "chloe", input="?\nm\nBible reading\na\nr\n")
    assert "Copied 3 coding(s) that ana, ben all accepted to consensus." in r.output
    assert "2 disagreement(s) to decide" in r.output
    assert "Coded by ana; not by ben." in r.output and "a  the code applies" in r.output
    assert "2 decision(s) recorded as consensus by chloe" in r.output
    out = proj("decisions", "export", "--coder", "consensus").output
    rows = {(x["code"], x["answer"], x["start"]): x for x in csv.DictReader(io.StringIO(out))}
    assert len(rows) == 5
    decided = [x for x in rows.values() if x["reason"] == "reconciled"]
    assert sorted((x["code"], x["answer"]) for x in decided) == [(PRAYER, "reject"), (SCRIPTURE, "accept")]
    assert {x["decided_by"] for x in rows.values()} == {"chloe"}
    assert {x["via"] for x in rows.values()} == {"reconcile"}
    assert next(x for x in decided if x["code"] == SCRIPTURE)["note"] == "Bible reading"
    again = proj("reconcile", "--coder", "ana", "--coder", "ben", "--by", "chloe")
    assert "No disagreements left to reconcile (2 already decided)" in again.output
    tally = json.loads(proj("tally", "--coder", "consensus", "--format", "json").output)
    faith = next(r for r in tally["rows"] if r["path"] == "Spirituality / faith")
    assert faith["mentions"] == 3  # sentence 8 prayer, 9 scripture (reconciled), other 2 scripture
    r = proj("reconcile", "--coder", "ana", "--coder", "ben", code=1)
    assert "no coder name" in r.output


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_merge_brings_another_copy_in(tmp_path):
    run_a, _ = make_project(tmp_path, "ana.db", ANA)
    _, path_b = make_project(tmp_path, "ben.db", BEN)
    before = _sha(path_b)
    r = run_a("merge", str(path_b))
    assert "Merged 4 decision(s) by ben" in r.output and "2 document(s) matched by content" in r.output
    assert _sha(path_b) == before  # the other copy is read, never changed
    data = json.loads(run_a("agree", "--coder", "ana", "--coder", "ben", "--format", "json").output)
    assert data["units_counted"] == 10
    again = run_a("merge", str(path_b))
    assert "Merged 0 decision(s)" in again.output and "4 already here" in again.output


def test_merge_matches_renamed_documents_by_content(tmp_path):
    run_a, _ = make_project(tmp_path, "ana.db", ANA)
    renamed = tmp_path / "renamed" / "sample-copy.txt"
    renamed.parent.mkdir()
    shutil.copy(DATA / "sample.txt", renamed)
    runner = CliRunner()
    path_b = tmp_path / "ben.db"
    for args in (
        ["init"],
        ["import", str(renamed), "--pipeline", "blank"],
        ["codebook", "load", str(DATA / "mini.yaml")],
        ["code", "sample-copy.txt", "--segment", "9", "--code", SCRIPTURE, "--coder", "ben"],
    ):
        assert runner.invoke(main, ["-p", str(path_b), *args]).exit_code == 0
    r = run_a("merge", str(path_b))
    assert "Merged 1 decision(s) by ben" in r.output and "sample-copy.txt → sample.txt" in r.output


def test_merge_refuses_different_transcripts_and_changes_nothing(tmp_path):
    run_a, path_a = make_project(tmp_path, "ana.db", ANA)
    _, path_b = make_project(tmp_path, "ben.db", BEN, other_text="I read the Koran.")
    extra = write(tmp_path / "extra" / "new.txt", "# participant: P99\nInterviewer: Hi.\nP99: Hello.\n")
    runner = CliRunner()
    assert runner.invoke(main, ["-p", str(path_b), "import", str(extra), "--pipeline", "blank"]).exit_code == 0
    r = runner.invoke(
        main, ["-p", str(path_b), "code", "new.txt", "--segment", "2", "--code", PRAYER, "--coder", "ben"]
    )
    assert r.exit_code == 0, r.output
    before = run_a("decisions", "export").output
    r = run_a("merge", str(path_b), code=1)
    assert "merge refused, 2 problem(s); nothing was merged" in r.output
    assert f"{path_b}: document 'other.txt' differs from this project's 'other.txt'" in r.output
    assert f"{path_b}: document 'new.txt' is not in this project (import the same file here first)" in r.output
    assert run_a("decisions", "export").output == before
    r = run_a("merge", str(path_a), code=1)
    assert "cannot merge a project into itself" in r.output
    r = run_a("merge", str(tmp_path / "nope.db"), code=1)
    assert "nope.db: no project file here" in r.output
    (tmp_path / "junk.db").write_text("hello")
    r = run_a("merge", str(tmp_path / "junk.db"), code=1)
    assert "junk.db: not a coder project" in r.output


def test_merge_refuses_different_segmentation(tmp_path):
    run_a, _ = make_project(tmp_path, "ana.db", ANA)
    mixed = write(tmp_path / "m" / "mixed.txt", "# participant: P93\nInterviewer: Hi.\nP93: I pray.\nP93: One. Two.\n")
    run_a("import", str(mixed), "--pipeline", "blank")
    runner = CliRunner()
    path_b = tmp_path / "turns.db"
    for args in (
        ["init"],
        ["import", str(mixed), "--unit", "turn", "--pipeline", "blank"],
        ["codebook", "load", str(DATA / "mini.yaml")],
        ["code", "mixed.txt", "--segment", "2", "--code", PRAYER, "--coder", "ben"],
    ):
        r = runner.invoke(main, ["-p", str(path_b), *args])
        assert r.exit_code == 0, r.output
    # "I pray." is one sentence and one turn: same offsets in both copies, yet the copies differ
    r = run_a("merge", str(path_b), code=1)
    assert "document 'mixed.txt' was split into units differently than 'mixed.txt' here" in r.output


def test_merge_carries_undo_both_ways_and_odd_file_names(tmp_path):
    run_a, path_a = make_project(tmp_path, "ana.db", ANA)
    copy = tmp_path / "copies" / "ben #2?.db"  # '#' and '?' must not cut the path short
    copy.parent.mkdir()
    shutil.copy(path_a, copy)  # ben starts from ana's file, so ana's decisions are in both
    runner = CliRunner()
    r = runner.invoke(
        main, ["-p", str(copy), "code", "sample.txt", "--segment", "3", "--code", PRAYER, "--coder", "ben"]
    )
    assert r.exit_code == 0, r.output
    run_a("review", "--coder", "ana", input="u\nq\n")  # no suggestions: review says so, nothing undone
    from coder.app import Project
    from coder.store import Store

    with Project(path_a) as p:
        undone = p.review("ana").undo()  # ana withdraws her last coding in her own copy
    r = run_a("merge", str(copy))
    assert "Merged 1 decision(s)" in r.output and "ben" in r.output
    with Store(path_a) as s:
        standing = {(d.coder, d.segment_id, d.code_path) for d in s.decisions()}
    assert ("ana", undone.segment_id, undone.code_path) not in standing  # her undo stands
    with Project(copy) as p:
        p.review("ben").undo()  # ben withdraws his coding in his copy
    r = run_a("merge", str(copy))
    assert "1 undone as in the other copy" in r.output
    with Store(path_a) as s:
        assert not [d for d in s.decisions() if d.coder == "ben"]
    assert not (tmp_path / "copies" / "ben ").exists()


def test_reconcile_and_agree_edge_errors(tmp_path):
    run, _ = make_project(tmp_path, "p.db", [("ana", "sample.txt", 5, PRAYER), ("ben", "other.txt", 2, PRAYER)])
    r = run("reconcile", "--coder", "ana", "--coder", "ben ", "--by", "chloe", code=1)
    assert r.output.strip() == (
        "Error: no sentence was reviewed by all of ana, ben — each coder must code the same documents "
        "(or try --coverage documents)"
    )
    r = run("agree", "--coder", "ana", "--coder", "ben", "-o", str(tmp_path / "missing" / "a.md"), code=1)
    assert r.output.strip() == (
        f"Error: {tmp_path / 'missing'}: no such folder for the output file — create it, or pick another -o"
    )


def test_agree_html_report_with_disagreements(proj, tmp_path):
    out = tmp_path / "agreement.html"
    proj("agree", "--coder", "ana", "--coder", "ben", "--disagreements", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert "<caption>Agreement of ana and ben" in page
    data = json.loads(proj("agree", "--coder", "ana", "--coder", "ben", "--format", "json").output)
    fam = next(c for c in data["codes"] if c["code"] == "Familial relationships")
    assert fam["alpha"] == 1.0 and '<td class="d0">Familial relationships</td>' in page
    assert "2 disagreement(s) between ana, ben" in page
    assert "<blockquote>“I read my Bible when I can&#x27;t sleep.”</blockquote>" in page
