"""The lookups every action starts from: the current codebook, a document by name, a coder's name, a code by path.

This is the bottom of the application layer: the other ``coder.app`` modules import it, it imports
none of them.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from coder import codebook as cb
from coder.errors import CoderError, InputError, ProjectError
from coder.store import Store
from coder.types import PATH_SEP, Codebook

MACHINE = "machine"
"""The suggester as a coder, in agreement reports (``machine`` or ``machine:SUGGESTER``)."""
CONSENSUS = "consensus"
"""The team's reconciled coding (``coder reconcile``), a coder name that no person may take."""

ProgressFn = Callable[[int], None]
"""Called with the number of items just finished."""


def noop(_: int) -> None:
    return None


def current_codebook(store: Store) -> Codebook:
    row = store.current_codebook_row()
    if row is None:
        raise ProjectError(
            "no codebook loaded",
            path=store.path,
            hint="run 'coder codebook load codebooks/resilience.yaml' (or your own)",
        )
    return _parsed(row.yaml, row.source)


@functools.lru_cache(maxsize=8)
def _parsed(yaml_text: str, source: str) -> Codebook:
    """Parsing is pure and the result frozen: a command that asks for the codebook again reuses it."""
    return cb.parse_codebook(yaml_text, source=source)


def find_document(store: Store, ref: str) -> int:
    """A document by name, file stem or participant id."""
    docs = store.documents()
    for match in (
        lambda d: d.name == ref,
        lambda d: Path(d.name).stem == ref,
        lambda d: d.participant == ref,
        lambda d: d.name.lower().startswith(ref.lower()),
    ):
        found = [d for d in docs if match(d)]
        if len(found) == 1:
            return found[0].id
        if len(found) > 1:
            raise InputError(
                f"'{ref}' matches {len(found)} documents: {', '.join(d.name for d in found[:5])}",
                hint="give the full document name",
            )
    import difflib

    names = sorted({n for d in docs for n in (d.name, Path(d.name).stem, d.participant)})
    close = difflib.get_close_matches(ref, names, n=1, cutoff=0.6)
    mean = f"did you mean '{close[0]}'? " if close else ""
    raise InputError(f"no document '{ref}'", hint=f"{mean}'coder show' with no argument lists the documents")


def require_coders(store: Store, coders: Sequence[str]) -> None:
    """Refuse names that made no decision in this project (a typo would otherwise give empty reports)."""
    known = set(store.coders())
    missing = [c for c in coders if c not in known]
    if missing:
        raise InputError(
            f"no decisions by {', '.join(missing)}",
            hint=f"coders in this project: {', '.join(sorted(known)) or 'none yet'}",
        )


def require_coder(coder: str | None, store: Store) -> str:
    name = coder or store.get_setting("coder")
    if not name or not name.strip():
        raise CoderError("no coder name", hint="pass --coder NAME (or set CODER_NAME, or 'coder config coder NAME')")
    return name.strip()


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def resolve_code(book: Codebook, ref: str) -> str:
    """A code's path from what a person typed: the exact path, the path or a unique name in any case
    (``"coping strategies"`` finds ``"Coping strategies"``), else an error naming the closest codes."""
    by_path = book.by_path()
    if ref in by_path:
        return ref
    want = " ".join(ref.replace(">", f" {PATH_SEP.strip()} ").split()).casefold()
    exact = [c.path for c in book.codes if " ".join(c.path.split()).casefold() == want]
    if len(exact) == 1:
        return exact[0]
    named = [c.path for c in book.codes if c.name.casefold() == ref.strip().casefold()]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise InputError(
            f"'{ref}' names {len(named)} codes: {'; '.join(named)}", hint="give the full path, e.g. 'Parent > Child'"
        )
    names = {c.name.casefold(): c.path for c in book.codes} | {c.path.casefold(): c.path for c in book.codes}
    typed = ref.strip().casefold()
    close = [names[c] for c in difflib.get_close_matches(typed, list(names), n=3, cutoff=0.6)]
    if not close and len(typed) >= 4:  # a word of a name ("faith"), else the nearest words ("famly")
        words = {c.path: set(re.findall(r"\w{4,}", c.name.casefold())) for c in book.codes}
        vocabulary = set().union(*words.values())
        near = [typed] if typed in vocabulary else difflib.get_close_matches(typed, sorted(vocabulary), n=3, cutoff=0.6)
        for w in near:  # by likeness; shortest names first for each word
            close += sorted((p for p, ws in words.items() if w in ws and p not in close), key=len)
        close = close[:3]
    hint = (
        "did you mean " + " or ".join(f"'{p}'" for p in dict.fromkeys(close)) + "?"
        if close
        else "see 'coder codebook show' for the paths"
    )
    raise InputError(f"no code '{ref}' in the codebook", hint=hint)


def utc_iso(value: str) -> str:
    """An ISO date-time as UTC in coder's stored form; a time without an offset is taken as UTC."""
    t = datetime.fromisoformat(value.strip())
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="seconds")
