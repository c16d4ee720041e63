"""How a codebook evolves, pure: where decisions on old code paths go under a new version's ``formerly``
(:func:`moves`), and what loading one version over another would add, rename, merge and drop (:func:`diff`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coder.codebook import code_fields
from coder.types import PATH_SEP, Codebook


def moves(book: Codebook, paths: Iterable[str]) -> dict[str, str]:
    """Old path -> code path in ``book``, for each of ``paths`` that ``formerly`` moves to a code of ``book``.

    A path is moved by the code that claims it, or under the code that claims its closest ancestor
    (``Old > Child`` -> ``New > Child``), repeatedly: a child renamed under a renamed parent follows both.
    Paths that are codes of ``book`` stay; a path that would land on no code is not moved (it is orphaned).
    """
    current = {c.path for c in book.codes}
    claimed = {old: c.path for c in book.codes for old in c.formerly}
    out: dict[str, str] = {}
    for start in paths:
        path, seen = start, set()
        while path not in current and path not in seen:
            seen.add(path)
            names = path.split(PATH_SEP)
            head = next((i for i in range(len(names), 0, -1) if PATH_SEP.join(names[:i]) in claimed), None)
            if head is None:
                break
            path = PATH_SEP.join([claimed[PATH_SEP.join(names[:head])], *names[head:]])
        if path != start and path in current:
            out[start] = path
    return out


COMPARED = ("definition", "include", "exclude", "examples", "counterexamples", "source", "exclusive")


@dataclass(frozen=True)
class CodebookDiff:
    """What loading ``new`` over ``old`` would do to each code path (see :func:`diff`)."""

    added: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    """(old path, new path): one old path moves to a code that had no other."""
    merged: tuple[tuple[tuple[str, ...], str], ...]
    """(old paths, new path): several paths (the code's own among them, if it had one) become one code."""
    dropped: tuple[str, ...]
    """Old paths that no code of the new version has or claims: their decisions would be orphaned."""
    changed: tuple[tuple[str, tuple[str, ...]], ...]
    """(new path, fields that differ) for codes kept or renamed whose definition, criteria or examples changed."""

    def moved(self) -> dict[str, str]:
        """Old path -> new path for every renamed and merged path."""
        out = dict(self.renamed)
        out.update({old: new for olds, new in self.merged for old in olds if old != new})
        return out


def diff(old: Codebook, new: Codebook, *, also: Iterable[str] = ()) -> CodebookDiff:
    """Compare two versions of a codebook. ``also``: more old paths to follow (e.g. paths a project has
    decisions on that ``old`` does not have as codes)."""
    olds = list(dict.fromkeys([*(c.path for c in old.codes), *also]))
    now = new.by_path()
    moved = moves(new, olds)
    into: dict[str, list[str]] = {}
    dropped = []
    for p in olds:
        target = moved.get(p, p if p in now else None)
        if target is None:
            dropped.append(p)
        else:
            into.setdefault(target, []).append(p)
    renamed, merged, changed = [], [], []
    before = old.by_path()
    for c in new.codes:
        sources = into.get(c.path, [])
        if len(sources) == 1 and sources[0] != c.path:
            renamed.append((sources[0], c.path))
        elif len(sources) > 1:
            merged.append((tuple(sources), c.path))
        was = before.get(sources[0]) if len(sources) == 1 else None
        if was is not None:
            a, b = code_fields(was), code_fields(c)
            fields = tuple(k for k in COMPARED if a[k] != b[k])
            if fields:
                changed.append((c.path, fields))
    added = tuple(c.path for c in new.codes if c.path not in into)
    return CodebookDiff(added, tuple(renamed), tuple(merged), tuple(dropped), tuple(changed))
