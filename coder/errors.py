"""Errors that carry where the problem is and what to do next.

Every failure a user can cause is a :class:`CoderError`. Its ``str()`` is one line:
``FILE:LINE: what is wrong — what to do``. The CLI prints it and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class CoderError(Exception):
    """A problem the user can fix; rendered as one line with file, line/row and a hint."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.row = row
        self.hint = hint

    def location(self) -> str:
        if self.path is None:
            return ""
        loc = self.path
        if self.line is not None:
            loc += f":{self.line}"
        elif self.row is not None:
            loc += f": row {self.row}"
        return loc

    def __str__(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" — {self.hint}"
        return text


class InputError(CoderError):
    """A transcript, CSV or other input file cannot be read or parsed."""


class ProjectError(CoderError):
    """The project file is missing, not a coder project, or in a state that forbids the action."""


class ModelError(CoderError):
    """The embedding model or the spaCy pipeline cannot be loaded."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file (codebook, decisions...)."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{loc}: {self.message}"


class ManyProblems(CoderError):
    """Every problem one check found, not just the first: ``str()`` names the first; the CLI prints
    :meth:`headline`, then :meth:`details`, one problem a line."""

    problems: Sequence[object]

    def headline(self) -> str:
        return f"{len(self.problems)} problem(s)"

    def details(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class CodebookError(ManyProblems):
    """A codebook has one or more problems; all are listed, one per line."""

    problems: list[Problem]

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        msg = first.message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(msg, path=first.path, line=first.line, hint="fix the codebook and retry")

    def headline(self) -> str:
        return f"{super().headline()} in the codebook"
