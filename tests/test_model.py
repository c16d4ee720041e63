"""Tests with the real packaged model and spaCy pipeline (marker ``model``; CI runs them)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from click.testing import CliRunner

from coder.cli import main

from .conftest import DATA

pytestmark = pytest.mark.model


def test_packaged_model_loads_offline_with_stable_id(real_embedder):
    assert real_embedder.dim == 384
    assert real_embedder.model_id == "all-MiniLM-L6-v2@53aa51172d14"  # sha256 of model.safetensors, see models/
    v = real_embedder.embed(["I pray every night.", "Every night I say my prayers.", "The bus was late."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, rtol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_matches_bare_sentence_transformers(real_embedder):
    from sentence_transformers import SentenceTransformer

    from coder.embed import default_model_path

    bare = SentenceTransformer(str(default_model_path()), device="cpu")
    texts = ["My grandmother raised me.", "I want my GED."]
    np.testing.assert_allclose(real_embedder.embed(texts), bare.encode(texts, normalize_embeddings=True), atol=1e-5)


@pytest.fixture
def no_network(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network access attempted during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


@pytest.mark.parametrize(("backend", "model_id"), [("torch", "53aa51172d14."), ("onnx", "53aa51172d14+onnx-int8.")])
def test_suggest_touches_no_network(tmp_path, no_network, backend, model_id, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the ONNX export itself runs here, offline
    runner = CliRunner()
    p = str(tmp_path / "p.db")
    for args in (
        ["init"],
        ["import", str(DATA / "sample.txt")],
        ["codebook", "load", str(DATA / "mini.yaml")],
        ["suggest", "--backend", backend],
    ):
        r = runner.invoke(main, ["-p", p, *args], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    assert f"Model: all-MiniLM-L6-v2@{model_id}" in r.output  # the ONNX export, too, runs offline
    assert not (tmp_path / "cache" / "Microsoft").exists()  # onnxruntime's telemetry stays off
    assert no_network == []
    shown = runner.invoke(main, ["-p", p, "show", "P90"]).output
    assert "→ Spirituality / faith > Reading scripture" in shown  # "I read my Bible when I can't sleep."


def test_model_suggestions_rank_the_obvious_code_first(real_embedder):
    from coder.codebook import read_codebook
    from coder.embed import normalise
    from coder.suggest import build_profile, score

    book = read_codebook(DATA / "mini.yaml")
    prof = build_profile(book, real_embedder.embed)
    segs = normalise(
        real_embedder.embed(
            [
                "I was reading Psalms last night.",
                "My nana took me in when nobody else would.",
                "I'm signing up for classes at the community college.",
            ]
        )
    )
    top = [prof.paths[i] for i in score(segs, prof).scores.argmax(axis=1)]
    assert top == [
        "Spirituality / faith > Reading scripture",
        "Familial relationships",
        "Education and educational goals",
    ]


def test_similarity_v2_ranks_a_counterexample_like_sentence_lower_with_the_real_model(real_embedder):
    from coder import suggest as sg
    from coder.codebook import read_codebook
    from coder.embed import normalise

    book = read_codebook(DATA / "mini.yaml")
    prof = sg.build_profile(book, real_embedder.embed)
    segs = normalise(real_embedder.embed(["We only went to the church for the free food bank.", "I pray every night."]))
    v1 = sg.score(segs, prof).scores[:, 0]
    v2 = sg.score(segs, prof, contrast=sg.CONTRAST).scores[:, 0]
    pulled = v1 - v2
    assert pulled[0] > pulled[1] > 0  # both pulled a little, the food-bank sentence most
