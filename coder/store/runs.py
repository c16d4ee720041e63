"""Suggestion runs, their suggestions and score matrices, and the export of codings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from coder.store._base import StoreBase, now
from coder.store.rows import CodingRow, PendingRow, RunRow, SuggestionRow, columns

_RUN = f"SELECT {columns(RunRow, 'r')} FROM suggestion_runs r"
# a SuggestionRow's columns (a PendingRow's first ones), over suggestions g, suggestion_runs r and segments s
_SUGGESTION = (
    "g.id, g.segment_id, g.code_path, g.score, g.rank, g.evidence, r.suggester, r.model, r.codebook_hash, s.document_id"
)


class Runs(StoreBase):
    """Tables ``suggestion_runs``, ``suggestions`` and ``segment_scores``."""

    # -- writing a run --------------------------------------------------------------------------

    def start_run(
        self,
        *,
        suggester: str,
        model: str,
        codebook_hash: str,
        method: str,
        threshold: float,
        top_k: int,
        code_paths: Sequence[str],
    ) -> int:
        """Create a suggestion run (call inside :meth:`transaction`)."""
        cur = self.db.execute(
            "INSERT INTO suggestion_runs (suggester, model, codebook_hash, method, threshold, top_k, code_paths,"
            " started_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                suggester,
                model,
                codebook_hash,
                method,
                threshold,
                top_k,
                json.dumps(list(code_paths)),
                now(),
            ),
        )
        return int(cur.lastrowid or 0)

    def add_suggestions(self, run_id: int, rows: Sequence[tuple[int, str, float, int, str]]) -> None:
        """(segment id, code path, score, rank, evidence) rows for a run."""
        self.db.executemany(
            "INSERT INTO suggestions (run_id, segment_id, code_path, score, rank, evidence) VALUES (?,?,?,?,?,?)",
            [(run_id, *r) for r in rows],
        )

    def add_scores(self, run_id: int, segment_ids: np.ndarray, scores: np.ndarray) -> None:
        data = np.ascontiguousarray(scores, dtype="<f4")
        self.db.executemany(
            "INSERT INTO segment_scores (run_id, segment_id, scores) VALUES (?,?,?)",
            [(run_id, int(s), data[i].tobytes()) for i, s in enumerate(segment_ids)],
        )

    def finish_run(self, run_id: int, *, segments: int, embedded: int) -> RunRow:
        """Make this run the active one of its suggester; drop superseded runs' score matrices; returns the run."""
        suggester = self.db.execute("SELECT suggester FROM suggestion_runs WHERE id = ?", (run_id,)).fetchone()[0]
        old = [
            r[0]
            for r in self.db.execute("SELECT id FROM suggestion_runs WHERE suggester = ? AND active = 1", (suggester,))
        ]
        self.db.execute("UPDATE suggestion_runs SET active = 0 WHERE suggester = ? AND active = 1", (suggester,))
        for rid in old:
            self.db.execute("DELETE FROM segment_scores WHERE run_id = ?", (rid,))
        self.db.execute(
            "UPDATE suggestion_runs SET active = 1, finished_at = ?, segments = ?, embedded = ? WHERE id = ?",
            (now(), segments, embedded, run_id),
        )
        [run] = self._all(RunRow, _RUN + " WHERE r.id = ?", (run_id,))
        return run

    def deactivate_runs(self, suggester: str) -> None:
        """Retire a suggester's active run (call inside a transaction)."""
        self.db.execute("UPDATE suggestion_runs SET active = 0 WHERE suggester = ? AND active = 1", (suggester,))

    # -- reading runs ---------------------------------------------------------------------------

    def active_runs(self) -> list[RunRow]:
        return self._all(RunRow, _RUN + " WHERE r.active = 1 ORDER BY r.id")

    def active_run(self, suggester: str) -> RunRow | None:
        return self._one(RunRow, _RUN + " WHERE r.suggester = ? AND r.active = 1", (suggester,))

    def active_scores(
        self, suggester: str, *, segment_ids: Iterable[int] | None = None
    ) -> tuple[RunRow | None, Iterator[tuple[int, np.ndarray]]]:
        """The active run of a suggester and its (segment id, score row) pairs (only these segments, if given)."""
        run = self.active_run(suggester)
        if run is None:
            return None, iter(())
        if segment_ids is not None:
            ids = sorted(set(segment_ids))

            def chunks() -> Iterator[tuple[int, bytes]]:
                for i in range(0, len(ids), 900):  # under SQLite's limit on parameters
                    part = ids[i : i + 900]
                    yield from self._tuples(
                        "SELECT segment_id, scores FROM segment_scores WHERE run_id = ?"
                        f" AND segment_id IN ({','.join('?' * len(part))})",
                        (run.id, *part),
                    )

            return run, ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in chunks())
        rows = self._tuples("SELECT segment_id, scores FROM segment_scores WHERE run_id = ?", (run.id,))
        return run, ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in rows)

    def run_suggestions(self, run_id: int) -> list[tuple[int, str]]:
        """(segment id, code path) of every suggestion a run made."""
        return [
            (int(r[0]), r[1])
            for r in self._tuples("SELECT segment_id, code_path FROM suggestions WHERE run_id = ?", (run_id,))
        ]

    def scored_segments(self, run_id: int) -> set[int]:
        """The segments a run scored (kept for active runs)."""
        return {int(r[0]) for r in self._tuples("SELECT segment_id FROM segment_scores WHERE run_id = ?", (run_id,))}

    # -- reading suggestions --------------------------------------------------------------------

    def suggestions(self, doc_id: int | None = None) -> list[SuggestionRow]:
        """Active suggestions with their segment's document and their run."""
        sql = f"""SELECT {_SUGGESTION}
                  FROM suggestions g JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                  JOIN segments s ON s.id = g.segment_id"""
        args: list[Any] = []
        if doc_id is not None:
            sql += " WHERE s.document_id = ?"
            args.append(doc_id)
        sql += " ORDER BY s.document_id, s.idx, g.rank"
        return self._all(SuggestionRow, sql, args)

    def pending_suggestions(
        self,
        coder: str | None,
        *,
        document_id: int | None = None,
        code: str | None = None,
        segment_id: int | None = None,
    ) -> list[PendingRow]:
        """Active suggestions on which ``coder`` has no standing decision (every one when ``coder`` is None)."""
        sql = f"""SELECT {_SUGGESTION}, s.idx AS segment_idx, s.text, d.name AS document, d.participant,
                         t.idx AS turn_idx
                  FROM suggestions g
                  JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                  JOIN segments s ON s.id = g.segment_id
                  JOIN documents d ON d.id = s.document_id
                  JOIN turns t ON t.id = s.turn_id
                  WHERE (? IS NULL OR NOT EXISTS (SELECT 1 FROM decisions c WHERE c.segment_id = g.segment_id
                                    AND c.code_path = g.code_path AND c.coder = ? AND c.undone_at IS NULL))"""
        args: list[Any] = [coder, coder]
        if segment_id is not None:
            sql += " AND g.segment_id = ?"
            args.append(segment_id)
        if document_id is not None:
            sql += " AND s.document_id = ?"
            args.append(document_id)
        if code is not None:
            sql += " AND (g.code_path = ? OR g.code_path LIKE ? ESCAPE '\\')"
            esc = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.extend([code, esc + " > %"])
        sql += " ORDER BY d.name, s.idx, g.rank"
        return self._all(PendingRow, sql, args)

    def suggestion_counts(self) -> dict[str, int]:
        """Active suggestions per code (distinct segments, across suggesters)."""
        return {
            r[0]: int(r[1])
            for r in self._tuples(
                """SELECT g.code_path, COUNT(DISTINCT g.segment_id) FROM suggestions g
                   JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1 GROUP BY g.code_path"""
            )
        }

    def codings(self) -> Iterator[CodingRow]:
        """One row per active suggestion or decision, with everything an export needs."""
        for r in self._tuples(
            """SELECT d.name AS document, d.participant, t.speaker, s.start, s.end, s.text,
                      x.code_path, x.status, x.score, x.coder, x.suggester, x.model, x.decided_at
               FROM (
                   SELECT g.segment_id, g.code_path, 'suggested' AS status, g.score, NULL AS coder,
                          r.suggester, r.model, r.finished_at AS decided_at, 0 AS kind, g.rank AS ord
                   FROM suggestions g JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                   UNION ALL
                   SELECT c.segment_id, c.code_path,
                          CASE c.answer WHEN 'accept' THEN 'accepted' ELSE 'rejected' END,
                          g.score, c.coder, r.suggester, r.model, c.decided_at, 1, c.id
                   FROM decisions c LEFT JOIN suggestions g ON g.id = c.suggestion_id
                   LEFT JOIN suggestion_runs r ON r.id = g.run_id
               ) x
               JOIN segments s ON s.id = x.segment_id
               JOIN documents d ON d.id = s.document_id
               JOIN turns t ON t.id = s.turn_id
               ORDER BY d.name, s.idx, x.kind, x.ord"""
        ):
            yield CodingRow(*r)
