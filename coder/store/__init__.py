"""The project file: one SQLite database. This package is the only code that speaks SQL.

Opening a :class:`Store` applies pending migrations (after backing the file up), turns on WAL
and foreign keys, and sets a busy timeout so two coders can write to one file. Writes that
belong together go through :meth:`Store.transaction`; one write on its own goes through
:meth:`Store.write`, retried while another writer holds the lock. Rows come out as the frozen
dataclasses of :mod:`coder.store.rows`.

One module per group of tables, each a mixin over :class:`~coder.store._base.StoreBase` (the
connection, migrations, transactions, settings): ``documents`` (documents, turns, segments,
attributes), ``codebooks``, ``embeddings``, ``runs`` (suggestion runs, suggestions, scores),
``decisions`` (the audit trail and its one rule) and ``memos``.
"""

from __future__ import annotations

from coder.store._base import APPLICATION_ID, BUSY_TIMEOUT_MS, StoreBase, now
from coder.store.codebooks import Codebooks
from coder.store.decisions import ANSWERS, Decisions, IfStanding
from coder.store.documents import Documents
from coder.store.embeddings import Embeddings
from coder.store.memos import Memos
from coder.store.rows import (
    AcceptedSegment,
    AnswerSource,
    CodebookRow,
    CodeRename,
    CodingRow,
    DecisionCount,
    DecisionDetail,
    DecisionRow,
    DocumentInfo,
    DocumentRow,
    MemoDetail,
    MemoRow,
    PendingRow,
    Recorded,
    RunRow,
    SegmentDetail,
    SegmentKey,
    SegmentRow,
    SuggestionRow,
    TurnRow,
    TurnSpeech,
)
from coder.store.runs import Runs


class Store(Documents, Codebooks, Embeddings, Runs, Decisions, Memos):
    """A coder project file."""


__all__ = [
    "ANSWERS",
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "AcceptedSegment",
    "AnswerSource",
    "CodeRename",
    "CodebookRow",
    "CodingRow",
    "DecisionCount",
    "DecisionDetail",
    "DecisionRow",
    "DocumentInfo",
    "DocumentRow",
    "IfStanding",
    "MemoDetail",
    "MemoRow",
    "PendingRow",
    "Recorded",
    "RunRow",
    "SegmentDetail",
    "SegmentKey",
    "SegmentRow",
    "Store",
    "StoreBase",
    "SuggestionRow",
    "TurnRow",
    "TurnSpeech",
    "now",
]
