from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from coder.cli import main

from .conftest import DATA, write


@pytest.fixture
def proj(tmp_path):
    runner = CliRunner()
    path = tmp_path / "p.db"

    def run(*args, code=0):
        r = runner.invoke(main, ["-p", str(path), *args], catch_exceptions=False)
        assert r.exit_code == code, r.output
        return r

    second = write(
        tmp_path / "second.txt",
        "Interviewer: And now?\nP90: I pray at night.\nInterviewer: Ok.\nP90: My sister calls me every day.\n",
    )
    other = write(tmp_path / "other.txt", "Interviewer: Hi.\nP91: I read the Bible.\n")
    run("init")
    run("import", str(DATA / "sample.txt"), "--pipeline", "blank")
    run("import", str(second), "--participant", "P90", "--pipeline", "blank")  # P90's second interview
    run("import", str(other), "--participant", "P91", "--pipeline", "blank")
    run("codebook", "load", str(DATA / "mini.yaml"))
    prayer = "Spirituality / faith > Prayer and personal spiritual practices"
    scripture = "Spirituality / faith > Reading scripture"
    # sample.txt #8 "I pray every morning."; second.txt #2 "I pray at night."; other.txt #2 "I read the Bible."
    for doc, seg, code_path, coders in (
        ("sample.txt", 8, prayer, ("ana", "ben")),
        ("second.txt", 2, prayer, ("ana",)),
        ("other.txt", 2, scripture, ("ana", "ben")),
        ("sample.txt", 5, "Familial relationships", ("ben",)),
    ):
        for c in coders:
            run("code", doc, "--segment", str(seg), "--code", code_path, "--coder", c)
    return run


def rows(out):
    return {r["path"]: r for r in json.loads(out)["rows"]}


def test_tally_coder_any_consensus(proj):
    ana = rows(proj("tally", "--coder", "ana", "--format", "json").output)
    faith = ana["Spirituality / faith"]
    # P90 mentioned faith in two documents: two mentions, one participant
    assert (faith["mentions"], faith["of_parent"], faith["participants"], faith["participants_total"]) == (
        3,
        "3/3",
        2,
        2,
    )
    both = rows(proj("tally", "--consensus", "--coder", "ana", "--coder", "ben", "--format", "json").output)
    assert both["Spirituality / faith"]["mentions"] == 2 and both["Familial relationships"]["mentions"] == 0
    anyone = rows(proj("tally", "--format", "json").output)
    assert anyone["Familial relationships"]["of_parent"] == "1/4"


def test_tally_text_filters_and_file(proj, tmp_path):
    out = proj("tally", "--coder", "ana", "--depth", "1").output
    assert out.splitlines()[0] == "Theme frequencies — codings accepted by ana"
    assert "Spirituality / faith" in out and "Reading scripture" not in out
    assert "Counting rules: a mention is one coded participant sentence." in out
    only = rows(proj("tally", "--coder", "ana", "--participants", "P91", "--format", "json").output)
    assert only["Spirituality / faith"]["participants_total"] == 1
    md = tmp_path / "table.md"
    r = proj("tally", "--coder", "ana", "-o", str(md), "--prose")
    assert r.output.startswith("Wrote 5 rows (") and md.read_text().startswith(
        "**Theme frequencies — codings accepted by ana**"
    )
    assert "*Spirituality / faith was mentioned 3 times (3/3 of all coded mentions) by 2 of 2 participants (100%)" in (
        md.read_text()
    )


def test_tally_include_suggested_is_labelled(proj):
    proj("suggest", "--model", "hash", "--threshold", "0.3")
    out = proj("tally", "--coder", "ana", "--include-suggested").output
    assert out.splitlines()[0] == "Theme frequencies — codings accepted by ana + PRE-CODED, UNREVIEWED SUGGESTIONS"
    assert "pre-coded, unreviewed — not findings" in out


def test_tally_errors(proj):
    assert proj("tally", "--consensus", "--coder", "ana", code=1).output == (
        "Error: --consensus needs at least two --coder names — e.g. --consensus --coder ana --coder ben\n"
    )
    assert proj("tally", "--coder", "zoe", code=1).output == (
        "Error: no decisions by zoe — coders in this project: ana, ben\n"
    )
    assert "choose --consensus or --any" in proj("tally", "--consensus", "--any", code=2).output


def test_tally_file_formats(proj, tmp_path):
    import docx

    out = tmp_path / "themes.docx"
    r = proj("tally", "--coder", "ana", "-o", str(out))
    assert r.output == f"Wrote 5 rows to {out}.\n"
    assert docx.Document(str(out)).tables[0].rows[1].cells[0].text == "Spirituality / faith"
    tex = tmp_path / "themes.tex"
    proj("tally", "--coder", "ana", "-o", str(tex))
    assert "\\toprule" in tex.read_text()
    assert "writes a file: add -o FILE.xlsx" in proj("tally", "--format", "xlsx", code=2).output
    assert not list(tmp_path.glob("*.part*"))


