from __future__ import annotations

import shutil

import pytest

from coder import workflows as wf
from coder.errors import InputError, ProjectError

from .conftest import DATA, write


def importing(store, paths, splitter, **kw):
    return wf.import_files(store, paths, splitter=splitter, **kw)


def snapshot(store):
    return {
        t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("documents", "turns", "segments", "attributes", "suggestions", "embeddings")
    }


def test_import_is_idempotent_by_content(store, blank_splitter, tmp_path):
    r = importing(store, [DATA / "sample.txt"], blank_splitter)
    assert [(d.name, d.participant, d.turns) for d in r.imported] == [("sample.txt", "P90", 6)]
    before = snapshot(store)
    again = importing(store, [DATA / "sample.txt"], blank_splitter)
    assert again.imported == [] and again.unchanged == ["sample.txt"]
    copy = shutil.copy(DATA / "sample.txt", tmp_path / "copy.txt")
    assert importing(store, [copy], blank_splitter).unchanged == ["copy.txt (same content as sample.txt)"]
    assert snapshot(store) == before


def test_changed_file_is_reported_not_duplicated(store, blank_splitter, tmp_path):
    p = write(tmp_path / "a.txt", "Interviewer: Hi.\nP01: Hello.\n")
    importing(store, [p], blank_splitter)
    before = snapshot(store)
    write(p, "Interviewer: Hi.\nP01: Hello again.\n")
    with pytest.raises(InputError, match=r"a different version of 'a\.txt' was imported on"):
        importing(store, [p], blank_splitter)
    assert snapshot(store) == before


def test_failed_import_leaves_project_unchanged(store, blank_splitter, tmp_path):
    good = write(tmp_path / "good.txt", "Interviewer: Hi.\nP01: Hello.\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Interviewer: Hi.\nP02: caf\xe9\n")
    before = snapshot(store)
    with pytest.raises(InputError, match=r"bad\.txt:2: not UTF-8"):
        importing(store, [good, bad], blank_splitter)
    assert snapshot(store) == before
    # attributes errors roll back too
    attrs = write(tmp_path / "a.csv", "participant,age\nP01,30\nP01,31\n")
    with pytest.raises(InputError, match=r"a.csv: row 3: participant 'P01' appears twice"):
        importing(store, [good], blank_splitter, attributes=attrs)
    assert snapshot(store) == before


def test_attributes_attach(store, blank_splitter):
    r = importing(
        store,
        [DATA / "sample.txt"],
        blank_splitter,
        attributes=DATA.parent.parent / "corpora" / "demo" / "participants.csv",
    )
    assert r.attributes > 0
    assert store.attributes()["P03"]["ethnicity"] == "White"


def test_suggest_needs_codebook_and_segments(store, embedder, blank_splitter):
    with pytest.raises(ProjectError, match="no codebook loaded"):
        wf.suggest(store, embedder)
    wf.load_codebook(store, DATA / "mini.yaml")
    with pytest.raises(ProjectError, match="no participant segments to code"):
        wf.suggest(store, embedder)


def test_suggest_records_run_and_caches_embeddings(store, embedder, blank_splitter, tmp_path):
    importing(store, [DATA / "sample.txt"], blank_splitter)
    wf.load_codebook(store, DATA / "mini.yaml")
    r1 = wf.suggest(store, embedder, threshold=0.3)
    n_coded = store.counts()["coded_segments"]
    assert r1.segments == n_coded and r1.embedded == n_coded
    assert r1.suggestions > 0 and r1.model == "hash-bow-64@v1"
    rows = store.suggestions()
    assert {(r["suggester"], r["model"], r["codebook_hash"]) for r in rows} == {
        ("similarity.v1", "hash-bow-64@v1", r1.codebook_hash)
    }
    seg_text = {s.id: s.text for s in store.segments()}
    bible = [r for r in rows if seg_text[r["segment_id"]] == "I read my Bible when I can't sleep."]
    assert bible[0]["code_path"].endswith("Reading scripture")
    assert bible[0]["evidence"] == "I read my Bible every night before bed."
    # a codebook edit embeds no segment again; the new run replaces the old one
    edited = write(
        tmp_path / "mini2.yaml",
        (DATA / "mini.yaml")
        .read_text()
        .replace("Reading the Bible or other scripture.", "Reading the Bible, Quran or other scripture."),
    )
    wf.load_codebook(store, edited)
    texts_before = embedder.texts_embedded
    r2 = wf.suggest(store, embedder, threshold=0.3)
    assert r2.embedded == 0 and r2.codebook_hash != r1.codebook_hash
    assert embedder.texts_embedded - texts_before == 1  # only the edited code text
    assert {r["codebook_hash"] for r in store.suggestions()} == {r2.codebook_hash}
    assert store.db.execute("SELECT COUNT(DISTINCT run_id) FROM segment_scores").fetchone()[0] == 1


def test_codebook_reload_keeps_decisions(store, blank_splitter, tmp_path):
    importing(store, [DATA / "sample.txt"], blank_splitter)
    wf.load_codebook(store, DATA / "mini.yaml")
    seg = store.segments(coded_only=True)[0]
    store.db.execute(
        "INSERT INTO decisions (segment_id, code_path, coder, answer, decided_at) VALUES "
        "(?, 'Familial relationships', 'ana', 'accept', 'now'), (?, 'Education and educational goals',"
        " 'ana', 'accept', 'now')",
        (seg.id, seg.id),
    )
    v2 = write(
        tmp_path / "v2.yaml",
        (DATA / "mini.yaml").read_text().replace("name: Education and educational goals", "name: Education"),
    )
    r = wf.load_codebook(store, v2)
    assert r.changed and r.orphaned == {"Education and educational goals": 1}
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 2
    assert len(store.codebook_versions()) == 2
    assert wf.load_codebook(store, v2).changed is False


def test_export_codings_rows(store, embedder, blank_splitter):
    import csv
    import io

    importing(store, [DATA / "sample.txt"], blank_splitter)
    wf.load_codebook(store, DATA / "mini.yaml")
    wf.suggest(store, embedder, threshold=0.3)
    out = io.StringIO()
    n = wf.export_codings(store, out, "csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == len(store.suggestions()) > 0
    text = store.db.execute("SELECT text FROM documents").fetchone()[0]
    for r in rows:
        assert text[int(r["start"]) : int(r["end"])] == r["text"]
        assert r["status"] == "suggested" and r["suggester"] == "similarity.v1" and r["participant"] == "P90"


def test_show_finds_documents(store, embedder, blank_splitter):
    importing(store, [DATA / "sample.txt"], blank_splitter)
    assert wf.show(store, "P90").name == wf.show(store, "sample").name == "sample.txt"
    with pytest.raises(InputError, match="no document 'zzz'"):
        wf.show(store, "zzz")
