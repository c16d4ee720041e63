"""The codebook's exemplar vectors are kept across projects in the user's cache; transcript text never is."""

from __future__ import annotations

import numpy as np

from coder import exemplar_cache as ec
from coder.embed import HashEmbedder, text_hash

from .conftest import DATA


def test_lookup_and_add_keep_vectors_per_model(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ec.lookup("m@1", ["a"]) == {}
    ec.add("m@1", ["a", "b"], np.eye(2, 3, dtype=np.float32))
    ec.add("m@1", ["b", "c"], np.array([[0, 0, 1], [1, 1, 0]], dtype=np.float32))  # b replaced, c added
    got = ec.lookup("m@1", ["a", "b", "c", "d"])
    assert sorted(got) == ["a", "b", "c"] and got["b"].tolist() == [0, 0, 1]
    assert ec.lookup("m@2", ["a"]) == {}  # another model's vectors are another file
    ec.cache_path("m@1").write_bytes(b"damaged")
    assert ec.lookup("m@1", ["a"]) == {}  # a damaged file is no cache, not a crash


def test_a_second_project_embeds_no_exemplar_and_no_transcript_reaches_the_cache(monkeypatch, tmp_path):
    from coder.app import Project
    from coder.segment import load_splitter

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    counts = []
    for name in ("a", "b"):
        embedder = HashEmbedder()
        with Project(tmp_path / f"{name}.db", create=True) as p:
            p.import_files([DATA / "sample.txt"], splitter=load_splitter("blank"))
            p.load_codebook(DATA / "mini.yaml")
            p.suggest(embedder, threshold=0.2)
            sentences = [s.text for t in p.document_view(p.document("sample.txt").id).turns for s in t.segments]
        counts.append(embedder.texts_embedded)
    coded = sum(1 for _ in sentences)
    assert counts[0] > counts[1] and counts[1] <= coded  # the second project embedded its sentences only
    kept = np.load(ec.cache_path(HashEmbedder().model_id))["hashes"].tolist()
    assert kept and not set(kept) & {text_hash(s) for s in sentences}  # codebook text only
