from __future__ import annotations

import sqlite3
from dataclasses import FrozenInstanceError, asdict, astuple

import numpy as np
import pytest

from coder import migrations
from coder.errors import ProjectError
from coder.store import DecisionDetail, DecisionRow, Recorded, SegmentDetail, Store, TurnRow
from coder.types import Segment, Transcript, Turn


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
    monkeypatch.setattr("coder.store._base.MIGRATIONS", migrations.MIGRATIONS)
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
    monkeypatch.setattr("coder.store._base.MIGRATIONS", full[:1])
    old = Store(path, create=True)
    old.set_setting("coder", "ana")
    old.close()
    monkeypatch.setattr("coder.store._base.MIGRATIONS", full)
    s = Store(path)
    assert s.migrations_applied() == [m.__name__ for m in full]
    assert s.get_setting("coder") == "ana"
    assert "undone_at" in {r[1] for r in s.db.execute("PRAGMA table_info(decisions)")}
    backups = list(tmp_path.glob("old.db.*.bak"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert [r[0] for r in con.execute("SELECT name FROM coder_migrations")] == ["m001_initial"]


def test_embeddings_move_to_a_rowid_table_keeping_every_vector(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    full = list(migrations.MIGRATIONS)
    monkeypatch.setattr("coder.store._base.MIGRATIONS", full[:6])
    old = Store(path, create=True)
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4)
    old.put_embeddings("m", ["c", "a", "b"], vecs)
    old.put_embeddings("other", ["a"], vecs[:1] + 1)
    assert "WITHOUT ROWID" in old.db.execute("SELECT sql FROM sqlite_master WHERE name = 'embeddings'").fetchone()[0]
    old.close()
    monkeypatch.setattr("coder.store._base.MIGRATIONS", full)
    s = Store(path)
    assert "WITHOUT ROWID" not in s.db.execute("SELECT sql FROM sqlite_master WHERE name = 'embeddings'").fetchone()[0]
    got = s.get_embeddings("m", ["a", "b", "c"])
    want = {"c": vecs[0].tolist(), "a": vecs[1].tolist(), "b": vecs[2].tolist()}
    assert {h: v.tolist() for h, v in got.items()} == want
    assert s.get_embeddings("other", ["a"])["a"].tolist() == (vecs[0] + 1).tolist()
    s.put_embeddings("m", ["a"], vecs[:1] * 2)  # still one vector per (model, text)
    assert s.db.execute("SELECT COUNT(*) FROM embeddings WHERE model = 'm'").fetchone()[0] == 3
    assert s.get_embeddings("m", ["a"])["a"].tolist() == (vecs[0] * 2).tolist()


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


# -- recording decisions: one standing answer per (coder, segment, code) ------------------------------------------


@pytest.fixture
def seg(store):
    """A one-sentence document; the segment's id."""
    text = "Ana: I like it here. It is calm."
    t = Transcript(
        name="a.txt",
        text=text,
        turns=(Turn(0, "Ana", "participant", 0, len(text), 5),),
        participant="Ana",
        format="txt",
        source="a.txt",
        content_hash="h",
    )
    segments = [Segment(0, 0, 5, 20, "I like it here.", True), Segment(1, 0, 21, 32, "It is calm.", True)]
    with store.transaction():
        doc = store.add_document(t, segments, unit="sentence", splitter="blank", text_hashes=["t1", "t2"])
    return store.segments(doc)[0].id


def standing(store, coder="ana"):
    return [(d.code_path, d.answer) for d in store.decisions(coder=coder)]


def trail(store):
    return [(d.answer, d.undone_at is not None) for d in store.decisions(include_undone=True)]


def test_decide_same_answer_twice_writes_once(store, seg):
    first = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept", reason="clear")
    again = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept", reason="other")
    assert first == Recorded(first.decision_id, "added")
    assert again == Recorded(first.decision_id, "unchanged")
    assert trail(store) == [("accept", False)]
    assert store.find_decision("ana", seg, "Calm").reason == "clear"


def test_decide_changed_answer_replaces_and_keeps_the_trail(store, seg):
    first = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept")
    second = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="reject", reason="vague")
    assert second.outcome == "replaced" and second.decision_id != first.decision_id
    assert standing(store) == [("Calm", "reject")]
    assert trail(store) == [("accept", True), ("reject", False)]
    # another coder, another code: each has its own standing answer
    assert store.decide(segment_id=seg, code_path="Calm", coder="ben", answer="accept").outcome == "added"
    assert store.decide(segment_id=seg, code_path="Home", coder="ana", answer="accept").outcome == "added"
    assert standing(store) == [("Calm", "reject"), ("Home", "accept")]


def test_decide_after_an_undo_adds_a_new_decision(store, seg):
    first = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept")
    store.write(lambda: store.mark_undone(store.last_decision("ana").id))
    again = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept")
    assert again.outcome == "added" and again.decision_id != first.decision_id
    assert trail(store) == [("accept", True), ("accept", False)]


def test_record_decision_runs_in_the_callers_transaction(store, seg):
    store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept")

    def batch():
        store.record_decision(segment_id=seg, code_path="Calm", coder="ana", answer="reject")
        store.record_decision(segment_id=seg, code_path="Home", coder="ana", answer="accept")
        raise ValueError("a later row is bad")

    with pytest.raises(ValueError):
        store.write(batch)
    assert not store.db.in_transaction
    assert trail(store) == [("accept", False)]  # neither the undo nor the new rows were kept
    with store.transaction():
        outcomes = [
            store.record_decision(segment_id=seg, code_path=code, coder="ana", answer=a).outcome
            for code, a in [("Calm", "reject"), ("Home", "accept"), ("Home", "accept")]
        ]
    assert outcomes == ["replaced", "added", "unchanged"]
    assert standing(store) == [("Calm", "reject"), ("Home", "accept")]


def test_record_decision_rejects_unknown_answers(store, seg):
    with pytest.raises(ValueError, match="answer must be 'accept' or 'reject'"):
        store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="maybe")
    with pytest.raises(ValueError, match="if_standing"):
        store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept", if_standing="never")
    assert trail(store) == []


