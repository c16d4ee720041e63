from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from coder import migrations
from coder.errors import ProjectError
from coder.store import Store


def test_blank_db_migrates_with_records(tmp_path):
    s = Store(tmp_path / "p.db", create=True)
    assert s.migrations_applied() == [m.__name__ for m in migrations.MIGRATIONS]
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    s.close()
    # reopening applies nothing and makes no backup
    Store(tmp_path / "p.db").close()
    assert not list(tmp_path.glob("*.bak"))


def test_missing_project_needs_init(tmp_path):
    with pytest.raises(ProjectError) as e:
        Store(tmp_path / "none.db")
    assert str(e.value) == (
        f"{tmp_path / 'none.db'}: no project file here — run 'coder init' first, "
        "or point --project / CODER_PROJECT at your project"
    )
    assert not (tmp_path / "none.db").exists()


def test_not_a_coder_project(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello")
    with pytest.raises(ProjectError, match="not a coder project \\(not an SQLite file\\)"):
        Store(text)
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(ProjectError, match="an SQLite file made by another program"):
        Store(other)
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_new_migration_backs_up_and_applies_atomically(tmp_path, monkeypatch):
    path = tmp_path / "p.db"
    Store(path, create=True).close()

    def m002_broken(db):
        db.execute("CREATE TABLE extra (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, m002_broken])
    monkeypatch.setattr("coder.store.MIGRATIONS", migrations.MIGRATIONS)
    with pytest.raises(RuntimeError):
        Store(path)
    assert len(list(tmp_path.glob("p.db.*.bak"))) == 1
    con = sqlite3.connect(path)
    assert con.execute("SELECT name FROM sqlite_master WHERE name='extra'").fetchall() == []
    assert [r[0] for r in con.execute("SELECT name FROM coder_migrations")] == [
        m.__name__ for m in migrations.MIGRATIONS if m is not m002_broken
    ]


def test_old_project_is_backed_up_and_migrated_keeping_data(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    full = list(migrations.MIGRATIONS)
    monkeypatch.setattr("coder.store.MIGRATIONS", full[:1])
    old = Store(path, create=True)
    old.set_setting("coder", "ana")
    old.close()
    monkeypatch.setattr("coder.store.MIGRATIONS", full)
    s = Store(path)
    assert s.migrations_applied() == [m.__name__ for m in full]
    assert s.get_setting("coder") == "ana"
    assert "undone_at" in {r[1] for r in s.db.execute("PRAGMA table_info(decisions)")}
    backups = list(tmp_path.glob("old.db.*.bak"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert [r[0] for r in con.execute("SELECT name FROM coder_migrations")] == ["m001_initial"]


def test_transaction_rolls_back(store):
    with pytest.raises(ValueError), store.transaction():
        store.db.execute("INSERT INTO project VALUES ('a', 'b')")
        raise ValueError
    assert store.get_setting("a") is None
    store.set_setting("a", "c")
    assert store.get_setting("a") == "c"


def test_embeddings_roundtrip_little_endian(store):
    v = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.put_embeddings("m@1", ["h1", "h2"], v)
    got = store.get_embeddings("m@1", ["h2", "h1", "zz"])
    assert set(got) == {"h1", "h2"}
    np.testing.assert_array_equal(got["h2"], v[1])
    blob = store.db.execute("SELECT vector FROM embeddings WHERE text_hash='h1'").fetchone()[0]
    assert blob == np.array([0, 1, 2], dtype="<f4").tobytes()


def test_failed_commit_rolls_back_and_leaves_no_open_transaction(tmp_path):
    s = Store(tmp_path / "p.db", create=True)
    s.db.execute("PRAGMA journal_mode = DELETE")  # WAL would let the reader coexist
    reader = sqlite3.connect(tmp_path / "p.db", timeout=0)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM project").fetchall()  # holds a shared lock: COMMIT cannot finish
    s.db.execute("PRAGMA busy_timeout = 0")
    with pytest.raises(sqlite3.OperationalError):
        s.write(lambda: s.db.execute("INSERT INTO project VALUES ('k', 'v')"), attempts=1)
    assert not s.db.in_transaction
    reader.rollback()
    s.set_setting("a", "b")  # a later write is committed for real
    s.close()
    assert sqlite3.connect(tmp_path / "p.db").execute("SELECT value FROM project WHERE key='a'").fetchone() == ("b",)
