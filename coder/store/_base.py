"""Opening a project file: header checks, migrations (backup first), transactions, retried writes, settings."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

from coder.errors import ProjectError
from coder.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 15_000
APPLICATION_ID = 0x436F6472  # "Codr": marks the file as a coder project

T = TypeVar("T")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreBase:
    """The connection and what every table group shares; :class:`coder.store.Store` adds the tables."""

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
    def snapshot(cls, path: str | Path) -> Iterator[Self]:
        """Open a read-only copy of another project (brought up to date in the copy, never in the original)."""
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading rows --------------------------------------------------------------------------

    def _tuples(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run a query whose rows come back as plain tuples (no ``sqlite3.Row`` to build and drop)."""
        cur = self.db.cursor()
        cur.row_factory = None
        return cur.execute(sql, args)

    def _all(self, cls: Callable[..., T], sql: str, args: Sequence[Any] = ()) -> list[T]:
        """Every row of a query as ``cls``; the SELECT names ``cls``'s fields in order."""
        return [cls(*r) for r in self._tuples(sql, args)]

    def _one(self, cls: Callable[..., T], sql: str, args: Sequence[Any] = ()) -> T | None:
        r = self._tuples(sql, args).fetchone()
        return None if r is None else cls(*r)

    # -- writing -------------------------------------------------------------------------------

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

    def write(self, fn: Callable[[], T], *, attempts: int = 6) -> T:
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
        raise AssertionError("unreachable")  # pragma: no cover

    # -- settings ------------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM project WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self.put_setting(key, value)

    def put_setting(self, key: str, value: str) -> None:
        """Set a setting inside the caller's transaction (:meth:`write`)."""
        self.db.execute("INSERT OR REPLACE INTO project VALUES (?, ?)", (key, value))