def test_if_standing_keep_only_fills_gaps(store, seg):
    old = store.decide(segment_id=seg, code_path="Calm", coder="consensus", answer="reject")
    kept = store.decide(segment_id=seg, code_path="Calm", coder="consensus", answer="accept", if_standing="keep")
    assert kept == Recorded(old.decision_id, "kept")
    same = store.decide(segment_id=seg, code_path="Calm", coder="consensus", answer="reject", if_standing="keep")
    assert same == Recorded(old.decision_id, "unchanged")
    assert (
        store.decide(segment_id=seg, code_path="Home", coder="consensus", answer="accept", if_standing="keep").outcome
        == "added"
    )


def test_if_standing_always_records_the_same_answer_again(store, seg):
    store.decide(segment_id=seg, code_path="Calm", coder="consensus", answer="accept", decided_by="ana")
    again = store.decide(
        segment_id=seg, code_path="Calm", coder="consensus", answer="accept", decided_by="ben", if_standing="always"
    )
    assert again.outcome == "replaced"
    assert trail(store) == [("accept", True), ("accept", False)]
    assert store.find_decision("consensus", seg, "Calm").decided_by == "ben"


def test_if_standing_newer_lets_the_later_answer_win(store, seg):
    def rec(answer, when):
        return store.decide(
            segment_id=seg, code_path="Calm", coder="ana", answer=answer, decided_at=when, if_standing="newer"
        ).outcome

    assert rec("accept", "2024-05-01T10:00:00+00:00") == "added"
    assert rec("reject", "2024-04-01T10:00:00+00:00") == "kept"  # older than what the project holds
    assert rec("reject", "2024-05-01T12:00:00+02:00") == "kept"  # the same instant, written another way
    assert rec("reject", None) == "kept"  # no time: older than anything here
    assert rec("accept", "2023-01-01T00:00:00+00:00") == "unchanged"
    assert rec("reject", "2024-05-01T10:00:01") == "replaced"  # no offset: UTC
    assert standing(store) == [("Calm", "reject")]
    assert store.find_decision("ana", seg, "Calm").decided_at == "2024-05-01T10:00:01"


def test_imported_recognises_the_very_same_decision_even_undone(store, seg):
    when = "2024-05-01T10:00:00+00:00"
    kw = dict(segment_id=seg, code_path="Calm", coder="ana", answer="accept", decided_at=when, imported=True)
    first = store.decide(**kw)
    assert store.decide(**kw) == Recorded(first.decision_id, "unchanged")
    store.write(lambda: store.mark_undone(first.decision_id))
    assert store.decide(**kw) == Recorded(first.decision_id, "unchanged")  # the undo made here stands
    assert trail(store) == [("accept", True)]
    # without imported, the same row is a new answer on a sentence with none standing
    assert store.decide(**{**kw, "imported": False}).outcome == "added"


