from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest

from coder.segment import MAX_WORDS, segment
from coder.transcripts import parse_text, read_file

from .conftest import DATA

GOLDEN = Path(__file__).parent / "golden"


def test_offsets_point_into_text(blank_splitter):
    t = read_file(DATA / "sample.txt")[0]
    segs = segment(t, blank_splitter)
    assert segs, "no segments"
    for s in segs:
        assert t.text[s.start : s.end] == s.text
        turn = t.turns[s.turn_index]
        assert turn.speech_start <= s.start < s.end <= turn.end
    assert [s.index for s in segs] == list(range(len(segs)))


def test_interviewer_segments_are_context_only(blank_splitter):
    t = read_file(DATA / "sample.txt")[0]
    segs = segment(t, blank_splitter)
    coded = {t.turns[s.turn_index].role for s in segs if s.coded}
    context = {t.turns[s.turn_index].role for s in segs if not s.coded}
    assert coded == {"participant"} and context == {"interviewer"}
    assert all(s.coded for s in segment(t, blank_splitter, code_interviewer=True))


def test_turn_unit_and_annotation_only_units(blank_splitter):
    t = parse_text("Interviewer: Hi.\nP01: [laughs]\nInterviewer: And?\nP01: Yes. Sure.\n", name="x.txt")
    segs = segment(t, None, unit="turn")
    assert [s.text for s in segs if s.coded] == ["Yes. Sure."]  # "[laughs]" alone is not a unit


def test_long_units_are_capped(blank_splitter):
    words = " ".join(f"w{i}" for i in range(MAX_WORDS * 2 + 5))
    t = parse_text(f"Interviewer: Go on.\nP01: {words}\n", name="x.txt")
    segs = [s for s in segment(t, blank_splitter) if s.coded]
    assert [len(s.text.split()) for s in segs] == [MAX_WORDS, MAX_WORDS, 5]
    assert all(t.text[s.start : s.end] == s.text for s in segs)


def render(t, segs) -> str:
    lines = []
    for s in segs:
        turn = t.turns[s.turn_index]
        flag = "*" if s.coded else " "
        lines.append(f"{flag} turn {turn.index + 1:>2} {turn.speaker:<12} {s.start:>5}-{s.end:<5} {s.text}")
    return "\n".join(lines) + "\n"


@pytest.mark.model
def test_segmentation_golden(real_splitter):
    """Sentences of the sample transcript with the real spaCy parser (regenerate: CODER_REGEN=1)."""
    t = read_file(DATA / "sample.txt")[0]
    out = render(t, segment(t, real_splitter))
    golden = GOLDEN / "segmentation_sample.txt"
    if os.environ.get("CODER_REGEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


@pytest.mark.model
def test_parser_keeps_restarts_and_laughs_whole(real_splitter):
    t = read_file(DATA / "sample.txt")[0]
    texts = [s.text for s in segment(t, real_splitter)]
    assert not any(x.strip() in ("[", "laughs]") for x in texts)
    assert any(x.startswith("[laughs]") or "[laughs]" in x for x in texts)


def _pieces(text: str, cuts: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each cut piece, in order, as a splitter would give them."""
    out, pos = [], 0
    for piece in cuts:
        start = text.index(piece, pos)
        out.append((start, start + len(piece)))
        pos = start + len(piece)
    return out


WHOLE = [
    # (speech, the splitter's pieces, the units after merging)
    (
        "I get home and I sit in the car for twenty minutes because I can't face going in.",
        ["I get home", "and I sit in the car for twenty minutes because I can't face going in."],
        ["I get home and I sit in the car for twenty minutes because I can't face going in."],
    ),
    (
        "My sister says I should talk to someone but I don't want to. Twelve hours and I never get a break.",
        ["My sister says I should talk to someone", "but I don't want to.", "Twelve hours", "and I never get a break."],
        ["My sister says I should talk to someone but I don't want to.", "Twelve hours and I never get a break."],
    ),
    (  # an annotation that opens a piece closes the sentence before it; alone, it joins that sentence
        "That was hard. [laughs] And then she left. [pause]",
        ["That was hard.", "[laughs] And then she left.", "[pause]"],
        ["That was hard. [laughs]", "And then she left. [pause]"],
    ),
    (  # a short false start ending in "..." belongs to the sentence it restarts; a long one ends a sentence
        "I think... I think the hardest part was the waiting. And the receptionist gave me this look... Then I left.",
        [
            "I think...",
            "I think the hardest part was the waiting.",
            "And the receptionist gave me this look...",
            "Then I left.",
        ],
        [
            "I think... I think the hardest part was the waiting.",
            "And the receptionist gave me this look...",
            "Then I left.",
        ],
    ),
    (  # a lower-case start continues the sentence: an abbreviation did not end it
        "The appointment was at 9.15 a.m. and I got there at nine. Dr. Patel was late.",
        ["The appointment was at 9.15 a.m.", "and I got there at nine.", "Dr. Patel was late."],
        ["The appointment was at 9.15 a.m. and I got there at nine.", "Dr. Patel was late."],
    ),
    (  # no final punctuation anywhere (auto-captions): the splitter's cuts stand
        "yeah so I went there and then I left",
        ["yeah", "so I went there", "and then I left"],
        ["yeah", "so I went there", "and then I left"],
    ),
    (  # quotes and questions end sentences
        'She said "Go home." Who would I even call? Nobody!',
        ['She said "Go home."', "Who would I even call?", "Nobody!"],
        ['She said "Go home."', "Who would I even call?", "Nobody!"],
    ),
]


@pytest.mark.parametrize(("speech", "cuts", "want"), WHOLE)
def test_whole_sentences_merges_cuts_that_do_not_end_a_sentence(speech, cuts, want):
    from coder.segment import whole_sentences

    got = whole_sentences(speech, _pieces(speech, cuts))
    assert [speech[a:b].strip() for a, b in got] == want
    assert all(a < b for a, b in got) and all(x[1] <= y[0] for x, y in pairwise(got))


def test_segments_of_a_punctuated_turn_are_whole_sentences_with_exact_offsets(blank_splitter):
    from coder.transcripts import parse_text

    text = "Interviewer: And after?\nP01: Twelve hours; and I never get a break. [laughs] So I quit.\n"
    t = parse_text(text, name="t.txt", fmt="txt", source="t.txt", data=text.encode())
    units = [s for s in segment(t, blank_splitter) if s.coded]
    assert [u.text for u in units] == ["Twelve hours; and I never get a break. [laughs]", "So I quit."]
    assert all(text[u.start : u.end] == u.text for u in units)


def test_a_pseudonym_is_words_not_a_note(blank_splitter):
    """coder pseudonymise writes "[Person 1]": it starts a sentence, unlike "[laughs]", which ends one."""
    text = "P01: God knows we fought. [Person 1] said to call [Phone 2]. [laughs] We did. [Place 3].\n"
    t = parse_text(text, name="p.txt")
    units = [s.text for s in segment(t, blank_splitter) if s.coded]
    assert units == ["God knows we fought.", "[Person 1] said to call [Phone 2]. [laughs]", "We did.", "[Place 3]."]
