"""The int8 ONNX backend: export once, close to torch fp32, its own model id, and a fallback."""

from __future__ import annotations

import numpy as np
import pytest

from coder import embed
from coder import onnx_backend as ob
from coder.errors import ModelError

SENTENCES = [
    "I pray every morning and ask God for strength.",
    "My sister picks up the phone whenever I call her.",
    "I want to finish my GED and go to community college.",
    "The church gives out food on Tuesdays.",
    "Honestly? I never went back.",
    "She always believed in me, even when I didn't.",
]


def test_cpu_flags_and_backend_arguments(monkeypatch):
    assert ob.int8_is_fast({"avx2", "avx512_vnni"}) and ob.int8_is_fast({"avx_vnni"}) and ob.int8_is_fast({"asimddp"})
    assert not ob.int8_is_fast({"avx2", "sse4_2"})  # a guess only: auto decides by measurement (backend_choice)
    calls = []
    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", lambda model, batch_size: calls.append(model) or "torch")
    assert embed.load_embedder("some/folder", backend="auto") == "torch" and calls == ["some/folder"]  # not ours
    assert isinstance(embed.load_embedder("hash", backend="onnx"), embed.HashEmbedder)
    with pytest.raises(ValueError):
        embed.load_embedder(None, backend="gpu")


def test_missing_onnxruntime_is_a_clear_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "onnxruntime":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ModelError, match="needs onnxruntime"):
        ob.OnnxEmbedder()


@pytest.mark.model
def test_onnx_int8_is_close_to_torch_and_cached(real_embedder):
    first = ob.OnnxEmbedder()
    assert first.model_id == real_embedder.model_id + "+onnx-int8" and first.onnx_path.is_file()
    again = ob.OnnxEmbedder()
    assert not again.exported  # loaded from the cache, not exported again
    a, b = again.embed(SENTENCES), real_embedder.embed(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.95 and cos.mean() > 0.98, cos
    # the same neighbours: each sentence is closest to itself across the two backends
    assert (np.argmax(a @ b.T, axis=1) == np.arange(len(SENTENCES))).all()
    # the same texts in the same batches give the same vectors (a rerun is reproducible) ...
    assert np.array_equal(again.embed(SENTENCES), a)
    # ... but int8 activations are scaled per batch, so other neighbours move a vector a little
    again.batch_size = 2
    moved = (again.embed(SENTENCES[::-1])[::-1] * a).sum(axis=1)
    assert moved.min() > 0.97
    assert again.embed([]).shape == (0, 384)


@pytest.mark.model
def test_a_damaged_cache_is_removed_with_a_clear_error(real_embedder):
    good = ob.OnnxEmbedder()
    data = good.onnx_path.read_bytes()
    try:
        good.onnx_path.write_bytes(b"not a model")
        with pytest.raises(ModelError, match="cached ONNX model does not load"):
            ob.OnnxEmbedder()
        assert not good.onnx_path.exists()
    finally:
        good.onnx_path.write_bytes(data)


def test_only_mean_pooled_models_and_distinct_cache_keys(tmp_path, monkeypatch):
    import json

    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ModelError, match="mean pooling models only"):
        ob.OnnxEmbedder(folder)
    # a mean-pooled model of another architecture than BERT: refused, its int8 vectors were measured wrong
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    (folder / "config.json").write_text(json.dumps({"model_type": "mpnet"}))
    with pytest.raises(ModelError, match=r"BERT models only .*'mpnet'") as e:
        ob.OnnxEmbedder(folder)
    assert "--backend torch" in str(e.value)
    # sharded weights: two models with different shards must not share an id (or an ONNX cache entry)
    ids = []
    for name, data in (("a", b"one"), ("b", b"two")):
        d = tmp_path / name / "model"
        d.mkdir(parents=True)
        (d / "model-00001-of-00002.safetensors").write_bytes(data)
        ids.append(embed.model_id_for(d))
    assert ids[0] != ids[1] and "nohash" not in ids[0]


def test_auto_falls_back_to_torch_when_onnx_fails(monkeypatch, tmp_path):
    from coder import backend_choice as bc

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(ob, "available", lambda: True)
    monkeypatch.setattr(embed, "model_id_for", lambda folder, name=None: "m@1")
    monkeypatch.setattr(embed, "default_model_path", lambda: tmp_path)
    bc.remember(bc.Choice("onnx", "measured faster", bc.machine_key(bc.packaged_model())))

    def broken(*a, **k):
        raise ModelError("onnxruntime would not load")

    monkeypatch.setattr(ob, "OnnxEmbedder", broken)
    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", lambda model, batch_size: "torch")
    notes = []
    assert embed.load_embedder(None, backend="auto", warn=notes.append) == "torch"
    assert notes and "using torch" in notes[0]
    with pytest.raises(ModelError):
        embed.load_embedder(None, backend="onnx")
