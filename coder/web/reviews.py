"""What the page keeps per coder between requests: the review state, and the background re-fit.

Each request builds a :class:`~coder.app.ReviewSession` over the coder's :class:`~coder.app.ReviewState`
(one coder's answers are taken one at a time, so two tabs cannot interleave the count). When an
answer says ``learn_due``, that coder's learned run is re-fitted in a thread on its own project connection: the
answer is already stored and the page must not wait for the re-fit (seconds on a big project). One
re-fit at a time per coder; its outcome comes back with that coder's next answer.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from coder.app import Project, ReviewState
from coder.errors import CoderError

log = logging.getLogger(__name__)

STARTED = "re-fitting your learned model from your answers"
BUSY = "your learned model is already re-fitting"


class Reviews:
    """Every coder's review state and re-fit for one project (one per app)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._lock = threading.Lock()
        self._states: dict[str, ReviewState] = {}
        self._coder_locks: dict[str, threading.Lock] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._outcomes: dict[str, str] = {}

    def state(self, coder: str) -> ReviewState:
        with self._lock:
            return self._states.setdefault(coder, ReviewState())

    def answering(self, coder: str) -> threading.Lock:
        """Held while one of this coder's answers changes their state; other coders never wait on it."""
        with self._lock:
            return self._coder_locks.setdefault(coder, threading.Lock())

    def after_answer(self, coder: str, learn_due: bool) -> str | None:
        """Start a re-fit when one is due; what to tell the coder (the last re-fit's outcome, what started)."""
        with self._lock:
            done = self._outcomes.pop(coder, None)
            running = self._threads.get(coder)
            busy = running is not None and running.is_alive()
            if learn_due and not busy:
                thread = threading.Thread(target=self._refit, args=(coder,), name=f"refit-{coder}", daemon=True)
                self._threads[coder] = thread
                thread.start()
        if not learn_due:
            return done
        started = BUSY if busy else STARTED
        return f"{done} · {started}" if done else started

    def join(self, timeout: float | None = None) -> None:
        """Wait for the re-fits in flight (tests and benchmarks; the page never waits)."""
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout)

    def _refit(self, coder: str) -> None:
        try:
            with Project(self.project) as project:
                result = project.review(coder).learn()
        except CoderError as e:
            result = f"learning skipped: {e}"
        except Exception as e:  # a thread's exception would vanish: say it with the next answer
            log.exception("coder serve: re-fit for %s failed", coder)
            result = f"learning failed ({type(e).__name__}); your answers are saved"
        if not isinstance(result, str):
            n = result.decisions
            result = (
                f"your {result.learner} updated from {n} decision{'' if n == 1 else 's'}; "
                f"{result.new_segments} sentences newly suggested"
            )
        with self._lock:
            self._outcomes[coder] = result
