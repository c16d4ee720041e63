"""--backend auto decided by measurement on this machine, cached per user, and `coder doctor`."""

from __future__ import annotations

import time

import numpy as np
import pytest
from click.testing import CliRunner

from coder import backend_choice as bc
from coder import embed
from coder import onnx_backend as ob


class Fake:
    def __init__(self, name: str, seconds: float, tilt: float = 0.0) -> None:
        self.name, self.seconds, self.tilt = name, seconds, tilt

    def embed(self, texts):
        time.sleep(self.seconds)
        v = np.zeros((len(texts), 4))
        v[:, 0] = 1.0
        v[:, 1] = self.tilt  # a tilt moves every vector off torch's: cosine 1/sqrt(1 + tilt²)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_decide_wants_faster_and_close():
    assert bc.decide(100, 230, 0.991)[0] == "onnx"
    backend, why = bc.decide(230, 100, 0.991)
    assert backend == "torch" and "not faster" in why
    backend, why = bc.decide(100, 300, 0.93)
    assert backend == "torch" and "mean cosine 0.9300 < 0.98" in why


def test_measure_times_both_and_compares_their_vectors():
    key = {"cpu": "x"}
    fast = bc.measure(Fake("torch", 0.02), Fake("onnx", 0.0), key)
    assert fast.backend == "onnx" and fast.onnx_rate > fast.torch_rate and fast.cosine_mean == pytest.approx(1.0)
    far = bc.measure(Fake("torch", 0.02), Fake("onnx", 0.0, tilt=0.5), key)
    assert far.backend == "torch" and far.cosine_mean == pytest.approx(1 / np.sqrt(1.25), abs=1e-4)
    slow = bc.measure(Fake("torch", 0.0), Fake("onnx", 0.02), key)
    assert slow.backend == "torch" and slow.key == key and slow.measured_at


def test_the_decision_is_cached_per_machine_and_library_versions(cache):
    key = bc.machine_key("m@1")
    assert set(key) >= {"cpu", "cpu_flags", "torch", "onnxruntime", "model"}
    assert bc.cached(key) is None
    bc.remember(bc.Choice("onnx", "faster", key, 100.0, 230.0, 0.99, 0.98, "now"))
    assert bc.cached(key) == bc.Choice("onnx", "faster", key, 100.0, 230.0, 0.99, 0.98, "now")
    assert bc.cached({**key, "onnxruntime": "9.9"}) is None  # a library upgrade measures again
    assert bc.cached(bc.machine_key("m@2")) is None  # so does another model
    bc.cache_file().write_text("{not json", encoding="utf-8")
    assert bc.cached(key) is None  # a damaged cache is no decision, not a crash
    bc.remember(bc.Choice("torch", "slower", key))
    assert bc.cached(key).backend == "torch"


@pytest.fixture
def fakes(monkeypatch, cache):
    """load_embedder's auto path with fake backends; returns the list of backends constructed."""
    made: list[str] = []

    def torch(model, batch_size):
        made.append("torch")
        return Fake("torch", 0.01)

    def onnx(model=None, batch_size=64, on_export=None):
        made.append("onnx")
        return Fake("onnx", 0.0)

    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", torch)
    monkeypatch.setattr(ob, "OnnxEmbedder", onnx)
    monkeypatch.setattr(ob, "available", lambda: True)
    monkeypatch.setattr(embed, "model_id_for", lambda folder, name=None: "m@1")
    monkeypatch.setattr(embed, "default_model_path", lambda: cache)
    return made


def test_auto_measures_once_then_uses_the_cached_decision(fakes):
    notes: list[str] = []
    first = embed.load_embedder(None, backend="auto", warn=notes.append)
    assert first.name == "onnx" and fakes == ["torch", "onnx"] and "timing the onnx and torch" in notes[0]
    assert bc.cached(bc.machine_key(bc.packaged_model())).backend == "onnx"
    fakes.clear()
    again = embed.load_embedder(None, backend="auto", warn=notes.append)
    assert again.name == "onnx" and fakes == ["onnx"] and len(notes) == 1  # no second measurement
    bc.remember(bc.Choice("torch", "measured slower", bc.machine_key(bc.packaged_model())))
    fakes.clear()
    assert embed.load_embedder(None, backend="auto").name == "torch" and fakes == ["torch"]


def test_auto_without_onnxruntime_is_torch_without_measuring(fakes, monkeypatch):
    monkeypatch.setattr(ob, "available", lambda: False)
    assert embed.load_embedder(None, backend="auto").name == "torch" and fakes == ["torch"]
    assert bc.cached(bc.machine_key(bc.packaged_model())) is None


def test_doctor_says_what_auto_uses_and_why(fakes):
    from coder.cli import main

    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 0 and "backend    not measured yet on this machine" in r.output
    r = CliRunner().invoke(main, ["doctor", "--measure"])
    assert r.exit_code == 0, r.output
    assert "backend    onnx (auto): onnx int8" in r.output and "sentences/s" in r.output and "cache      " in r.output
    assert "backend    onnx (auto)" in CliRunner().invoke(main, ["doctor"]).output  # read back from the cache
