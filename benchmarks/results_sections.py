"""Sections of benchmarks/RESULTS.md that a script owns, between `<!-- NAME:start -->` and `<!-- NAME:end -->`.

A script replaces its own section on a re-run and leaves the rest of the file alone; `make bench`
(benchmarks/run.py), which rewrites the file, carries these sections over unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

_BLOCK = re.compile(r"<!-- ([\w.-]+):start -->.*?<!-- \1:end -->\n?", re.S)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def put(path: Path, name: str, body: str) -> None:
    """Write ``body`` as section ``name`` of ``path``: in place of the old one, else at the end."""
    start, end = markers(name)
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    i, j = text.find(start), text.find(end)
    if i >= 0 and j > i:
        rest = text[j + len(end) :].lstrip("\n")
        text = text[:i] + block + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    path.write_text(text, encoding="utf-8")


def kept(path: Path) -> str:
    """Every owned section of ``path`` (markers included), to carry over when the file is rewritten."""
    if not path.exists():
        return ""
    return "\n".join(m.group(0).rstrip("\n") + "\n" for m in _BLOCK.finditer(path.read_text(encoding="utf-8")))