def test_tally_by_attribute(proj, tmp_path):
    attrs = write(tmp_path / "people.csv", "participant,setting\nP90,indoor\nP91,street-based\n")
    proj("import", "--attributes", str(attrs))
    out = proj("tally", "--coder", "ana", "--by", "setting", "--depth", "1").output
    assert out.splitlines()[0] == "Theme frequencies — codings accepted by ana — by setting"
    assert "indoor (n=1)" in out and "street-based (n=1)" in out
    data = json.loads(proj("tally", "--coder", "ana", "--by", "setting", "--format", "json").output)
    faith = next(r for r in data["rows"] if r["code"] == "Spirituality / faith")
    assert faith["participants"] == {"indoor": 1, "street-based": 1} and faith["mentions"] == {
        "indoor": 2,
        "street-based": 1,
    }
    xlsx = tmp_path / "t.xlsx"
    proj("tally", "--coder", "ana", "--by", "setting", "-o", str(xlsx))
    from openpyxl import load_workbook

    assert load_workbook(xlsx).sheetnames == ["Themes", "By setting"]
    proj("tally", "--coder", "ana", "--by", "setting", "--depth", "1", "-o", str(xlsx))
    book = load_workbook(xlsx)
    codes = {ws.title: [r[0] for r in ws.iter_rows(values_only=True)] for ws in book}
    assert "Reading scripture" not in str(codes["By setting"])  # the cross-tab's sheet to --depth too
    assert "Spirituality / faith" in str(codes["By setting"])
    assert proj("tally", "--by", "colour", code=1).output == (
        "Error: no participant attribute 'colour' — attributes in this project: setting\n"
    )
    assert (
        "--by writes text, md, csv, json, tex, docx or xlsx"
        in proj("tally", "--by", "setting", "-o", str(tmp_path / "x.png"), code=2).output
    )
    import docx

    by_docx = tmp_path / "by.docx"
    proj("tally", "--coder", "ana", "--by", "setting", "--depth", "1", "-o", str(by_docx))
    cells = [[c.text for c in r.cells] for r in docx.Document(str(by_docx)).tables[0].rows]
    assert cells[0] == ["Code", "indoor (n=1)", "street-based (n=1)"]
    assert cells[2] == ["Spirituality / faith", "1/1 (2)", "1/1 (1)"]
    tex = proj("tally", "--coder", "ana", "--by", "setting", "--format", "tex").output
    assert "\\toprule" in tex and "indoor (n=1) & street-based (n=1)" in tex


