"""Refits: a coder's learned run re-fitted in the background, one at a time per coder, its outcome kept."""

from __future__ import annotations

import threading

from coder.app import ReviewSession
from coder.app.refitting import Refits
from coder.app.training import LearnResult


def test_a_refit_runs_beside_the_answers_once_per_coder_and_keeps_its_outcome(precoded, monkeypatch):
    s = precoded.review("ana")
    s.accept(s.next())
    s.reject(s.next())
    gate = threading.Event()
    real = ReviewSession.learn

    def held(self):
        assert gate.wait(10)
        return real(self)

    monkeypatch.setattr(ReviewSession, "learn", held)
    refits = Refits(precoded.path)
    assert refits.start("ana") and refits.running("ana")
    assert not refits.start("ana")  # one at a time per coder
    assert refits.take("ana") is None  # nothing finished yet
    s.accept(s.next())  # answers go on while it fits (one given while it stores its new run waits for that)
    gate.set()
    refits.join(10)
    assert not refits.running("ana")
    done = refits.take("ana")
    assert isinstance(done, LearnResult) and done.coder == "ana" and done.decisions >= 2
    assert refits.take("ana") is None  # taken once
    assert precoded.review("ana").progress().reviewed == 3


def test_a_failed_refit_says_so_and_loses_no_answer(precoded, monkeypatch):
    s = precoded.review("ana")
    s.accept(s.next())
    monkeypatch.setattr(ReviewSession, "learn", lambda self: 1 / 0)
    refits = Refits(precoded.path)
    assert refits.start("ana")
    refits.join(10)
    assert refits.take("ana") == "learning failed (ZeroDivisionError); your answers are saved"
    assert precoded.review("ana").progress().reviewed == 1
