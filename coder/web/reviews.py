"""What the page keeps per coder between requests: the review state, and the background re-fit.

Each request builds a :class:`~coder.app.ReviewSession` over the coder's :class:`~coder.app.ReviewState`
(one coder's answers are taken one at a time, so two tabs cannot interleave the count). When an
answer says ``learn_due``, that coder's learned run is re-fitted in the background (:mod:`coder.app.refitting`): the
answer is already stored and the page must not wait for the re-fit (seconds on a big project). One
re-fit at a time per coder; its outcome comes back with that coder's next answer.
"""

from __future__ import annotations

import threading
from pathlib import Path

from coder.app import ReviewState
from coder.app.refitting import Outcome, Refits

STARTED = "re-fitting your learned model from your answers"
BUSY = "your learned model is already re-fitting"


class Reviews:
    """Every coder's review state and re-fit for one project (one per app)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._lock = threading.Lock()
        self._states: dict[str, ReviewState] = {}
        self._coder_locks: dict[str, threading.Lock] = {}
        self._refits = Refits(project)

    def state(self, coder: str) -> ReviewState:
        with self._lock:
            return self._states.setdefault(coder, ReviewState())

    def answering(self, coder: str) -> threading.Lock:
        """Held while one of this coder's answers changes their state; other coders never wait on it."""
        with self._lock:
            return self._coder_locks.setdefault(coder, threading.Lock())

    def after_answer(self, coder: str, learn_due: bool) -> str | None:
        """Start a re-fit when one is due; what to tell the coder (the last re-fit's outcome, what started)."""
        outcome = self._refits.take(coder)
        done = None if outcome is None else _said(outcome)
        if not learn_due:
            return done
        started = STARTED if self._refits.start(coder) else BUSY
        return f"{done} · {started}" if done else started

    def join(self, timeout: float | None = None) -> None:
        """Wait for the re-fits in flight (tests and benchmarks; the page never waits)."""
        self._refits.join(timeout)


def _said(outcome: Outcome) -> str:
    if isinstance(outcome, str):
        return outcome
    return f"your {outcome.said()}"