def test_presence_and_cooccurrence(proj, tmp_path):
    out = proj("tally", "--coder", "ana", "--presence", "--unit", "participant", "--depth", "1").output
    assert out.splitlines() == [
        "participant,Spirituality / faith,Familial relationships,Education and educational goals",
        "P90,1,0,0",
        "P91,1,0,0",
    ]
    seg = proj("tally", "--presence", "--format", "json").output
    data = json.loads(seg)
    assert len(data["rows"]) == 12 and data["columns"][1] == "Spirituality / faith > Reading scripture"
    co = json.loads(proj("tally", "--cooccurrence", "--unit", "participant", "--format", "json").output)
    assert co["rows"] == ["Spirituality / faith", "Familial relationships", "Education and educational goals"]
    assert co["matrix"][0][:2] == [2, 1]  # P90 mentioned both faith and family (ben coded family)
    png = tmp_path / "co.png"
    proj("tally", "--cooccurrence", "-o", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "choose --presence or --cooccurrence" in proj("tally", "--presence", "--cooccurrence", code=2).output


def test_quotes_and_saturation(proj, tmp_path):
    attrs = write(tmp_path / "people.csv", "participant,setting\nP90,indoor\nP91,street-based\n")
    proj("import", "--attributes", str(attrs))
    out = proj("quotes", "Spirituality / faith", "--n", "2").output.splitlines()
    assert out[0] == "Spirituality / faith: 2 quotes"
    speakers = [ln.strip() for ln in out if ln.strip().startswith("— ")]
    assert sorted(s.split(" (")[0] for s in speakers) == ["— P90", "— P91"]  # one per participant first
    assert proj("quotes", "Education and educational goals").output == (
        "No accepted sentences for Education and educational goals yet. Review its suggestions with: "
        'coder review --code "Education and educational goals"\n'
    )
    assert "no code 'Pets'" in proj("quotes", "Pets", code=1).output
    sat = proj("saturation").output.splitlines()
    assert sat[1].split() == ["participant", "new", "codes", "codes", "so", "far"]
    assert sat[2].split() == ["P90", "3", "3"] and sat[3].split() == ["P91", "1", "4"]
    png = tmp_path / "s.png"
    proj("saturation", "-o", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")


def test_cooccurrence_in_paper_formats(proj, tmp_path):
    from openpyxl import load_workbook

    xlsx = tmp_path / "co.xlsx"
    proj("tally", "--cooccurrence", "--unit", "participant", "-o", str(xlsx))
    ws = load_workbook(xlsx)["Co-occurrence"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=3)]
    assert rows[0] == ["code", "Spirituality / faith", "Familial relationships", "Education and educational goals"]
    assert rows[1][:3] == ["Spirituality / faith", 2, 1]
    tex = proj("tally", "--cooccurrence", "--format", "tex").output
    assert "\\begin{tabular}{lrrr}" in tex


def test_unreviewed_label_reaches_every_format(proj, tmp_path):
    import docx
    from openpyxl import load_workbook

    proj("suggest", "--model", "hash", "--threshold", "0.3")
    label = "PRE-CODED, UNREVIEWED SUGGESTIONS"
    for fmt in ("text", "md", "csv", "json", "tex"):
        assert label in proj("tally", "--include-suggested", "--format", fmt).output, fmt
    assert label in proj("tally", "--include-suggested", "--cooccurrence", "--format", "csv").output
    d, x = tmp_path / "t.docx", tmp_path / "t.xlsx"
    proj("tally", "--include-suggested", "-o", str(d))
    proj("tally", "--include-suggested", "-o", str(x))
    assert label in docx.Document(str(d)).paragraphs[0].text
    assert label in load_workbook(x)["Themes"]["A1"].value


def test_unknown_output_extensions_are_refused(proj, tmp_path):
    out = proj("tally", "-o", str(tmp_path / "themes.pdf"), code=2).output
    assert "Error: cannot tell the format from '.pdf': use -o FILE with one of .txt .md .csv .json .html .tex" in out
    assert (
        "Error: cannot write '.docx': use -o FILE with .png .svg .csv .md .json or .txt"
        in proj("saturation", "-o", str(tmp_path / "s.docx"), code=2).output
    )
    assert not list(tmp_path.glob("themes*")) and not list(tmp_path.glob("s.docx*"))


def test_tally_html_is_a_standalone_escaped_page(proj, tmp_path):
    out = tmp_path / "themes.html"
    proj("tally", "--coder", "ana", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    assert "<caption>Theme frequencies — codings accepted by ana</caption>" in page
    # the same numbers as the JSON form, in the same order
    want = json.loads(proj("tally", "--coder", "ana", "--format", "json").output)["rows"]
    cell = r"\s*<td[^>]*>([^<]*)</td>"
    got = re.findall(r"<tr(?: class=\"top\")?>" + cell * 3, page)
    assert got == [(r["code"], str(r["mentions"]), r["of_parent"]) for r in want]
    assert 'class="d1">Prayer and personal spiritual practices</td>' in page  # subcodes indented
    assert "Spirituality / faith &gt; " not in page  # names, not paths
    for other in ("--by", "--presence", "--cooccurrence"):
        args = [other, "age"] if other == "--by" else [other]
        r = proj("tally", *args, "--format", "html", code=2)
        assert "--format html writes the frequency table" in r.output


def test_selection_options_are_shared(proj):
    """quotes and saturation take the same selection as tally (one decorator)."""
    out = proj("quotes", "Spirituality / faith", "--participants", "P91").output.splitlines()
    assert out[0] == "Spirituality / faith: 1 quote" and out[2].strip().startswith("— P91")
    consensus = proj("quotes", "spirituality / faith", "--consensus", "--coder", "ana", "--coder", "ben").output
    assert consensus.startswith("Spirituality / faith: 2 quotes")
    sat = proj("saturation", "--coder", "ben", "--documents", "sample.txt").output.splitlines()
    assert sat[2].split() == ["P90", "3", "3"] and not [ln for ln in sat if ln.startswith("P91")]
    for cmd in (["tally"], ["saturation"], ["quotes", "Spirituality / faith"]):
        assert "choose --consensus or --any, not both" in proj(*cmd, "--consensus", "--any", code=2).output


def test_saturation_says_who_it_left_out_and_what_it_wrote(proj, tmp_path):
    assert "Left out:" not in proj("saturation", "--coder", "ana").output  # ana answered on both participants
    proj("code", "other.txt", "--segment", "2", "--code", "Familial relationships", "--coder", "cara")
    out = proj("saturation", "--coder", "cara").output
    assert out.splitlines()[2].split() == ["P91", "1", "1"] and "P90" not in out.splitlines()[3]
    assert (
        "Left out: 1 participant with no answer recorded yet (P90): they would add no new code and look like "
        "saturation. Review them, or pass --include-suggested." in out
    )
    r = proj("saturation", "--coder", "cara", "-o", str(tmp_path / "s.csv"))
    assert "Wrote the table for 1 participant to " in r.output
