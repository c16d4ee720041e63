"""Decisions (the audit trail of accept/reject answers) and the one rule that keeps it consistent.

A coder's *standing* decision on (segment, code) is the latest one not undone; at most one stands.
:meth:`Decisions.record_decision` is the only place that rule is applied.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Literal

from coder.store._base import StoreBase, now
from coder.store.rows import (
    AcceptedSegment,
    CodeRename,
    DecisionCount,
    DecisionDetail,
    DecisionRow,
    Recorded,
    columns,
)
from coder.types import VIA

ANSWERS = ("accept", "reject")

IfStanding = Literal["replace", "keep", "newer", "always"]
_IF_STANDING = ("replace", "keep", "newer", "always")

_DECISION = f"SELECT {columns(DecisionRow, 'c')} FROM decisions c"


def _instant(value: str) -> datetime:
    """An ISO time as an aware datetime (a time without an offset is UTC), so stored forms compare."""
    t = datetime.fromisoformat(value.strip())
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


class Decisions(StoreBase):
    """Tables ``decisions`` and ``code_renames``."""

    # -- recording --------------------------------------------------------------------------------

    def record_decision(
        self,
        *,
        segment_id: int,
        code_path: str,
        coder: str,
        answer: str,
        reason: str | None = None,
        memo: str | None = None,
        suggestion_id: int | None = None,
        codebook_hash: str | None = None,
        decided_by: str | None = None,
        decided_at: str | None = None,
        if_standing: IfStanding = "replace",
        imported: bool = False,
        carried: bool = False,
        via: str | None = None,
    ) -> Recorded:
        """Record one answer, keeping a single standing answer per (coder, segment, code).

        Runs in the caller's transaction (it opens none), so a loop of these inside
        :meth:`transaction` or :meth:`write` is all or nothing; :meth:`decide` is one on its own.

        Args:
            decided_at: when it was decided (stored form, UTC); ``now()`` when None. For
                ``if_standing="newer"`` a decision without a time is older than any in the project.
            if_standing: what a standing answer *different* from this one gets —
                ``replace`` (default: the newest word wins, as in review), ``keep`` (it stays:
                only fill gaps), ``newer`` (replaced only when this decision's ``decided_at`` is
                later: imports and merges), ``always`` (replaced even when the answer is the same,
                so who / why / when are recorded again: a reconciliation meeting).
            carried: an answer to a code carried over from the sentence before, not to a stored suggestion.
            via: how the answer was reached, one of :data:`VIA` (None: not recorded).
            imported: this decision comes from a file or another copy: when one with the same
                answer and ``decided_at`` is already here, standing or undone, it is this very
                decision (copied or merged before) and nothing is written; an undo made here stands.

        Returns:
            The decision that now stands (or the copy found) and what happened: ``added``,
            ``replaced`` (the old answer marked undone, kept in the trail), ``unchanged`` (this
            answer already stands, or ``imported`` found it) or ``kept`` (a different answer stays).
        """
        if answer not in ANSWERS:
            raise ValueError(f"answer must be 'accept' or 'reject' (got {answer!r})")
        if via is not None and via not in VIA:
            raise ValueError(f"via must be one of {', '.join(VIA)} (got {via!r})")
        if if_standing not in _IF_STANDING:
            raise ValueError(f"if_standing must be one of {', '.join(_IF_STANDING)} (got {if_standing!r})")
        if imported and decided_at:
            same = self.find_same_decision(coder, segment_id, code_path, answer, decided_at)
            if same is not None:
                return Recorded(same.id, "unchanged")
        old = self.find_decision(coder, segment_id, code_path)
        if old is not None:
            if old.answer == answer and if_standing != "always":
                return Recorded(old.id, "unchanged")
            if if_standing == "keep":
                return Recorded(old.id, "kept")
            if if_standing == "newer" and (decided_at is None or _instant(old.decided_at) >= _instant(decided_at)):
                return Recorded(old.id, "kept")
            self.mark_undone(old.id)
        cur = self.db.execute(
            "INSERT INTO decisions (segment_id, code_path, coder, answer, reason, memo, suggestion_id,"
            " codebook_hash, decided_at, decided_by, carried, via) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                segment_id,
                code_path,
                coder,
                answer,
                reason,
                memo,
                suggestion_id,
                codebook_hash,
                decided_at or now(),
                decided_by,
                int(carried),
                via,
            ),
        )
        return Recorded(int(cur.lastrowid or 0), "added" if old is None else "replaced")

    def decide(self, **decision: Any) -> Recorded:
        """:meth:`record_decision` (same keywords) in its own transaction: :meth:`write` retries it while locked."""
        return self.write(lambda: self.record_decision(**decision))

    def withdraw_decision(
        self, *, segment_id: int, code_path: str, coder: str, answer: str, decided_at: str
    ) -> int | None:
        """Undo here a decision another copy undid: this very one (same answer and time), if it stands.

        Returns its id, or None when nothing was undone (not here, or undone already). Call inside a
        transaction.
        """
        same = self.find_same_decision(coder, segment_id, code_path, answer, decided_at)
        if same is None or same.undone_at is not None:
            return None
        self.mark_undone(same.id)
        return same.id

    def mark_undone(self, decision_id: int) -> None:
        self.db.execute("UPDATE decisions SET undone_at = ? WHERE id = ?", (now(), decision_id))

    # -- single decisions -------------------------------------------------------------------------

    def last_decision(self, coder: str) -> DecisionRow | None:
        """The coder's latest standing decision (what undo withdraws)."""
        return self._one(
            DecisionRow, _DECISION + " WHERE c.coder = ? AND c.undone_at IS NULL ORDER BY c.id DESC LIMIT 1", (coder,)
        )

    def decisions_on(self, coder: str, segment_id: int) -> list[DecisionRow]:
        """The coder's standing decisions on one sentence, oldest first."""
        return self._all(
            DecisionRow,
            _DECISION + " WHERE c.coder = ? AND c.segment_id = ? AND c.undone_at IS NULL ORDER BY c.id",
            (coder, segment_id),
        )

    def find_decision(self, coder: str, segment_id: int, code_path: str) -> DecisionRow | None:
        """The coder's standing decision on (segment, code)."""
        return self._one(
            DecisionRow,
            _DECISION + " WHERE c.coder = ? AND c.segment_id = ? AND c.code_path = ? AND c.undone_at IS NULL"
            " ORDER BY c.id DESC LIMIT 1",
            (coder, segment_id, code_path),
        )

    def find_same_decision(
        self, coder: str, segment_id: int, code_path: str, answer: str, decided_at: str
    ) -> DecisionRow | None:
        """This exact decision (same answer and time), standing or undone: how a merge recognises its own rows."""
        return self._one(
            DecisionRow,
            _DECISION + " WHERE c.coder = ? AND c.segment_id = ? AND c.code_path = ? AND c.answer = ?"
            " AND c.decided_at = ? ORDER BY c.id DESC LIMIT 1",
            (coder, segment_id, code_path, answer, decided_at),
        )

    # -- many decisions ---------------------------------------------------------------------------

    def decisions(
        self, *, coder: str | None = None, include_undone: bool = False, document_id: int | None = None
    ) -> list[DecisionDetail]:
        """Decisions with the segment's document and offsets (for export and tallies; one document's, if given)."""
        sql = f"""SELECT {columns(DecisionRow, "c")}, d.name AS document, d.participant, s.start, s.end, s.text
                  FROM decisions c JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id"""
        where: list[str] = []
        args: list[str | int] = []
        if not include_undone:
            where.append("c.undone_at IS NULL")
        if coder is not None:
            where.append("c.coder = ?")
            args.append(coder)
        if document_id is not None:
            where.append("s.document_id = ?")
            args.append(document_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.id"
        return self._all(DecisionDetail, sql, args)

    def acceptances(self) -> list[tuple[int, str, str]]:
        """(segment id, code path, coder) of every standing acceptance: what tallies count."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self._tuples(
                "SELECT segment_id, code_path, coder FROM decisions WHERE answer = 'accept' AND undone_at IS NULL"
            )
        ]

    def standing_decisions(self, coder: str) -> list[tuple[int, str, str, bool]]:
        """(segment id, code path, answer, answered a suggestion?) of a coder's standing decisions."""
        return [
            (int(r[0]), r[1], r[2], r[3] is not None)
            for r in self._tuples(
                "SELECT segment_id, code_path, answer, suggestion_id FROM decisions"
                " WHERE coder = ? AND undone_at IS NULL",
                (coder,),
            )
        ]

    def accepted_segments(self, code_path: str, *, coder: str) -> list[AcceptedSegment]:
        """Segments ``coder`` accepted for a code, with text hash for 'closest accepted'."""
        sql = """SELECT DISTINCT s.id, s.text, s.text_hash, d.participant FROM decisions c
                 JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
                 WHERE c.code_path = ? AND c.answer = 'accept' AND c.undone_at IS NULL"""
        return self._all(AcceptedSegment, sql + " AND c.coder = ? ORDER BY s.id", (code_path, coder))

    # -- summaries --------------------------------------------------------------------------------

    def answer_ways(self, codes: set[str]) -> dict[str, Counter[str | None]]:
        """Each coder's standing decisions on ``codes`` by how they were reached (``via``; None: not recorded)."""
        out: dict[str, Counter[str | None]] = {}
        sql = "SELECT coder, via, code_path, COUNT(*) FROM decisions WHERE undone_at IS NULL GROUP BY 1, 2, 3"
        for coder, via, code_path, n in self.db.execute(sql):
            if code_path in codes:
                out.setdefault(coder, Counter())[via] += int(n)
        return out

    def coders(self) -> list[str]:
        return [r[0] for r in self._tuples("SELECT DISTINCT coder FROM decisions ORDER BY coder")]

    def decided_codes(self) -> set[str]:
        """Code paths with at least one standing decision."""
        return {r[0] for r in self._tuples("SELECT DISTINCT code_path FROM decisions WHERE undone_at IS NULL")}

    def decision_code_counts(self) -> Counter[str]:
        """Code path -> number of decision rows, undone ones included (what a new codebook would orphan)."""
        return Counter(dict(self._tuples("SELECT code_path, COUNT(*) FROM decisions GROUP BY code_path")))

    def decision_counts(self) -> list[DecisionCount]:
        """Per coder and code: accepted and rejected (standing decisions only)."""
        return self._all(
            DecisionCount,
            """SELECT coder, code_path, SUM(answer = 'accept') AS accepted, SUM(answer = 'reject') AS rejected
               FROM decisions WHERE undone_at IS NULL GROUP BY coder, code_path""",
        )

    def context_codings(self) -> Counter[str]:
        """Coder -> standing accepts on interviewer speech or context (kept from imports; agreement skips them)."""
        return Counter(
            dict(
                self._tuples(
                    "SELECT c.coder, COUNT(*) FROM decisions c JOIN segments s ON s.id = c.segment_id"
                    " WHERE c.undone_at IS NULL AND c.answer = 'accept' AND s.coded = 0 GROUP BY c.coder"
                )
            )
        )

    def standing_code_counts(self) -> Counter[str]:
        """Code path -> number of standing decisions (what a codebook that drops the path would orphan)."""
        return Counter(
            dict(self._tuples("SELECT code_path, COUNT(*) FROM decisions WHERE undone_at IS NULL GROUP BY code_path"))
        )

    # -- codebook evolution -----------------------------------------------------------------------

    def move_decisions(self, moves: dict[str, str], *, codebook_hash: str) -> list[CodeRename]:
        """Move every decision (standing and undone: the history) on each old path to its new path, and record
        each move in ``code_renames``; returns the rows recorded (old paths that had decisions).

        When a move gives a coder two standing decisions on one (segment, code) (a merge), one stays: an
        accept over a reject, else the newest; the other is marked undone, kept in the trail, and counted in
        ``duplicates_undone`` of the move it came with. Runs in the caller's transaction when one is open.
        """
        with self.transaction():
            origin: dict[int, str] = {}
            for old in moves:
                origin.update(
                    (int(r[0]), old) for r in self._tuples("SELECT id FROM decisions WHERE code_path = ?", (old,))
                )
            for old, new in moves.items():
                self.db.execute("UPDATE decisions SET code_path = ? WHERE code_path = ?", (new, old))
            undone: Counter[str] = Counter()
            for new in set(moves.values()):
                groups: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
                for i, seg, coder, answer, at in self._tuples(
                    "SELECT id, segment_id, coder, answer, decided_at FROM decisions"
                    " WHERE code_path = ? AND undone_at IS NULL",
                    (new,),
                ):
                    groups.setdefault((coder, seg), []).append((int(i), answer, at))
                for rows in groups.values():
                    if len(rows) < 2:
                        continue
                    rows.sort(key=lambda r: (r[1] == "accept", _instant(r[2]), r[0]))
                    moved = next(origin[r[0]] for r in rows if r[0] in origin)
                    for i, _, _ in rows[:-1]:
                        self.mark_undone(i)
                        undone[origin.get(i, moved)] += 1
            moved_from = Counter(origin.values())
            at, ids = now(), set()
            for old, new in moves.items():
                if moved_from[old]:
                    cur = self.db.execute(
                        "INSERT INTO code_renames (old_path, new_path, decisions_moved, duplicates_undone,"
                        " codebook_hash, renamed_at) VALUES (?,?,?,?,?,?)",
                        (old, new, moved_from[old], undone[old], codebook_hash, at),
                    )
                    ids.add(cur.lastrowid)
            return [r for r in self.code_renames() if r.id in ids]

    def code_renames(self) -> list[CodeRename]:
        """Every recorded move of decisions from an old code path, oldest first."""
        return self._all(CodeRename, f"SELECT {columns(CodeRename, 'r')} FROM code_renames r ORDER BY r.id")
