"""coder review in a real terminal (tmux): single keys without Enter, as a person types them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from coder.cli import main
from coder.store import Store

from .conftest import DATA, REPO

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")


def wait_for(session: str, text: str, timeout: float = 30) -> str:
    end = time.time() + timeout
    screen = ""
    while time.time() < end:
        screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p"], capture_output=True, text=True).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not on screen:\n{screen}")


def precoded_file(tmp_path):
    """The sample transcript, the mini codebook and hash-model suggestions, in a project file."""
    p = tmp_path / "p.db"
    runner = CliRunner()
    for args in (
        ["init"],
        ["import", str(DATA / "sample.txt"), "--pipeline", "blank"],
        ["codebook", "load", str(DATA / "mini.yaml")],
        ["suggest", "--model", "hash", "--threshold", "0.2"],
    ):
        assert runner.invoke(main, ["-p", str(p), *args]).exit_code == 0
    return p


def in_tmux(name, p, learn_every):
    """``coder review`` in a detached tmux session of its own; returns the session's name."""
    session = f"coder-test-{name}-{os.getpid()}"
    cmd = f"PYTHONPATH={REPO} {sys.executable} -m coder -p {p} review --coder tty --learn-every {learn_every}; sleep 5"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", cmd], check=True)
    return session


def test_single_keys_in_a_terminal(tmp_path):
    p = precoded_file(tmp_path)
    session = in_tmux("keys", p, 0)
    try:
        wait_for(session, "[q]uit >")
        subprocess.run(["tmux", "send-keys", "-t", session, "a"], check=True)  # no Enter
        wait_for(session, "[1 reviewed")
        subprocess.run(["tmux", "send-keys", "-t", session, "r"], check=True)
        wait_for(session, "x cancel >")
        subprocess.run(["tmux", "send-keys", "-t", session, "3"], check=True)
        wait_for(session, "[2 reviewed")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        wait_for(session, "Saved. tty: 2 reviewed (1 accepted, 1 rejected, 50% accepted).")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    s = Store(p)
    assert [(r.answer, r.reason) for r in s.decisions(coder="tty")] == [("accept", None), ("reject", "too vague")]


def test_at_a_terminal_the_refit_runs_in_the_background(tmp_path):
    """The answer that makes a re-fit due shows the next item at once; the re-fit's outcome follows."""
    p = precoded_file(tmp_path)
    session = in_tmux("refit", p, 2)
    try:
        wait_for(session, "[q]uit >")
        for _ in range(2):  # no code on two sentences: two answers at least, so a re-fit is due
            subprocess.run(["tmux", "send-keys", "-t", session, "n"], check=True)
            time.sleep(0.5)
        wait_for(session, "(re-fitting your learned model in the background: go on)")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        screen = wait_for(session, "Saved. tty:")
        assert "Your learned.v2 updated from" in screen  # taken with the next item, or waited for at the end
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    s = Store(p)
    assert s.learned_run("tty") is not None
