"""Documents, their turns and segments, participants' attributes, and the project's counts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from coder.store._base import StoreBase, now
from coder.store.rows import (
    DocumentInfo,
    DocumentRow,
    SegmentDetail,
    SegmentKey,
    SegmentRow,
    TurnRow,
    TurnSpeech,
    columns,
)
from coder.types import Segment, Transcript

_DOCUMENT = f"SELECT {columns(DocumentRow, 'd')} FROM documents d"
# SegmentDetail's fields, in order
_SEGMENT = """SELECT s.id, s.document_id, s.turn_id, s.idx, s.start, s.end, s.text, s.text_hash, s.coded,
                     d.name AS document, d.participant, t.idx AS turn_idx, t.speaker, t.role
              FROM segments s JOIN documents d ON d.id = s.document_id JOIN turns t ON t.id = s.turn_id"""


class Documents(StoreBase):
    """Tables ``documents``, ``turns``, ``segments`` and ``attributes``."""

    # -- documents ------------------------------------------------------------------------------

    def document_by_name(self, name: str) -> DocumentRow | None:
        return self._one(DocumentRow, _DOCUMENT + " WHERE d.name = ?", (name,))

    def document_by_text(self, text: str) -> DocumentRow | None:
        return self._one(DocumentRow, _DOCUMENT + " WHERE d.text = ? LIMIT 1", (text,))

    def document_by_hash(self, content_hash: str) -> DocumentRow | None:
        return self._one(DocumentRow, _DOCUMENT + " WHERE d.content_hash = ?", (content_hash,))

    def segmentation(self) -> list[tuple[str, str, int]]:
        """(unit, splitter, documents) for each way the documents were cut into units, most documents first."""
        return [
            (r[0], r[1], int(r[2]))
            for r in self._tuples(
                "SELECT unit, splitter, COUNT(*) AS n FROM documents GROUP BY unit, splitter"
                " ORDER BY n DESC, unit, splitter"
            )
        ]

    def document_answers(self, document_id: int) -> tuple[int, int]:
        """(decisions, memos) recorded on a document's sentences: undone decisions too (the audit trail)."""
        q = "SELECT COUNT(*) FROM {} x JOIN segments s ON s.id = x.segment_id WHERE s.document_id = ?"
        return (
            int(self.db.execute(q.format("decisions"), (document_id,)).fetchone()[0]),
            int(self.db.execute(q.format("memos"), (document_id,)).fetchone()[0]),
        )

    def delete_document(self, document_id: int) -> None:
        """A document, its turns and sentences, and (by cascade) their suggestions, scores, decisions and memos.
        Runs in the caller's transaction; the embeddings cache keeps its vectors (no text), for a re-import."""
        self.db.execute("DELETE FROM documents WHERE id = ?", (document_id,))

    def document_text(self, document_id: int) -> str:
        return str(self.db.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()[0])

    def add_document(
        self,
        t: Transcript,
        segments: Sequence[Segment],
        *,
        unit: str,
        splitter: str,
        text_hashes: Sequence[str],
    ) -> int:
        """Insert a document with its turns and segments (call inside :meth:`transaction`)."""
        cur = self.db.execute(
            "INSERT INTO documents (name, source_path, format, participant, text, content_hash, unit,"
            " splitter, metadata, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                t.name,
                t.source,
                t.format,
                t.participant,
                t.text,
                t.content_hash,
                unit,
                splitter,
                json.dumps(t.metadata, ensure_ascii=False),
                now(),
            ),
        )
        doc_id = int(cur.lastrowid or 0)
        turn_ids: dict[int, int] = {}
        for turn in t.turns:
            c = self.db.execute(
                "INSERT INTO turns (document_id, idx, speaker, role, start, end, speech_start, time_start,"
                " time_end) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    turn.index,
                    turn.speaker,
                    turn.role,
                    turn.start,
                    turn.end,
                    turn.speech_start,
                    turn.time_start,
                    turn.time_end,
                ),
            )
            turn_ids[turn.index] = int(c.lastrowid or 0)
        self.db.executemany(
            "INSERT INTO segments (document_id, turn_id, idx, start, end, text, text_hash, coded)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [
                (doc_id, turn_ids[s.turn_index], s.index, s.start, s.end, s.text, h, int(s.coded))
                for s, h in zip(segments, text_hashes, strict=True)
            ],
        )
        return doc_id

    def documents(self) -> list[DocumentInfo]:
        return self._all(
            DocumentInfo,
            """SELECT d.id, d.name, d.participant, d.format,
                      (SELECT COUNT(*) FROM turns t WHERE t.document_id = d.id),
                      (SELECT COUNT(*) FROM segments s WHERE s.document_id = d.id),
                      (SELECT COUNT(*) FROM segments s WHERE s.document_id = d.id AND s.coded),
                      d.content_hash, d.imported_at
               FROM documents d ORDER BY d.name""",
        )

    # -- turns ----------------------------------------------------------------------------------

    def turns(self, doc_id: int) -> list[TurnRow]:
        return self._all(
            TurnRow, f"SELECT {columns(TurnRow, 't')} FROM turns t WHERE t.document_id = ? ORDER BY t.idx", (doc_id,)
        )

    def turn_count(self, document_id: int) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM turns WHERE document_id = ?", (document_id,)).fetchone()[0])

    def turns_around(self, document_id: int, turn_idx: int) -> list[TurnSpeech]:
        """The turn before, the turn itself and the turn after, with their speech text."""
        return self._all(
            TurnSpeech,
            """SELECT t.idx, t.speaker, t.role, t.speech_start,
                      substr(d.text, t.speech_start + 1, t.end - t.speech_start) AS speech
               FROM turns t JOIN documents d ON d.id = t.document_id
               WHERE t.document_id = ? AND t.idx BETWEEN ? AND ? ORDER BY t.idx""",
            (document_id, turn_idx - 1, turn_idx + 1),
        )

    # -- segments -------------------------------------------------------------------------------

    def segments(self, doc_id: int | None = None, *, coded_only: bool = False) -> list[SegmentRow]:
        sql = """SELECT s.id, d.name AS document, d.participant, s.idx, t.idx AS turn, t.speaker, t.role,
                        s.start, s.end, s.text, s.coded
                 FROM segments s JOIN documents d ON d.id = s.document_id JOIN turns t ON t.id = s.turn_id"""
        where, args = [], []
        if doc_id is not None:
            where.append("s.document_id = ?")
            args.append(doc_id)
        if coded_only:
            where.append("s.coded = 1")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY d.name, s.idx"
        return [
            SegmentRow(i, doc, who, idx, turn, speaker, role, start, end, text, bool(coded))
            for i, doc, who, idx, turn, speaker, role, start, end, text, coded in self._tuples(sql, args)
        ]

    def segment_keys(self, *, coded_only: bool = True, document_id: int | None = None) -> list[SegmentKey]:
        """Every segment's place (document, participant, index, turn) in :meth:`segments`' order, no text (one
        document's only, if given)."""
        sql = """SELECT s.id, d.name, d.participant, s.idx, t.idx
                 FROM segments s JOIN documents d ON d.id = s.document_id JOIN turns t ON t.id = s.turn_id"""
        where, args = (["s.coded = 1"] if coded_only else []), []
        if document_id is not None:
            where.append("s.document_id = ?")
            args.append(document_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY d.name, s.idx"
        return [SegmentKey(*row) for row in self._tuples(sql, args)]

    def segment_texts(self, segment_ids: Iterable[int]) -> dict[int, str]:
        """The text of each of these segments."""
        ids = sorted(set(segment_ids))
        out: dict[int, str] = {}
        for i in range(0, len(ids), 900):  # SQLite's bound-variable limit
            chunk = ids[i : i + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self._tuples(f"SELECT id, text FROM segments WHERE id IN ({marks})", chunk))
        return out

    def next_segment(self, segment_id: int) -> tuple[int, int] | None:
        """(id, document id) of the participant segment after this one in its document, or None (the last)."""
        row = self.db.execute(
            "SELECT n.id, n.document_id FROM segments s JOIN segments n ON n.document_id = s.document_id"
            " AND n.coded = 1 AND n.idx > s.idx WHERE s.id = ? ORDER BY n.idx LIMIT 1",
            (segment_id,),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row is not None else None

    def segment_row(self, segment_id: int) -> SegmentDetail | None:
        return self._one(SegmentDetail, _SEGMENT + " WHERE s.id = ?", (segment_id,))

    def segment_by_index(self, document_id: int, idx: int) -> SegmentDetail | None:
        """A document's segment by its position (0-based), or None past the end."""
        return self._one(SegmentDetail, _SEGMENT + " WHERE s.document_id = ? AND s.idx = ?", (document_id, idx))

    def segment_index(self) -> dict[tuple[str, int, int], int]:
        """(document name, start, end) -> segment id, for moving decisions between copies of a project."""
        return {
            (r[0], r[1], r[2]): r[3]
            for r in self._tuples(
                "SELECT d.name, s.start, s.end, s.id FROM segments s JOIN documents d ON d.id = s.document_id"
            )
        }

    def segment_hashes(self) -> dict[int, str]:
        """Segment id -> text hash (the embeddings' key), for every segment."""
        return dict(self._tuples("SELECT id, text_hash FROM segments"))

    # -- participants ---------------------------------------------------------------------------

    def set_attributes(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """Upsert (participant, name, value) rows (call inside :meth:`transaction`)."""
        cur = self.db.executemany("INSERT OR REPLACE INTO attributes VALUES (?, ?, ?)", list(rows))
        return cur.rowcount

    def attributes(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for r in self._tuples("SELECT participant, name, value FROM attributes ORDER BY participant, name"):
            out.setdefault(r[0], {})[r[1]] = r[2]
        return out

    # -- the whole project ----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        q = {
            "documents": "SELECT COUNT(*) FROM documents",
            "participants": "SELECT COUNT(DISTINCT participant) FROM documents",
            "turns": "SELECT COUNT(*) FROM turns",
            "segments": "SELECT COUNT(*) FROM segments",
            "coded_segments": "SELECT COUNT(*) FROM segments WHERE coded = 1",
            "suggestions": "SELECT COUNT(*) FROM suggestions s JOIN suggestion_runs r ON r.id = s.run_id"
            " WHERE r.active = 1",
            "decisions": "SELECT COUNT(*) FROM decisions WHERE undone_at IS NULL",  # standing: undone ones are none
            "runs": "SELECT COUNT(*) FROM suggestion_runs WHERE active = 1",
        }
        return {k: int(self.db.execute(v).fetchone()[0]) for k, v in q.items()}
