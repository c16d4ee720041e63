"""What the store returns: one frozen dataclass per shape of row.

Each class's fields are the columns its SELECT names, in order, so a row is built positionally
(``Cls(*row)``) with no per-column lookups; :func:`columns` writes that column list for rows that
are a table's own columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def columns(cls: type, alias: str) -> str:
    """``alias.field, ...`` for every field of a row class, in order: the SELECT list that builds it."""
    return ", ".join(f"{alias}.{name}" for name in _names(cls))


_FLAGS: dict[type, tuple[str, ...]] = {}


def _flags(cls: type) -> tuple[str, ...]:
    flags = _FLAGS.get(cls)
    if flags is None:
        flags = _FLAGS[cls] = tuple(f.name for f in fields(cls) if f.type in (bool, "bool"))
    return flags


class _Flags:
    """A row with yes/no (``bool``) columns: SQLite hands back 0 or 1, the row holds False or True."""

    __slots__ = ()

    def __post_init__(self) -> None:
        for name in _flags(type(self)):
            object.__setattr__(self, name, bool(getattr(self, name)))


# -- documents, turns, segments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentInfo:
    """A document with its counts (:meth:`Store.documents`)."""

    id: int
    name: str
    participant: str
    format: str
    turns: int
    segments: int
    coded_segments: int
    content_hash: str
    imported_at: str


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A ``documents`` row, text included."""

    id: int
    name: str
    source_path: str
    format: str
    participant: str
    text: str
    content_hash: str
    unit: str
    splitter: str
    metadata: str  # JSON
    imported_at: str


@dataclass(frozen=True, slots=True)
class TurnRow:
    """A ``turns`` row."""

    id: int
    document_id: int
    idx: int
    speaker: str
    role: str
    start: int
    end: int
    speech_start: int
    time_start: float | None
    time_end: float | None


@dataclass(frozen=True, slots=True)
class TurnSpeech:
    """A turn with the words spoken in it (:meth:`Store.turns_around`)."""

    idx: int
    speaker: str
    role: str
    speech_start: int
    speech: str


@dataclass(frozen=True, slots=True)
class SegmentKey:
    """Where a segment is, without its text (:meth:`Store.segment_keys`: agreement over many sentences)."""

    id: int
    document: str
    participant: str
    idx: int
    turn: int


@dataclass(frozen=True)
class SegmentRow:
    """A segment with its document and turn, for listing and scoring (:meth:`Store.segments`)."""

    id: int
    document: str
    participant: str
    idx: int
    turn: int
    speaker: str
    role: str
    start: int
    end: int
    text: str
    coded: bool


@dataclass(frozen=True, slots=True)
class SegmentDetail(_Flags):
    """A ``segments`` row with its document's name and participant and its turn."""

    id: int
    document_id: int
    turn_id: int
    idx: int
    start: int
    end: int
    text: str
    text_hash: str
    coded: bool
    document: str
    participant: str
    turn_idx: int
    speaker: str
    role: str


@dataclass(frozen=True, slots=True)
class AcceptedSegment:
    """A segment accepted for a code (:meth:`Store.accepted_segments`)."""

    id: int
    text: str
    text_hash: str
    participant: str


# -- codebooks and suggestions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodebookRow(_Flags):
    """A ``codebooks`` row: one loaded version."""

    id: int
    name: str
    version: str
    hash: str
    source: str
    yaml: str
    loaded_at: str
    is_current: bool


@dataclass(frozen=True, slots=True)
class RunRow(_Flags):
    """A ``suggestion_runs`` row."""

    id: int
    suggester: str
    model: str
    codebook_hash: str
    method: str
    threshold: float
    top_k: int
    code_paths: str  # JSON list, in score-column order
    segments: int
    embedded: int
    started_at: str
    finished_at: str | None
    active: bool
    learned_from: str | None
    """Whose decisions a learned run learned from (a coder, ``consensus``); None for a zero-shot run."""
    decisions: int
    """How many standing decisions it learned from (0 for a zero-shot run)."""
    calibrated: str
    """JSON list of the code paths whose probabilities were calibrated on the coder's answers."""
    carry: str
    """A learned run's model of codes carried over from the sentence before (:mod:`coder.carry`), or ''."""

    def calibrated_codes(self) -> frozenset[str]:
        return frozenset(json.loads(self.calibrated))


