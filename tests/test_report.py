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


def test_matrix_text_keeps_every_name_whole():
    """Long code names are not cut: columns are numbered, and the numbers explained under the table."""
    from coder.report import render_matrix

    codes = ["Spirituality / faith > Reading scripture", "Familial relationships > Children", "Education"]
    out = render_matrix(["P01", "P02"], codes, [[1, 0, 1], [0, 1, 1]], "text", title="Presence", corner="participant")
    lines = out.splitlines()
    assert lines[1].split() == ["participant", "1", "2", "3"]
    assert lines[2].split() == ["P01", "1", "0", "1"]
    assert [f"{i} = {c}" for i, c in enumerate(codes, 1)] == [s.strip() for s in lines[5:8]]
    golden = GOLDEN / "presence_long_names.text"
    if os.environ.get("CODER_REGEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")

    square = render_matrix(
        codes, codes, [[3, 1, 0], [1, 2, 0], [0, 0, 1]], "text", title="Co-occurrence", corner="code"
    )
    rows = square.splitlines()[2:5]
    assert [r.split("  ")[0] for r in rows] == [f"{i}. {c}" for i, c in enumerate(codes, 1)]
    assert rows[0].split()[-3:] == ["3", "1", "0"]
    for fmt in ("md", "csv", "json"):
        text = render_matrix(codes, codes, [[3, 1, 0], [1, 2, 0], [0, 0, 1]], fmt, title="t", corner="code")
        assert all(c in text for c in codes)


def test_text_tables_do_not_cut_long_names():
    from coder.report import render_tally
    from coder.tally import TallyRow

    name = "A code whose name runs on well past sixty characters, as researchers' names do"
    out = render_tally([TallyRow(name, name, 0, 2, 2, 1, 3)], "text", title="t")
    assert name in out


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib figure a writer saves, to look at its axes afterwards."""
    from matplotlib.figure import Figure

    figures = []
    save = Figure.savefig

    def record(fig, *args, **kwargs):
        figures.append(fig)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return figures


def test_charts_tick_whole_counts_only(saved_figures, tmp_path):
    """Counts are whole numbers: no axis or colour bar shows a tick like 0.5."""
    from coder.report import write_chart, write_heatmap, write_saturation_chart
    from coder.tally import TallyRow

    rows = [TallyRow("Faith", "Faith", 0, 2, 3, 1, 3), TallyRow("Faith > Prayer", "Prayer", 1, 1, 2, 1, 3)]
    write_chart(rows, str(tmp_path / "bars.png"), title="t")
    write_heatmap(["Faith", "Family"], [[2, 1], [1, 1]], str(tmp_path / "heat.png"), title="t")
    write_saturation_chart([("P1", 2, 2), ("P2", 1, 3)], str(tmp_path / "sat.png"), title="t")
    assert len(saved_figures) == 3
    for fig in saved_figures:
        for ax in fig.axes:
            ticks = [*ax.get_xticks(), *ax.get_yticks()]
            assert ticks and all(float(t).is_integer() for t in ticks), (ax.get_label(), ticks)
