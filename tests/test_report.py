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
