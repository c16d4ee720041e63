"""Shared fixtures. Default tests use the fake HashEmbedder and spaCy's rule-based sentencizer;
tests marked ``model`` load the real packaged model and pipeline (once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coder.app import Project
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
def project(tmp_path: Path) -> Iterator[Project]:
    """A new, empty project file: what the faces and most tests drive."""
    p = Project(tmp_path / "project.db", create=True)
    yield p
    p.close()


@pytest.fixture
def stored(project: Project) -> Iterator[Store]:
    """The ``project`` file read through a second connection: for checks on stored rows no Project
    method returns (the audit trail, a suggestion's run) and for the lower-level ``coder.app``
    functions that take a Store. Set state up through ``project``."""
    s = Store(project.path)
    yield s
    s.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A bare Store, for the store's own tests."""
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


@pytest.fixture
def precoded(tmp_path, embedder, blank_splitter):
    """A project with the sample transcript, the mini codebook and similarity.v2 suggestions (fake embedder)."""
    from coder.app import Project

    p = Project(tmp_path / "precoded.db", create=True)
    p.import_files([DATA / "sample.txt"], splitter=blank_splitter)
    p.load_codebook(DATA / "mini.yaml")
    p.suggest(embedder, threshold=0.2)
    yield p
    p.close()
