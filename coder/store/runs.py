"""Suggestion runs, their suggestions and score matrices, and the export of codings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from coder.store._base import StoreBase, now
from coder.store.rows import AnswerSource, CodingRow, PendingRow, RunRow, SuggestionRow, columns

_RUN = f"SELECT {columns(RunRow, 'r')} FROM suggestion_runs r"
# a SuggestionRow's columns (a PendingRow's first ones), over suggestions g, suggestion_runs r and segments s
_SUGGESTION = (
    "g.id, g.segment_id, g.code_path, g.score, g.rank, g.evidence, r.suggester, r.model, r.codebook_hash,"
    " r.learned_from, s.document_id"
)


def _seen_by(for_coders: Sequence[str] | None, alias: str = "r") -> tuple[str, list[Any]]:
    """The SQL condition on active runs that a set of coders may see, and its arguments.

    ``None``: every active run. A sequence: zero-shot runs (``learned_from`` NULL) and the learned runs of
    those coders only, so no coder is shown what a model learned from someone else's answers.
    """
    if for_coders is None:
        return f"{alias}.active = 1", []
    names = sorted(set(for_coders))
    mine = f" OR {alias}.learned_from IN ({','.join('?' * len(names))})" if names else ""
    return f"{alias}.active = 1 AND ({alias}.learned_from IS NULL{mine})", names


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
        learned_from: str | None = None,
        decisions: int = 0,
        calibrated: Sequence[str] = (),
        carry: str = "",
    ) -> int:
        """Create a suggestion run (call inside :meth:`transaction`); a learned run names whose decisions it
        learned from, and how many."""
        cur = self.db.execute(
            "INSERT INTO suggestion_runs (suggester, model, codebook_hash, method, threshold, top_k, code_paths,"
            " started_at, learned_from, decisions, calibrated, carry) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                suggester,
                model,
                codebook_hash,
                method,
                threshold,
                top_k,
                json.dumps(list(code_paths)),
                now(),
                learned_from,
                decisions,
                json.dumps(sorted(calibrated)),
                carry,
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
        """Make this run the active one: the only zero-shot run, or its coder's only learned run; drop superseded
        runs' score matrices; returns the run."""
        (learned_from,) = self.db.execute("SELECT learned_from FROM suggestion_runs WHERE id = ?", (run_id,)).fetchone()
        if learned_from is None:  # one zero-shot run at a time, whichever suggester made it
            self._retire("learned_from IS NULL", ())
        else:  # a coder has one learned run, whichever learner made it
            self._retire("learned_from = ?", (learned_from,))
        self.db.execute(
            "UPDATE suggestion_runs SET active = 1, finished_at = ?, segments = ?, embedded = ? WHERE id = ?",
            (now(), segments, embedded, run_id),
        )
        [run] = self._all(RunRow, _RUN + " WHERE r.id = ?", (run_id,))
        return run

    def _retire(self, where: str, args: Sequence[Any]) -> list[RunRow]:
        """Make the matching active runs inactive and drop their score matrices; returns them as they were."""
        old = self._all(RunRow, _RUN + f" WHERE r.active = 1 AND {where}", args)
        for run in old:
            self.db.execute("UPDATE suggestion_runs SET active = 0 WHERE id = ?", (run.id,))
            self.db.execute("DELETE FROM segment_scores WHERE run_id = ?", (run.id,))
        return old

    def deactivate_learned_runs(self) -> list[RunRow]:
        """Retire every coder's active learned run (call inside a transaction); returns them."""
        return self._retire("learned_from IS NOT NULL", ())

    # -- reading runs ---------------------------------------------------------------------------

    def runs(self) -> list[RunRow]:
        """Every run ever made, oldest first (the audit trail of what suggested what)."""
        return self._all(RunRow, _RUN + " ORDER BY r.id")

    def answer_sources(self) -> list[AnswerSource]:
        """Per coder and kind of run (suggester, learned from whom): their standing answers to its suggestions."""
        return self._all(
            AnswerSource,
            """SELECT c.coder, r.suggester, r.learned_from,
                      SUM(c.answer = 'accept'), SUM(c.answer = 'reject')
               FROM decisions c JOIN suggestions g ON g.id = c.suggestion_id
               JOIN suggestion_runs r ON r.id = g.run_id
               WHERE c.undone_at IS NULL
               GROUP BY c.coder, r.suggester, r.learned_from
               ORDER BY c.coder, r.suggester, r.learned_from""",
        )

    def active_runs(self, for_coders: Sequence[str] | None = None) -> list[RunRow]:
        """Active runs: all of them, or those ``for_coders`` may see (zero-shot runs and their own learned ones)."""
        cond, args = _seen_by(for_coders)
        return self._all(RunRow, _RUN + f" WHERE {cond} ORDER BY r.id", args)

    def active_run(self, suggester: str, learned_from: str | None = None) -> RunRow | None:
        """A suggester's active run: the zero-shot one, or the one learned from ``learned_from``'s decisions."""
        return self._one(
            RunRow,
            _RUN + " WHERE r.suggester = ? AND r.learned_from IS ? AND r.active = 1",
            (suggester, learned_from),
        )

    def zero_shot_run(self) -> RunRow | None:
        """The active zero-shot run (similarity.v1 or v2, whichever made the latest), if any."""
        return self._one(RunRow, _RUN + " WHERE r.learned_from IS NULL AND r.active = 1 ORDER BY r.id DESC LIMIT 1")

    def zero_shot_scores(
        self, *, segment_ids: Iterable[int] | None = None
    ) -> tuple[RunRow | None, Iterator[tuple[int, np.ndarray]]]:
        """The active zero-shot run and its (segment id, score row) pairs (only these segments, if given)."""
        run = self.zero_shot_run()
        return run, self.run_scores(run, segment_ids=segment_ids)

    def learned_run(self, coder: str) -> RunRow | None:
        """The coder's active learned run (of whichever learner), if any."""
        return self._one(RunRow, _RUN + " WHERE r.learned_from = ? AND r.active = 1", (coder,))

    def active_scores(
        self, suggester: str, *, learned_from: str | None = None, segment_ids: Iterable[int] | None = None
    ) -> tuple[RunRow | None, Iterator[tuple[int, np.ndarray]]]:
        """An active run (as :meth:`active_run`) and its (segment id, score row) pairs (only these segments, if
        given)."""
        run = self.active_run(suggester, learned_from)
        return run, self.run_scores(run, segment_ids=segment_ids)

    def run_scores(
        self, run: RunRow | None, *, segment_ids: Iterable[int] | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """A run's (segment id, score row) pairs (kept for active runs; only these segments, if given)."""
        if run is None:
            return iter(())
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

            return ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in chunks())
        rows = self._tuples("SELECT segment_id, scores FROM segment_scores WHERE run_id = ?", (run.id,))
        return ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in rows)

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

    def suggestions(self, doc_id: int | None = None, *, for_coders: Sequence[str] | None = None) -> list[SuggestionRow]:
        """Active suggestions with their segment's document and their run (only the runs ``for_coders`` may see,
        if given: see :meth:`active_runs`)."""
        cond, args = _seen_by(for_coders)
        sql = f"""SELECT {_SUGGESTION}
                  FROM suggestions g JOIN suggestion_runs r ON r.id = g.run_id AND {cond}
                  JOIN segments s ON s.id = g.segment_id"""
        if doc_id is not None:
            sql += " WHERE s.document_id = ?"
            args.append(doc_id)
        sql += " ORDER BY s.document_id, s.idx, g.rank, g.code_path, r.learned_from IS NULL"
        return self._all(SuggestionRow, sql, args)

    def pending_suggestions(
        self,
        coder: str,
        *,
        answered_too: bool = False,
        document_id: int | None = None,
        code: str | None = None,
        segment_id: int | None = None,
    ) -> list[PendingRow]:
        """Active suggestions ``coder`` may see (zero-shot runs and their own learned ones) on which they have no
        standing decision (``answered_too``: with or without one)."""
        cond, args = _seen_by([coder])
        sql = f"""SELECT {_SUGGESTION}, s.idx AS segment_idx, s.text, d.name AS document, d.participant,
                         t.idx AS turn_idx
                  FROM suggestions g
                  JOIN suggestion_runs r ON r.id = g.run_id AND {cond}
                  JOIN segments s ON s.id = g.segment_id
                  JOIN documents d ON d.id = s.document_id
                  JOIN turns t ON t.id = s.turn_id
                  WHERE (? OR NOT EXISTS (SELECT 1 FROM decisions c WHERE c.segment_id = g.segment_id
                                    AND c.code_path = g.code_path AND c.coder = ? AND c.undone_at IS NULL))"""
        args += [int(answered_too), coder]
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
        sql += " ORDER BY d.name, s.idx, g.rank, g.code_path, r.learned_from IS NULL"  # same data, same order
        return self._all(PendingRow, sql, args)

    def pending_by_document(self, coder: str) -> dict[str, int]:
        """How many of the suggestions :meth:`pending_suggestions` lists each document has (counted in SQL:
        agreement over a large project needs the counts, not the rows)."""
        cond, args = _seen_by([coder])
        sql = f"""SELECT d.name, COUNT(*) FROM suggestions g
                  JOIN suggestion_runs r ON r.id = g.run_id AND {cond}
                  JOIN segments s ON s.id = g.segment_id
                  JOIN documents d ON d.id = s.document_id
                  WHERE NOT EXISTS (SELECT 1 FROM decisions c WHERE c.segment_id = g.segment_id
                                    AND c.code_path = g.code_path AND c.coder = ? AND c.undone_at IS NULL)
                  GROUP BY d.name"""
        return {name: int(n) for name, n in self._tuples(sql, [*args, coder])}

    def unanswered_suggested(self, run_id: int, coder: str) -> set[int]:
        """The sentences run ``run_id`` suggested something for on which ``coder`` has answered nothing (a sentence
        answered before a new run re-ranked its codes still counts as answered). The answered sentences are
        listed once (``NOT IN``), not looked up per suggestion: a correlated ``NOT EXISTS`` without the code
        walked the coder's every decision for each suggestion (0.3 s against 0.003 s on the demo with 500
        answers)."""
        sql = """SELECT DISTINCT g.segment_id FROM suggestions g
                 WHERE g.run_id = ? AND g.segment_id NOT IN (SELECT segment_id FROM decisions
                                                             WHERE coder = ? AND undone_at IS NULL)"""
        return {int(r[0]) for r in self._tuples(sql, [run_id, coder])}

    def coded_paths(self) -> set[str]:
        """The code paths :meth:`codings` has rows for (active suggestions and decisions), without reading the rows."""
        return {
            r[0]
            for r in self._tuples(
                """SELECT DISTINCT g.code_path FROM suggestions g
                   JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                   UNION SELECT DISTINCT code_path FROM decisions"""
            )
        }

    def codings(self) -> Iterator[CodingRow]:
        """One row per active suggestion or decision, with everything an export needs."""
        for r in self._tuples(
            """SELECT d.name AS document, d.participant, t.speaker, s.start, s.end, s.text,
                      x.code_path, x.status, x.score, x.coder, x.suggester, x.model, x.learned_from, x.decided_at,
                      x.run_id, x.segment_id
               FROM (
                   SELECT g.segment_id, g.code_path, 'suggested' AS status, g.score, NULL AS coder,
                          r.suggester, r.model, r.learned_from, r.finished_at AS decided_at, 0 AS kind, g.rank AS ord,
                          r.id AS run_id
                   FROM suggestions g JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                   UNION ALL
                   SELECT c.segment_id, c.code_path,
                          CASE c.answer WHEN 'accept' THEN 'accepted' ELSE 'rejected' END,
                          g.score, c.coder, r.suggester, r.model, r.learned_from, c.decided_at, 1, c.id, r.id
                   FROM decisions c LEFT JOIN suggestions g ON g.id = c.suggestion_id
                   LEFT JOIN suggestion_runs r ON r.id = g.run_id
               ) x
               JOIN segments s ON s.id = x.segment_id
               JOIN documents d ON d.id = s.document_id
               JOIN turns t ON t.id = s.turn_id
               ORDER BY d.name, s.idx, x.kind, x.ord, x.code_path, x.learned_from"""
        ):
            yield CodingRow(*r)
