from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from coder.codebook import read_codebook
from coder.report import render_tally
from coder.tally import RULES, select_rows, tally

from .conftest import DATA
from .test_tally import countryman_codings

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def rows():
    book = read_codebook(DATA / "countryman.yaml")
    return select_rows(tally(book, countryman_codings(), participants_total=19), depth=2)


@pytest.mark.parametrize("fmt", ["text", "md", "csv", "json"])
def test_formats_golden(rows, fmt):
    """What a reader sees, per format (regenerate with CODER_REGEN=1)."""
    out = render_tally(rows, fmt, title="Theme frequencies — example", notes=["A note."])
    golden = GOLDEN / f"tally_countryman.{fmt}"
    if os.environ.get("CODER_REGEN"):
        golden.write_bytes(out.encode("utf-8"))
    assert out.encode("utf-8") == golden.read_bytes()  # bytes: CSV rows end in CRLF


def test_machine_formats_parse_back(rows):
    data = json.loads(render_tally(rows, "json", title="t"))
    assert data["notes"][-1] == RULES
    faith = next(r for r in data["rows"] if r["code"] == "Faith/Spirituality")
    assert (faith["of_parent"], faith["participants"], faith["participants_total"]) == ("15/34", 7, 19)
    table = list(csv.DictReader(io.StringIO(render_tally(rows, "csv", title="t"))))
    assert [r["mentions"] for r in table if r["code"] == "Faith/Spirituality"] == ["15"]
    with pytest.raises(ValueError):
        render_tally(rows, "pdf", title="t")


def test_tex_golden(rows):
    from coder.report import render_tex

    out = render_tex(rows, title="Theme frequencies — 100% of #1 & more", notes=["A note."])
    golden = GOLDEN / "tally_countryman.tex"
    if os.environ.get("CODER_REGEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    assert "\\caption{Theme frequencies — 100\\% of \\#1 \\& more}" in out


def test_docx_reads_back(rows, tmp_path):
    import docx

    from coder.report import write_docx

    path = tmp_path / "t.docx"
    write_docx(rows, str(path), title="Theme frequencies — example", notes=["A note."])
    d = docx.Document(str(path))
    table = d.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == ["Code", "Mentions", "n/N of parent", "Participants"]
    assert cells[2] == ["    Faith/Spirituality", "15", "15/34", "7 of 19 (37%)"]
    assert d.paragraphs[0].text == "Theme frequencies — example"
    assert d.paragraphs[-1].text == RULES


def test_xlsx_reads_back(rows, tmp_path):
    from openpyxl import load_workbook

    from coder.report import write_xlsx

    path = tmp_path / "t.xlsx"
    write_xlsx({"Themes": rows, "Categories": rows[:1]}, str(path), title="T", notes=["A note."])
    wb = load_workbook(path)
    assert wb.sheetnames == ["Themes", "Categories"]
    ws = wb["Themes"]
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][0] == "T" and values[1][:5] == ["Code", "Path", "Level", "Mentions", "n/N of parent"]
    faith = next(v for v in values if v[0] == "Faith/Spirituality")
    assert faith[3:8] == [15, "15/34", 7, 19, 36.8]
    assert values[-1][0] == RULES


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_chart_files(rows, tmp_path, ext):
    from coder.report import write_chart

    path = tmp_path / f"t.{ext}"
    write_chart(rows, str(path), title="Theme frequencies")
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if ext == "png" else b"<svg" in head or b"<?xml" in head


@pytest.mark.parametrize("fmt", ["text", "md", "csv", "json"])
def test_matrix_golden(fmt):
    from coder.report import render_matrix

    out = render_matrix(
        ["Faith", "Family"],
        ["Faith", "Family"],
        [[3, 1], [1, 2]],
        fmt,
        title="Co-occurrence",
        corner="code",
        notes=["Diagonal = sentences with the code."],
    )
    golden = GOLDEN / f"cooccurrence.{fmt}"
    if os.environ.get("CODER_REGEN"):
        golden.write_bytes(out.encode("utf-8"))
    assert out.encode("utf-8") == golden.read_bytes()


@pytest.mark.parametrize("fmt", ["text", "md", "csv", "json"])
def test_crosstab_golden(fmt):
    from coder.report import render_crosstab
    from coder.tally import crosstab

    book = read_codebook(DATA / "countryman.yaml")
    women = [f"W{i:02d}" for i in range(1, 20)]
    group = {w: ("under 25" if i < 5 else "25+") for i, w in enumerate(women)}
    tab = crosstab(book, countryman_codings(), "age_group", group, women)
    out = render_crosstab(tab, fmt, title="By age group", depth=2)
    golden = GOLDEN / f"crosstab_countryman.{fmt}"
    if os.environ.get("CODER_REGEN"):
        golden.write_bytes(out.encode("utf-8"))
    assert out.encode("utf-8") == golden.read_bytes()
