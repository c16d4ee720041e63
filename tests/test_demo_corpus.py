"""The bundled demo corpus is synthetic, varied, and its reference coding lines up with it."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from coder.app import Project
from coder.codebook import read_codebook
from coder.transcripts import read_file

from .conftest import REPO

DEMO = REPO / "corpora" / "demo"
FILES, PARTICIPANTS, CODEBOOK = Project.demo_inputs()  # what 'coder demo' imports


def reference_rows() -> list[dict[str, str]]:
    with (DEMO / "reference-coding.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_corpus_is_synthetic_varied_and_attributed():
    assert len(FILES) >= 12
    assert {p.suffix for p in FILES} >= {".txt", ".docx", ".vtt"}
    with PARTICIPANTS.open(encoding="utf-8") as fh:
        people = {r["participant"]: r for r in csv.DictReader(fh)}
    ages = [int(r["age"]) for r in people.values()]
    assert min(ages) <= 20 and max(ages) >= 55
    assert Counter(r["ethnicity"] for r in people.values())["Latina"] >= 3
    for p in FILES:
        t = read_file(p)[0]
        # captions keep their header in a NOTE block of the file; other formats in the text itself
        head = (p.read_text(encoding="utf-8") if p.suffix == ".vtt" else t.text)[:600].lower()
        assert "synthetic transcript" in head and "not real interview data" in head, p.name
        assert t.participant in people, p.name
        words = len(t.text.split())
        assert 1200 <= words <= 7500, (p.name, words)


def test_reference_coding_points_into_the_texts_with_valid_codes():
    rows = reference_rows()
    assert len(rows) > 2000
    texts = {p.name: read_file(p)[0].text for p in FILES}
    paths = {c.path for c in read_codebook(CODEBOOK).codes}
    for i, r in enumerate(rows, start=2):
        assert texts[r["document"]][int(r["start"]) : int(r["end"])] == r["text"], f"row {i}"
        assert r["code"] in paths, f"row {i}: {r['code']}"
        assert r["coder"] == "reference"
    assert {r["document"] for r in rows} == set(texts)
    assert {r["code"].split(" > ")[0] for r in rows} == {c for c in paths if " > " not in c}


@pytest.mark.model
def test_reference_spans_are_segments_of_the_default_pipeline(real_splitter):
    from coder.segment import segment

    spans = {(r["document"], int(r["start"]), int(r["end"])) for r in reference_rows()}
    found = set()
    for p in FILES:
        t = read_file(Path(p))[0]
        found |= {(p.name, s.start, s.end) for s in segment(t, real_splitter) if s.coded}
    assert spans <= found


def test_codebook_examples_are_not_lifted_from_the_transcripts():
    """A codebook example that repeats a transcript sentence would hand the suggester a free hit."""
    import re

    def norm(t: str) -> str:
        return re.sub(r"[^a-z ]", "", t.lower())

    texts = [norm(read_file(p)[0].text) for p in FILES]
    book = read_codebook(CODEBOOK)
    shared = []
    for c in book.codes:
        for ex in (*c.examples, *c.counterexamples):
            words = norm(ex).split()
            runs = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
            if any(r in t for r in runs for t in texts):
                shared.append(ex)
    assert shared == []
