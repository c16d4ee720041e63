"""The shape ARCHITECTURE.md promises, checked on the source: which module may import which, where SQL
lives, and how long a module may grow."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "coder"
SQL = re.compile(
    r"^\s*(SELECT\b.+\bFROM\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b)", re.I | re.S
)
MAX_LINES = 600

# layer of each top-level name under coder/: a module may import its own layer or a lower one
FACES = {"cli", "web", "__main__"}
RENDER = {"agreement_report"}  # renders the app's agreement results for both faces
APP = {"app"}
STORE = {"store", "migrations"}
BASE = {"types", "errors", "__init__"}
# everything else is a pure compute module (transcripts, segment, codebook, embed, suggest, agreement, …)


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py"))


def top(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py")


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, coder.X) for every import of a coder module, at any depth in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("coder"):
            names = [node.module] if node.module != "coder" else [f"coder.{a.name}" for a in node.names]
            out += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("coder.")]
    return out


def target(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and not parts[1].startswith("__version") else "__init__"


def layer(name: str) -> str:
    for label, names in (("face", FACES), ("render", RENDER), ("app", APP), ("store", STORE), ("base", BASE)):
        if name in names:
            return label
    return "compute"


ALLOWED = {
    "base": {"base"},
    "compute": {"base", "compute"},
    "store": {"base", "store"},
    "app": {"base", "compute", "store", "app"},
    "render": {"base", "compute", "app", "render"},
    "face": {"base", "compute", "app", "render"},
}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_size(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it, one job per module"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    me = top(path)
    mine = layer(me)
    bad = [
        f"line {n}: {name}"
        for n, name in imported(path)
        if layer(target(name)) not in ALLOWED[mine] and not (mine == "face" == layer(target(name)))
    ]
    # a face may import a face (`coder serve` starts the page), never the store
    assert not bad, f"{path.relative_to(ROOT)} ({mine}) imports past its layer: {bad}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_only_in_the_store(path):
    if top(path) in STORE:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
    ]
    assert not found, f"{path.relative_to(ROOT)} has SQL on lines {found}: move it into coder/store"


def test_faces_never_touch_the_store_object():
    """The faces call Project; reaching into its private store would bypass the domain rules."""
    for path in modules():
        if top(path) in FACES:
            text = path.read_text(encoding="utf-8")
            assert "._store" not in text, f"{path.relative_to(ROOT)} reaches into Project._store"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imported_modules_exist(path):
    """A stale import of a moved module fails here, not in a user's hands."""
    import importlib.util

    missing = []
    for n, name in imported(path):
        if name.startswith("coder.__version"):
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            parent, _, attr = name.rpartition(".")
            found = (
                bool(parent)
                and importlib.util.find_spec(parent) is not None
                and (hasattr(importlib.import_module(parent), attr))
            )
        if not found:
            missing.append(f"line {n}: {name}")
    assert not missing, f"{path.relative_to(ROOT)} imports modules that do not exist: {missing}"
