"""Every command has help text with an example and is in the README's CLI reference."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from coder.cli import main

from .conftest import REPO


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        out.append((full, cmd))  # a group too: its --help shows examples of its commands
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, full + " "))
    return out


ALL = commands(main)


@pytest.mark.parametrize(("name", "cmd"), ALL, ids=[n for n, _ in ALL])
def test_command_has_help_and_is_documented(name, cmd):
    assert cmd.help and len(cmd.help) > 20, name
    out = CliRunner().invoke(main, [*name.split(), "--help"]).output
    assert "Example" in out, f"{name} --help has no examples"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`coder {name}" in readme, f"{name} missing from README"


def test_help_is_instant_without_heavy_imports():
    code = (
        "import sys; from coder.cli import main; print(sorted(m for m in ('torch', 'spacy', 'sentence_transformers', "
        "'numpy', 'docx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "coder", "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "coder, version 0.1.0"