def test_withdraw_decision_undoes_only_the_very_same_standing_decision(store, seg):
    when = "2024-05-01T10:00:00+00:00"
    d = store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept", decided_at=when)
    kw = dict(segment_id=seg, code_path="Calm", coder="ana", answer="accept")
    assert store.write(lambda: store.withdraw_decision(**kw, decided_at="2024-05-02T10:00:00+00:00")) is None
    assert store.write(lambda: store.withdraw_decision(**kw, decided_at=when)) == d.decision_id
    assert store.write(lambda: store.withdraw_decision(**kw, decided_at=when)) is None  # undone already
    assert trail(store) == [("accept", True)]


# -- small reads and typed rows ----------------------------------------------------------------------------------


def test_decision_code_counts_and_segment_hashes(store, seg):
    store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept")
    store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="reject")
    store.decide(segment_id=seg, code_path="Home", coder="ben", answer="accept")
    assert store.decision_code_counts() == {"Calm": 2, "Home": 1}  # undone rows count too
    assert store.decision_code_counts()["Nothing"] == 0
    assert store.segment_hashes() == {seg: "t1", seg + 1: "t2"}


def test_rows_are_frozen_dataclasses_read_by_attribute(store, seg):
    store.decide(segment_id=seg, code_path="Calm", coder="ana", answer="accept", memo="note")
    d = store.decisions()[0]
    assert isinstance(d, DecisionDetail) and isinstance(d, DecisionRow)
    assert (d.code_path, d.memo, d.document, d.start, d.end, d.text) == (
        "Calm",
        "note",
        "a.txt",
        5,
        20,
        "I like it here.",
    )
    assert astuple(d)[2] == "Calm" and asdict(d)["document"] == "a.txt"
    assert list(asdict(d))[:3] == ["id", "segment_id", "code_path"] and list(asdict(d))[-1] == "text"
    assert asdict(d)["undone_at"] is None
    with pytest.raises(TypeError):  # no sqlite3.Row-style reads: attributes only
        d["code_path"]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        d.code_path = "Home"  # type: ignore[misc]
    row = store.segment_row(seg)
    assert isinstance(row, SegmentDetail) and row.coded is True
    assert (row.document, row.turn_idx, row.text_hash, row.speaker) == ("a.txt", 0, "t1", "Ana")
    assert store.segment_by_index(row.document_id, 1).text == "It is calm."
    assert store.segment_by_index(row.document_id, 2) is None and store.segment_row(999) is None
    (turn,) = store.turns(row.document_id)
    assert isinstance(turn, TurnRow) and (turn.speaker, turn.speech_start, turn.time_start) == ("Ana", 5, None)
    doc = store.document_by_name("a.txt")
    assert (doc.id, doc.participant, doc.metadata) == (row.document_id, "Ana", "{}")
    assert store.document_by_hash("h") == doc == store.document_by_text(doc.text)
    assert [(t.idx, t.speech) for t in store.turns_around(doc.id, 0)] == [(0, "I like it here. It is calm.")]


def test_pending_counts_by_document_match_the_pending_rows(precoded):
    store = precoded._store
    rows = store.pending_suggestions("ana")
    assert rows
    first = rows[0]
    store.record_decision(
        segment_id=first.segment_id, code_path=first.code_path, coder="ana", answer="accept", suggestion_id=first.id
    )
    counts: dict[str, int] = {}
    for r in store.pending_suggestions("ana"):
        counts[r.document] = counts.get(r.document, 0) + 1
    assert store.pending_by_document("ana") == counts
    assert sum(counts.values()) == len(rows) - 1


def test_unanswered_suggested_are_the_sentences_a_run_suggested_that_the_coder_has_not_answered(precoded):
    with Store(precoded.path) as s:
        run = s.zero_shot_run()
        assert run is not None
        everything = {p.segment_id for p in s.pending_suggestions("ana")}
        assert s.unanswered_suggested(run.id, "ana") == everything
    session = precoded.review("ana")
    firsts = {}
    for item in session.pending():
        firsts.setdefault(item.segment_id, item)
    items = sorted(firsts.values(), key=lambda i: i.segment_idx)
    session.reject(items[0], reason="wrong code")  # one answer on a sentence: it is answered
    with Store(precoded.path) as s:
        assert s.unanswered_suggested(run.id, "ana") == everything - {items[0].segment_id}
    for item in items[1:]:  # one answer on each sentence with a suggestion: the others may wait
        session.reject(item, reason="wrong code")
    with Store(precoded.path) as s:
        assert len(s.pending_suggestions("ana")) > 0  # codes re-ranked by a later run need no new answer
        assert s.unanswered_suggested(run.id, "ana") == set()
        assert s.unanswered_suggested(run.id, "bo") == everything  # another coder's answers are hers alone
    precoded.review("ana").undo()  # an undone answer is no answer
    with Store(precoded.path) as s:
        assert s.unanswered_suggested(run.id, "ana") == {items[-1].segment_id}
