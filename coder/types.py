"""Plain frozen dataclasses passed between modules. No behaviour beyond small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

PATH_SEP = " > "
"""Separator between code names in a code path, e.g. ``Spirituality / faith > Reading scripture``."""

PARTICIPANT = "participant"
INTERVIEWER = "interviewer"
VIA = ("document", "score", "uncertain", "sample", "hand", "reconcile")
"""How an answer was reached, as ``decisions.via`` records it (None: not recorded): the review queue in ``document``
order (the page too), by ``score`` or ``uncertain`` first; the random ``sample`` inside that order; a code picked by
``hand``; a ``reconcile`` meeting. Answers the model chose (uncertain first) are not a census of the transcripts, as
answers read in document order are."""


@dataclass(frozen=True)
class Turn:
    """One speaker turn. Offsets are character offsets (Python str indices) into the document text.

    ``start``/``end`` span the whole turn including its speaker label; ``speech_start`` is
    where the spoken words begin (after ``P03:`` or a ``<v Name>`` tag).
    """

    index: int
    speaker: str
    role: str
    start: int
    end: int
    speech_start: int
    time_start: float | None = None
    time_end: float | None = None


@dataclass(frozen=True)
class Transcript:
    """A parsed document: its plain text and speaker turns. Produced by :mod:`coder.transcripts`."""

    name: str
    text: str
    turns: tuple[Turn, ...]
    participant: str
    format: str
    source: str
    content_hash: str
    metadata: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """What reading the source file left out, in words (the import says each once per file; not stored)."""

    def speech(self, turn: Turn) -> str:
        return self.text[turn.speech_start : turn.end]


@dataclass(frozen=True)
class Segment:
    """A unit of coding: a sentence (or a whole turn) inside one turn."""

    index: int
    turn_index: int
    start: int
    end: int
    text: str
    coded: bool
    """True for participant speech (suggested and coded by default); False for interviewer context."""


@dataclass(frozen=True)
class Code:
    """One code of a codebook; ``path`` is unique within the codebook."""

    path: str
    name: str
    definition: str
    parent: str | None = None
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    source: str = ""
    depth: int = 0
    line: int | None = None
    guid: str = ""  # REFI-QDA GUID, kept when a codebook comes from another tool
    exclusive: bool = False
    """True when exactly one of the code's children applies to a unit (mutually exclusive subcodes)."""
    formerly: tuple[str, ...] = ()
    """Full paths this code had in earlier versions (renamed, or several merged into it): on load, the
    decisions made under them move to this code."""


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. ``codes`` are in depth-first file order; ``hash`` identifies the version."""

    name: str
    version: str
    description: str
    codes: tuple[Code, ...]
    hash: str
    source: str = ""
    references: tuple[str, ...] = ()
    exclusive: bool = False
    """True when exactly one top-level code applies to every unit (the whole codebook is one exclusive set)."""

    def by_path(self) -> dict[str, Code]:
        return {c.path: c for c in self.codes}

    def children(self, path: str | None) -> list[Code]:
        return [c for c in self.codes if c.parent == path]

    def leaves(self) -> list[Code]:
        parents = {c.parent for c in self.codes}
        return [c for c in self.codes if c.path not in parents]

    def exclusive_groups(self) -> list[tuple[str | None, tuple[str, ...]]]:
        """(parent path, its children's paths) for each mutually exclusive set, in codebook order: first the
        top-level codes (parent None) when the codebook is ``exclusive``, then the children of each
        ``exclusive`` code."""
        top = [(None, tuple(c.path for c in self.children(None)))] if self.exclusive else []
        return top + [(c.path, tuple(k.path for k in self.children(c.path))) for c in self.codes if c.exclusive]


@dataclass(frozen=True)
class Suggestion:
    """A code proposed for a segment by a suggester, with the evidence that made it close."""

    segment_id: int
    code_path: str
    score: float
    rank: int
    evidence: str
