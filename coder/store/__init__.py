"""The project file: one SQLite database. This is the only module that speaks SQL.

Opening a :class:`Store` applies pending migrations (after backing the file up), turns on WAL
and foreign keys, and sets a busy timeout so two coders can write to one file. Writes that
belong together go through :meth:`Store.transaction`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from coder.errors import ProjectError
from coder.migrations import MIGRATIONS
from coder.types import Segment, Transcript

BUSY_TIMEOUT_MS = 15_000
APPLICATION_ID = 0x436F6472  # "Codr": marks the file as a coder project


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    name: str
    participant: str
    format: str
    turns: int
    segments: int
    coded_segments: int
    content_hash: str
    imported_at: str


@dataclass(frozen=True)
class SegmentRow:
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


class Store:
    """A coder project file."""

    def __init__(self, path: str | Path, *, create: bool = False) -> None:
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and not create:
            raise ProjectError(
                "no project file here",
                path=self.path,
                hint="run 'coder init' first, or point --project / CODER_PROJECT at your project",
            )
        if exists and self.path.is_dir():
            raise ProjectError(
                "is a folder, not a project file",
                path=self.path,
                hint="pass a file name such as study.db to --project",
            )
        if exists:
            self._check_header()
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as e:
            raise ProjectError(f"cannot open project ({e})", path=self.path) from None
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA foreign_keys = ON")
            if exists:
                self._check_coder_project()
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # e.g. some network file systems; still safe, less concurrent
                import warnings

                warnings.warn(f"{self.path}: SQLite WAL mode unavailable (journal mode {mode})", stacklevel=2)
            self._migrate(backup=exists)
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise ProjectError(
                f"not a coder project ({e})",
                path=self.path,
                hint="check the path; coder projects are made by 'coder init'",
            ) from None

    @classmethod
    @contextmanager
    def snapshot(cls, path: str | Path) -> Iterator[Store]:
        """Open a read-only copy of another project (brought up to date in the copy, never in the original)."""
        import shutil
        import tempfile

        src = Path(path)
        if src.exists():
            with src.open("rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise ProjectError("not a coder project (not an SQLite file)", path=src, hint="check the path")
        folder = tempfile.mkdtemp(prefix="coder-merge-")
        copy = Path(folder) / "other.db"
        try:
            try:
                source = sqlite3.connect(src.resolve().as_uri() + "?mode=ro", uri=True)  # '#', '?' escaped
                target = sqlite3.connect(copy)
                source.backup(target)
                source.close()
                target.close()
            except sqlite3.Error as e:
                raise ProjectError(f"cannot read project ({e})", path=src, hint="check the path") from None
            try:
                store = cls(copy)
            except ProjectError as e:
                raise ProjectError(e.message, path=src, hint=e.hint) from None
            store.path = src  # messages name the user's file, not the copy
            try:
                yield store
            finally:
                store.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- opening -----------------------------------------------------------------------------

    def _check_header(self) -> None:
        with self.path.open("rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise ProjectError(
                "not a coder project (not an SQLite file)",
                path=self.path,
                hint="check the path; coder projects are made by 'coder init'",
            )

    def _check_coder_project(self) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id != APPLICATION_ID and tables:
            raise ProjectError(
                "not a coder project (an SQLite file made by another program)",
                path=self.path,
                hint="use another file name for your project",
            )

    def _migrate(self, *, backup: bool) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS coder_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in self.db.execute("SELECT name FROM coder_migrations")}
        pending = [m for m in MIGRATIONS if m.__name__ not in done]
        if not pending:
            return
        if backup and done:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = self.path.with_name(f"{self.path.name}.{stamp}.bak")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copy2(self.path, target)
        for m in pending:
            with self.transaction():
                m(self.db)
                self.db.execute("INSERT INTO coder_migrations VALUES (?, ?)", (m.__name__, now()))
        self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def migrations_applied(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM coder_migrations ORDER BY rowid")]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: committed on success, rolled back on any exception."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            # also when COMMIT itself fails (locked, disk full): never leave a transaction open,
            # or every later "own transaction" would silently nest into it and be lost
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    # -- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM project WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO project VALUES (?, ?)", (key, value))

    # -- documents --------------------------------------------------------------------------

    def document_by_name(self, name: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM documents WHERE name = ?", (name,)).fetchone()

    def decided_codes(self) -> set[str]:
        """Code paths with at least one standing decision."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT code_path FROM decisions WHERE undone_at IS NULL")}

    def document_by_text(self, text: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM documents WHERE text = ? LIMIT 1", (text,)).fetchone()

    def document_by_hash(self, content_hash: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()

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
        rows = self.db.execute(
            """SELECT d.id, d.name, d.participant, d.format, d.content_hash, d.imported_at,
                      (SELECT COUNT(*) FROM turns t WHERE t.document_id = d.id) AS turns,
                      (SELECT COUNT(*) FROM segments s WHERE s.document_id = d.id) AS segments,
                      (SELECT COUNT(*) FROM segments s WHERE s.document_id = d.id AND s.coded) AS coded
               FROM documents d ORDER BY d.name"""
        )
        return [
            DocumentInfo(
                r["id"],
                r["name"],
                r["participant"],
                r["format"],
                r["turns"],
                r["segments"],
                r["coded"],
                r["content_hash"],
                r["imported_at"],
            )
            for r in rows
        ]

    def turns(self, doc_id: int) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM turns WHERE document_id = ? ORDER BY idx", (doc_id,)))

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
            SegmentRow(
                r["id"],
                r["document"],
                r["participant"],
                r["idx"],
                r["turn"],
                r["speaker"],
                r["role"],
                r["start"],
                r["end"],
                r["text"],
                bool(r["coded"]),
            )
            for r in self.db.execute(sql, args)
        ]

    def counts(self) -> dict[str, int]:
        q = {
            "documents": "SELECT COUNT(*) FROM documents",
            "participants": "SELECT COUNT(DISTINCT participant) FROM documents",
            "turns": "SELECT COUNT(*) FROM turns",
            "segments": "SELECT COUNT(*) FROM segments",
            "coded_segments": "SELECT COUNT(*) FROM segments WHERE coded = 1",
            "suggestions": "SELECT COUNT(*) FROM suggestions s JOIN suggestion_runs r ON r.id = s.run_id"
            " WHERE r.active = 1",
            "decisions": "SELECT COUNT(*) FROM decisions",
        }
        return {k: int(self.db.execute(v).fetchone()[0]) for k, v in q.items()}

    # -- participants -----------------------------------------------------------------------

    def set_attributes(self, rows: Iterable[tuple[str, str, str]]) -> int:
        """Upsert (participant, name, value) rows (call inside :meth:`transaction`)."""
        cur = self.db.executemany("INSERT OR REPLACE INTO attributes VALUES (?, ?, ?)", list(rows))
        return cur.rowcount

    def attributes(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for r in self.db.execute("SELECT participant, name, value FROM attributes ORDER BY participant, name"):
            out.setdefault(r[0], {})[r[1]] = r[2]
        return out

    # -- codebooks --------------------------------------------------------------------------

    def save_codebook(self, *, name: str, version: str, hash: str, source: str, yaml_text: str) -> bool:
        """Store a codebook version and make it current; False when this exact version was current."""
        with self.transaction():
            cur = self.db.execute("SELECT hash FROM codebooks WHERE is_current = 1").fetchone()
            if cur is not None and cur[0] == hash:
                return False
            self.db.execute("UPDATE codebooks SET is_current = 0")
            self.db.execute(
                "INSERT INTO codebooks (name, version, hash, source, yaml, loaded_at, is_current)"
                " VALUES (?,?,?,?,?,?,1)"
                " ON CONFLICT(hash) DO UPDATE SET is_current = 1, loaded_at = excluded.loaded_at",
                (name, version, hash, source, yaml_text, now()),
            )
        return True

    def current_codebook_row(self) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM codebooks WHERE is_current = 1").fetchone()

    def codebook_versions(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT id, name, version, hash, loaded_at, is_current FROM codebooks ORDER BY id"))

    # -- embeddings -------------------------------------------------------------------------

    def missing_embeddings(
        self, model: str, *, coded_only: bool = True, batch: int = 512
    ) -> Iterator[list[tuple[str, str]]]:
        """Batches of (text_hash, text) of segments with no cached embedding for ``model``."""
        sql = (
            "SELECT s.text_hash, MIN(s.text) FROM segments s"
            " LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = s.text_hash"
            " WHERE e.text_hash IS NULL"
            + (" AND s.coded = 1" if coded_only else "")
            # by length: each batch then holds texts of similar length, so little padding is computed
            + " GROUP BY s.text_hash ORDER BY length(MIN(s.text)), MIN(s.id)"
        )
        rows = [(r[0], r[1]) for r in self.db.execute(sql, (model,))]
        for i in range(0, len(rows), batch):
            yield rows[i : i + batch]

    def count_missing_embeddings(self, model: str, *, coded_only: bool = True) -> int:
        sql = (
            "SELECT COUNT(DISTINCT s.text_hash) FROM segments s"
            " LEFT JOIN embeddings e ON e.model = ? AND e.text_hash = s.text_hash"
            " WHERE e.text_hash IS NULL" + (" AND s.coded = 1" if coded_only else "")
        )
        return int(self.db.execute(sql, (model,)).fetchone()[0])

    def put_embeddings(self, model: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        dim = int(vectors.shape[1])
        data = np.ascontiguousarray(vectors, dtype="<f4")
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings (model, text_hash, dim, vector) VALUES (?,?,?,?)",
                [(model, h, dim, data[i].tobytes()) for i, h in enumerate(hashes)],
            )

    def get_embeddings(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            chunk = list(hashes[i : i + 500])
            q = ",".join("?" * len(chunk))
            for h, blob in self.db.execute(
                f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({q})",
                [model, *chunk],
            ):
                out[h] = np.frombuffer(blob, dtype="<f4")
        return out

    def iter_segment_embeddings(self, model: str, *, batch: int = 2048) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(segment ids, vectors) of coded segments, in batches, streamed from the store."""
        last = -1
        while True:
            rows = self.db.execute(
                "SELECT s.id, e.vector, e.dim FROM segments s JOIN embeddings e"
                " ON e.model = ? AND e.text_hash = s.text_hash WHERE s.coded = 1 AND s.id > ?"
                " ORDER BY s.id LIMIT ?",
                (model, last, batch),
            ).fetchall()
            if not rows:
                return
            dim = rows[0][2]
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
            last = int(ids[-1])
            yield ids, vecs

    # -- suggestions ------------------------------------------------------------------------

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

    def finish_run(self, run_id: int, *, segments: int, embedded: int) -> None:
        """Make this run the active one of its suggester; drop superseded runs' score matrices."""
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

    def active_runs(self) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM suggestion_runs WHERE active = 1 ORDER BY id"))

    def suggestions(self, doc_id: int | None = None) -> list[sqlite3.Row]:
        """Active suggestions with their segment, document, run and any decision on them."""
        sql = """SELECT g.id, g.segment_id, g.code_path, g.score, g.rank, g.evidence,
                        r.suggester, r.model, r.codebook_hash, s.document_id
                 FROM suggestions g JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1
                 JOIN segments s ON s.id = g.segment_id"""
        args: list[Any] = []
        if doc_id is not None:
            sql += " WHERE s.document_id = ?"
            args.append(doc_id)
        sql += " ORDER BY s.document_id, s.idx, g.rank"
        return list(self.db.execute(sql, args))

    def codings(self) -> Iterator[sqlite3.Row]:
        """One row per active suggestion or decision, with everything an export needs."""
        yield from self.db.execute(
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
        )

    # -- review and decisions --------------------------------------------------------------

    def write(self, fn: Any, *, attempts: int = 6) -> Any:
        """Run ``fn()`` in its own transaction, retrying while another writer holds the lock."""
        if self.db.in_transaction:
            raise RuntimeError("Store.write() must not run inside an open transaction")
        delay = 0.05
        for attempt in range(attempts):
            try:
                with self.transaction():
                    return fn()
            except sqlite3.OperationalError as e:
                if ("locked" not in str(e) and "busy" not in str(e)) or attempt == attempts - 1:
                    raise
                import time

                time.sleep(delay)
                delay *= 2
        return None  # pragma: no cover

    def pending_suggestions(
        self,
        coder: str | None,
        *,
        document_id: int | None = None,
        code: str | None = None,
        segment_id: int | None = None,
    ) -> list[sqlite3.Row]:
        """Active suggestions on which ``coder`` has no standing decision (every one when ``coder`` is None)."""
        sql = """SELECT g.id AS suggestion_id, g.segment_id, g.code_path, g.score, g.rank, g.evidence,
                        r.suggester, r.model, r.codebook_hash, s.document_id, s.idx AS segment_idx, s.text,
                        d.name AS document, d.participant, t.idx AS turn_idx
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
        return list(self.db.execute(sql, args))

    def add_decision(
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
        decided_at: str | None = None,
        decided_by: str | None = None,
    ) -> int:
        """Insert one decision (call inside a transaction, e.g. through :meth:`write`)."""
        cur = self.db.execute(
            "INSERT INTO decisions (segment_id, code_path, coder, answer, reason, memo, suggestion_id,"
            " codebook_hash, decided_at, decided_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
            ),
        )
        return int(cur.lastrowid or 0)

    def last_decision(self, coder: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM decisions WHERE coder = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1", (coder,)
        ).fetchone()

    def mark_undone(self, decision_id: int) -> None:
        self.db.execute("UPDATE decisions SET undone_at = ? WHERE id = ?", (now(), decision_id))

    def add_memo(self, segment_id: int, coder: str, text: str, *, created_at: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO memos (segment_id, coder, text, created_at) VALUES (?,?,?,?)",
            (segment_id, coder, text, created_at or now()),
        )
        return int(cur.lastrowid or 0)

    def all_memos(self) -> list[sqlite3.Row]:
        """Every memo with its segment's document id and offsets (for exports)."""
        return list(
            self.db.execute(
                """SELECT m.*, s.document_id, s.start, s.end FROM memos m JOIN segments s ON s.id = m.segment_id
                   ORDER BY m.id"""
            )
        )

    def document_text(self, document_id: int) -> str:
        return str(self.db.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()[0])

    def document_memos(self, document_id: int, coder: str) -> list[sqlite3.Row]:
        """A coder's memos on the sentences of one document, oldest first."""
        return list(
            self.db.execute(
                """SELECT m.* FROM memos m JOIN segments s ON s.id = m.segment_id
                   WHERE s.document_id = ? AND m.coder = ? ORDER BY m.id""",
                (document_id, coder),
            )
        )

    def memos(self, segment_id: int) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM memos WHERE segment_id = ? ORDER BY id", (segment_id,)))

    def decisions(self, *, coder: str | None = None, include_undone: bool = False) -> list[sqlite3.Row]:
        """Decisions with the segment's document and offsets (for export and tallies)."""
        sql = """SELECT c.*, d.name AS document, d.participant, s.start, s.end, s.text
                 FROM decisions c JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id"""
        where, args = [], []
        if not include_undone:
            where.append("c.undone_at IS NULL")
        if coder is not None:
            where.append("c.coder = ?")
            args.append(coder)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY c.id"
        return list(self.db.execute(sql, args))

    def acceptances(self) -> list[tuple[int, str, str]]:
        """(segment id, code path, coder) of every standing acceptance: what tallies count."""
        return [
            (int(r[0]), r[1], r[2])
            for r in self.db.execute(
                "SELECT segment_id, code_path, coder FROM decisions WHERE answer = 'accept' AND undone_at IS NULL"
            )
        ]

    def find_decision(self, coder: str, segment_id: int, code_path: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM decisions WHERE coder = ? AND segment_id = ? AND code_path = ? AND undone_at IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (coder, segment_id, code_path),
        ).fetchone()

    def find_same_decision(
        self, coder: str, segment_id: int, code_path: str, answer: str, decided_at: str
    ) -> sqlite3.Row | None:
        """This exact decision (same answer and time), standing or undone: how a merge recognises its own rows."""
        return self.db.execute(
            "SELECT * FROM decisions WHERE coder = ? AND segment_id = ? AND code_path = ? AND answer = ?"
            " AND decided_at = ? ORDER BY id DESC LIMIT 1",
            (coder, segment_id, code_path, answer, decided_at),
        ).fetchone()

    def segment_index(self) -> dict[tuple[str, int, int], int]:
        """(document name, start, end) -> segment id, for moving decisions between copies of a project."""
        return {
            (r[0], r[1], r[2]): r[3]
            for r in self.db.execute(
                "SELECT d.name, s.start, s.end, s.id FROM segments s JOIN documents d ON d.id = s.document_id"
            )
        }

    def segment_row(self, segment_id: int) -> sqlite3.Row:
        return self.db.execute(
            """SELECT s.*, d.name AS document, d.participant, t.idx AS turn_idx, t.speaker, t.role
               FROM segments s JOIN documents d ON d.id = s.document_id JOIN turns t ON t.id = s.turn_id
               WHERE s.id = ?""",
            (segment_id,),
        ).fetchone()

    def segment_by_index(self, document_id: int, idx: int) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT id FROM segments WHERE document_id = ? AND idx = ?", (document_id, idx)
        ).fetchone()

    def turn_count(self, document_id: int) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM turns WHERE document_id = ?", (document_id,)).fetchone()[0])

    def turns_around(self, document_id: int, turn_idx: int) -> list[sqlite3.Row]:
        """The turn before, the turn itself and the turn after, with their speech text."""
        return list(
            self.db.execute(
                """SELECT t.idx, t.speaker, t.role, t.speech_start,
                          substr(d.text, t.speech_start + 1, t.end - t.speech_start) AS speech
                   FROM turns t JOIN documents d ON d.id = t.document_id
                   WHERE t.document_id = ? AND t.idx BETWEEN ? AND ? ORDER BY t.idx""",
                (document_id, turn_idx - 1, turn_idx + 1),
            )
        )

    def accepted_segments(self, code_path: str, *, coder: str | None = None) -> list[sqlite3.Row]:
        """Segments accepted for a code (by ``coder``, or anyone), with text hash for 'closest accepted'."""
        sql = """SELECT DISTINCT s.id, s.text, s.text_hash, d.participant FROM decisions c
                 JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
                 WHERE c.code_path = ? AND c.answer = 'accept' AND c.undone_at IS NULL"""
        args: list[Any] = [code_path]
        if coder is not None:
            sql += " AND c.coder = ?"
            args.append(coder)
        return list(self.db.execute(sql, args))

    def deactivate_runs(self, suggester: str) -> None:
        """Retire a suggester's active run (call inside a transaction)."""
        self.db.execute("UPDATE suggestion_runs SET active = 0 WHERE suggester = ? AND active = 1", (suggester,))

    def decision_counts(self) -> list[sqlite3.Row]:
        """Per coder and code: accepted and rejected (standing decisions only)."""
        return list(
            self.db.execute(
                """SELECT coder, code_path, SUM(answer = 'accept') AS accepted, SUM(answer = 'reject') AS rejected
                   FROM decisions WHERE undone_at IS NULL GROUP BY coder, code_path"""
            )
        )

    def suggestion_counts(self) -> dict[str, int]:
        """Active suggestions per code (distinct segments, across suggesters)."""
        return {
            r[0]: int(r[1])
            for r in self.db.execute(
                """SELECT g.code_path, COUNT(DISTINCT g.segment_id) FROM suggestions g
                   JOIN suggestion_runs r ON r.id = g.run_id AND r.active = 1 GROUP BY g.code_path"""
            )
        }

    def standing_decisions(self, coder: str) -> list[tuple[int, str, str, bool]]:
        """(segment id, code path, answer, answered a suggestion?) of a coder's standing decisions."""
        return [
            (int(r[0]), r[1], r[2], r[3] is not None)
            for r in self.db.execute(
                "SELECT segment_id, code_path, answer, suggestion_id FROM decisions"
                " WHERE coder = ? AND undone_at IS NULL",
                (coder,),
            )
        ]

    def active_run(self, suggester: str) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM suggestion_runs WHERE suggester = ? AND active = 1", (suggester,)
        ).fetchone()

    def run_suggestions(self, run_id: int) -> list[tuple[int, str]]:
        """(segment id, code path) of every suggestion a run made."""
        return [
            (int(r[0]), r[1])
            for r in self.db.execute("SELECT segment_id, code_path FROM suggestions WHERE run_id = ?", (run_id,))
        ]

    def scored_segments(self, run_id: int) -> set[int]:
        """The segments a run scored (kept for active runs)."""
        return {int(r[0]) for r in self.db.execute("SELECT segment_id FROM segment_scores WHERE run_id = ?", (run_id,))}

    def coders(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT coder FROM decisions ORDER BY coder")]

    def active_scores(
        self, suggester: str, *, segment_ids: Iterable[int] | None = None
    ) -> tuple[sqlite3.Row | None, Iterator[tuple[int, np.ndarray]]]:
        """The active run of a suggester and its (segment id, score row) pairs (only these segments, if given)."""
        run = self.db.execute(
            "SELECT * FROM suggestion_runs WHERE suggester = ? AND active = 1", (suggester,)
        ).fetchone()
        if run is None:
            return None, iter(())
        if segment_ids is not None:
            ids = sorted(set(segment_ids))

            def chunks() -> Iterator[sqlite3.Row]:
                for i in range(0, len(ids), 900):  # under SQLite's limit on parameters
                    part = ids[i : i + 900]
                    yield from self.db.execute(
                        "SELECT segment_id, scores FROM segment_scores WHERE run_id = ?"
                        f" AND segment_id IN ({','.join('?' * len(part))})",
                        (run["id"], *part),
                    )

            return run, ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in chunks())
        rows = self.db.execute("SELECT segment_id, scores FROM segment_scores WHERE run_id = ?", (run["id"],))
        return run, ((int(r[0]), np.frombuffer(r[1], dtype="<f4")) for r in rows)
