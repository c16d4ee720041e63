"""Re-fitting a coder's learned run in the background, while they go on answering (``coder review`` at a
terminal, and the page).

Each re-fit runs in a thread on its own project connection: the answers are already stored, and the next
item must not wait for a re-fit that takes seconds on a big project. One re-fit at a time per coder; its
outcome is kept until the face takes it. The re-fit reads the answers standing when it starts; later ones
count in the next. It stores its new run in one transaction (:func:`coder.app.training.write_run`), so an
answer given in those moments waits for it (SQLite's busy timeout), and no reader ever sees half a run.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from coder.app.training import LearnResult
from coder.errors import CoderError

log = logging.getLogger(__name__)

Outcome = LearnResult | str
"""What a re-fit gave: the new run, or why there is none (answers are saved either way)."""


class Refits:
    """Background re-fits of learned runs in one project file, one at a time per coder."""

    def __init__(self, project: Path, *, log_failures: bool = True) -> None:
        """``log_failures``: a failed re-fit's traceback goes to this module's logger too (the page's terminal);
        its outcome says what failed either way (a terminal loop would have the traceback over its prompt)."""
        self.project = project
        self.log_failures = log_failures
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._outcomes: dict[str, Outcome] = {}

    def start(self, coder: str) -> bool:
        """Start re-fitting ``coder``'s run; False when one is already running (it is not started twice)."""
        with self._lock:
            if self._running(coder):
                return False
            thread = threading.Thread(target=self._refit, args=(coder,), name=f"refit-{coder}", daemon=True)
            self._threads[coder] = thread
            thread.start()
            return True

    def running(self, coder: str) -> bool:
        with self._lock:
            return self._running(coder)

    def take(self, coder: str) -> Outcome | None:
        """The outcome of ``coder``'s last finished re-fit, once (None: none finished since the last take)."""
        with self._lock:
            return self._outcomes.pop(coder, None)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the re-fits in flight."""
        with self._lock:
            threads = list(self._threads.values())
        for t in threads:
            t.join(timeout)

    def _running(self, coder: str) -> bool:
        thread = self._threads.get(coder)
        return thread is not None and thread.is_alive()

    def _refit(self, coder: str) -> None:
        from coder.app import Project

        result: Outcome
        try:
            with Project(self.project) as project:
                result = project.review(coder).learn()
        except CoderError as e:
            result = f"learning skipped: {e}"
        except Exception as e:  # a thread's exception would vanish: say it with the next answer
            if self.log_failures:
                log.exception("re-fit for %s failed", coder)
            result = f"learning failed ({type(e).__name__}); your answers are saved"
        with self._lock:
            self._outcomes[coder] = result