@dataclass(frozen=True, slots=True)
class SuggestionRow:
    """An active suggestion with its run (:meth:`Store.suggestions`)."""

    id: int
    segment_id: int
    code_path: str
    score: float
    rank: int
    evidence: str
    suggester: str
    model: str
    codebook_hash: str
    learned_from: str | None
    document_id: int


@dataclass(frozen=True, slots=True)
class PendingRow(SuggestionRow):
    """An active suggestion awaiting a coder's answer, with its sentence (:meth:`Store.pending_suggestions`)."""

    segment_idx: int
    text: str
    document: str
    participant: str
    turn_idx: int


@dataclass(frozen=True, slots=True)
class CodingRow:
    """An active suggestion or a decision, with its place: one line of an export (:meth:`Store.codings`)."""

    document: str
    participant: str
    speaker: str
    start: int
    end: int
    text: str
    code_path: str
    status: str  # suggested | accepted | rejected
    score: float | None
    coder: str | None
    suggester: str | None
    model: str | None
    learned_from: str | None
    decided_at: str | None
    run_id: int | None
    segment_id: int


@dataclass(frozen=True, slots=True)
class AnswerSource:
    """How many of a coder's standing answers went to suggestions of one kind of run (:meth:`Store.answer_sources`)."""

    coder: str
    suggester: str
    learned_from: str | None
    """The run's ``learned_from``: None for zero-shot, a coder's name, or ``*`` for a run fitted on everyone."""
    accepted: int
    rejected: int


# -- decisions and memos ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """A ``decisions`` row (standing while ``undone_at`` is None)."""

    id: int
    segment_id: int
    code_path: str
    coder: str
    answer: str
    reason: str | None
    memo: str | None
    suggestion_id: int | None
    codebook_hash: str | None
    decided_at: str
    undone_at: str | None
    decided_by: str | None
    carried: int
    """1 for an answer to a code carried over from the sentence before (:mod:`coder.app.carrying`)."""
    via: str | None
    """How the answer was reached (:data:`coder.types.VIA`); None: not recorded."""


@dataclass(frozen=True, slots=True)
class CodeRename:
    """A ``code_renames`` row: decisions moved from an old code path by a codebook's ``formerly``."""

    id: int
    old_path: str
    new_path: str
    decisions_moved: int
    duplicates_undone: int
    codebook_hash: str
    renamed_at: str


@dataclass(frozen=True, slots=True)
class DecisionDetail(DecisionRow):
    """A decision with its sentence's document, participant, offsets and text (:meth:`Store.decisions`)."""

    document: str
    participant: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class DecisionCount:
    """A coder's standing answers on one code (:meth:`Store.decision_counts`)."""

    coder: str
    code_path: str
    accepted: int
    rejected: int


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :meth:`Store.record_decision` did.

    ``outcome``: ``added`` (no standing answer before), ``replaced`` (the standing answer was marked
    undone and this one added), ``unchanged`` (this answer already stands, or this very decision is
    here already: nothing written) or ``kept`` (a different standing answer stays: nothing written).
    ``decision_id`` is the decision that now stands (for ``unchanged`` of an undone copy, that copy).
    """

    decision_id: int
    outcome: str


@dataclass(frozen=True, slots=True)
class MemoRow:
    """A ``memos`` row."""

    id: int
    segment_id: int
    coder: str
    text: str
    created_at: str


@dataclass(frozen=True, slots=True)
class MemoDetail(MemoRow):
    """A memo with its sentence's document and offsets (:meth:`Store.all_memos`)."""

    document_id: int
    start: int
    end: int
