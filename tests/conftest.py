"""Shared fixtures. Default tests use the fake HashEmbedder and spaCy's rule-based sentencizer;
tests marked ``model`` load the real packaged model and pipeline (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coder.embed import HashEmbedder, set_offline_env
from coder.store import Store

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent

set_offline_env()


_onnx_cache = Path(__import__("tempfile").mkdtemp(prefix="coder-test-cache-"))
__import__("atexit").register(__import__("shutil").rmtree, _onnx_cache, True)


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes outside tmp_path or reads the user's project setting."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CODER_PROJECT", raising=False)
    monkeypatch.delenv("CODER_NAME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(_onnx_cache))  # one ONNX export per test session, not per test
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "project.db", create=True)
    yield s
    s.close()


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def blank_splitter():
    from coder.segment import load_splitter

    return load_splitter("blank")


@pytest.fixture(scope="session")
def real_splitter():
    from coder.segment import load_splitter

    return load_splitter()


@pytest.fixture(scope="session")
def real_embedder():
    from coder.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
