"""The pseudonymisation key: which original becomes which pseudonym. Pure: text in, text out.

A key is a CSV the researcher keeps apart from the project (columns ``original``, ``pseudonym``,
``type``, ``found``; any column she adds is kept). :func:`read_key` checks every row and refuses a
key that could not be applied exactly; :meth:`Key.apply` replaces every original at word boundaries,
longest first, so "Karen Whitfield" becomes one pseudonym and not two.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from coder.errors import InputError, ManyProblems, Problem
from coder.pseudonym_names import FEMALE_FIRST, MALE_FIRST, ORGANISATIONS, PLACES, SURNAMES
from coder.transcripts import csv_dialect, csv_records

TYPES = ("person", "place", "organisation", "phone", "email", "address", "date_of_birth", "handle")
TAG_WORDS = {
    "person": "Person",
    "place": "Place",
    "organisation": "Organisation",
    "phone": "Phone",
    "email": "Email",
    "address": "Address",
    "date_of_birth": "Date of birth",
    "handle": "Handle",
}
STYLES = ("tag", "name")
COLUMNS = ("original", "pseudonym", "type", "found")
_TAG = re.compile(r"^\[(?P<word>[A-Z][a-z]+(?: of birth)?) (?P<n>\d+)\]$")
_SPACE = re.compile(r"\s+")


@dataclass
class KeyEntry:
    original: str
    pseudonym: str
    type: str
    found: str = ""
    row: int | None = None
    extra: list[str] = field(default_factory=list)
    """Cells of the columns the researcher added (notes, …, named or not), in their order: written back."""


class KeyProblems(ManyProblems, InputError):
    """Rows of a key that cannot be applied exactly; every one is listed."""

    problems: list[Problem]

    def __init__(self, path: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        msg = first.message + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(msg, path=path, row=first.line, hint="fix the key and run again; nothing was written")

    def headline(self) -> str:
        return f"{len(self.problems)} problem(s) in the key; nothing was written"

    def details(self) -> str:
        return "\n".join(f"{p.path}: row {p.line}: {p.message}" for p in self.problems)


def tag(kind: str, n: int) -> str:
    return f"[{TAG_WORDS[kind]} {n}]"


def _name_tokens(name: str) -> list[str]:
    return _SPACE.sub(" ", name.strip()).split(" ")


class Key:
    """Originals and their pseudonyms, in the order the researcher sees them in KEY.csv."""

    def __init__(
        self,
        entries: Iterable[KeyEntry] = (),
        extra_columns: Sequence[str] = (),
        *,
        delimiter: str = ",",
        bom: bool = False,
    ) -> None:
        self.entries: list[KeyEntry] = []
        self._by_original: dict[str, KeyEntry] = {}
        self.extra_columns = list(extra_columns)
        self.delimiter, self.bom = delimiter, bom  # written back as the key was read (Excel's ';', its BOM)
        self._pattern: re.Pattern[str] | None = None
        for e in entries:
            self._put(e)

    def _put(self, entry: KeyEntry) -> None:
        self.entries.append(entry)
        self._by_original[entry.original] = entry
        self._pattern = None

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, original: str) -> KeyEntry | None:
        return self._by_original.get(original)

    def covers(self, text: str) -> bool:
        """Whether applying the key leaves nothing of ``text``: it is an original, or made only of them."""
        if text in self._by_original:
            return True
        if not self.entries:
            return False
        rest = self.pattern().sub(" ", text)
        return not any(ch.isalnum() for ch in rest)

    def pseudonyms(self) -> set[str]:
        return {e.pseudonym for e in self.entries}

    # -- applying -------------------------------------------------------------------------------------------
    def pattern(self) -> re.Pattern[str]:
        """One alternation of every original (and its capitals), longest first, at word boundaries."""
        if self._pattern is None:
            forms: dict[str, KeyEntry] = {}
            for e in self.entries:
                forms.setdefault(e.original, e)
            for e in self.entries:
                if e.type in ("person", "place", "organisation") and len(e.original) > 2:
                    forms.setdefault(e.original.upper(), e)
            self._lookup = forms
            self._folded = {k.casefold(): v for k, v in forms.items() if v.type in ("email", "handle")}
            parts = []
            for form in sorted(forms, key=lambda s: (-len(s), s)):
                flags = "(?i:{})" if forms[form].type in ("email", "handle") else "{}"
                body = r"[ \t\u00a0]+".join(re.escape(w) for w in _name_tokens(form))
                if not any(ch.isalpha() for ch in form):  # a number: never inside a time, a date or a longer number
                    body = rf"(?<![\d:/.]){body}(?![\d:/]|\.\d)"
                parts.append(flags.format(body))
            alternation = "|".join(parts) or r"(?!x)x"
            self._pattern = re.compile(rf"(?<![\w@])(?:{alternation})(?![\w@]|\.\w)")
        return self._pattern

    def entry_for(self, matched: str) -> KeyEntry:
        form = _SPACE.sub(" ", matched)
        return self._lookup.get(form) or self._folded[form.casefold()]

    def spans(self, text: str, counts: dict[str, int] | None = None) -> list[tuple[int, int, str]]:
        """(start, end, pseudonym) of every original in ``text``, as :meth:`apply` replaces them."""
        out = []
        for m in self.pattern().finditer(text) if self.entries else ():
            e = self.entry_for(m.group())
            if counts is not None:
                counts[e.original] = counts.get(e.original, 0) + 1
            out.append((m.start(), m.end(), e.pseudonym))
        return out

    def apply(self, text: str, counts: dict[str, int] | None = None) -> str:
        """``text`` with every original replaced by its pseudonym; ``counts`` gets replacements per original."""
        if not self.entries:
            return text

        def swap(m: re.Match[str]) -> str:
            e = self.entry_for(m.group())
            if counts is not None:
                counts[e.original] = counts.get(e.original, 0) + 1
            return e.pseudonym

        return self.pattern().sub(swap, text)

    # -- adding what was detected --------------------------------------------------------------------------
    def add(self, original: str, kind: str, found: str, *, style: str = "tag", same_as: str | None = None) -> KeyEntry:
        """A new row for ``original``. ``same_as`` names an original already in the key for the same person
        (a full name for a first name or a surname): the new row gets its pseudonym, or the matching part of it."""
        if kind not in TYPES:
            raise ValueError(f"unknown type {kind!r}")
        pseudonym = self._variant(original, same_as, style) if same_as else self._fresh(original, kind, style)
        entry = KeyEntry(original, pseudonym, kind, found)
        self._put(entry)
        return entry

    def _variant(self, original: str, same_as: str, style: str) -> str:
        base = self._by_original[same_as]
        if style == "tag" or _TAG.match(base.pseudonym) or base.type != "person":
            return base.pseudonym
        full, alias = _name_tokens(same_as), _name_tokens(original)
        fake = _name_tokens(base.pseudonym)
        if len(fake) < 2 or len(full) < 2:
            return base.pseudonym
        if alias == full[: len(alias)]:
            return " ".join(fake[: len(alias)]) if len(alias) < len(fake) else base.pseudonym
        if alias == full[-len(alias) :]:
            return " ".join(fake[-len(alias) :])
        return base.pseudonym

    def _numbers(self, kind: str) -> set[int]:
        out = set()
        for e in self.entries:
            m = _TAG.match(e.pseudonym)
            if m and m["word"] == TAG_WORDS[kind]:
                out.add(int(m["n"]))
        return out

    def _fresh(self, original: str, kind: str, style: str) -> str:
        used = self._numbers(kind)
        n = max(used, default=0) + 1
        if style == "tag" or kind == "date_of_birth":
            return tag(kind, n)
        taken = self.pseudonyms() | {w for e in self.entries for w in _name_tokens(e.original)}
        taken |= {w for p in self.pseudonyms() for w in _name_tokens(p)}
        taken |= set(_name_tokens(original))
        count = sum(1 for e in self.entries if e.type == kind and not _TAG.match(e.pseudonym)) + len(used)
        for attempt in range(400):
            fake = _substitute(original, kind, count + attempt)
            if fake not in taken and not (set(_name_tokens(fake)) & taken):
                return fake
        return tag(kind, n)


def _substitute(original: str, kind: str, n: int) -> str:
    """A realistic stand-in: the n-th of a fixed list (the same key always gives the same names)."""
    if kind == "person":
        tokens = _name_tokens(original)
        firsts = MALE_FIRST if tokens[0] in MALE_FIRST else FEMALE_FIRST
        first = firsts[(n * 11) % len(firsts)]  # steps that share no factor with the lists' lengths
        return first if len(tokens) == 1 else f"{first} {SURNAMES[(n * 13) % len(SURNAMES)]}"
    if kind == "place":
        return PLACES[n % len(PLACES)]
    if kind == "organisation":
        return ORGANISATIONS[n % len(ORGANISATIONS)]
    if kind == "phone":
        return f"555-01{n % 100:02d}"
    if kind == "email":
        return f"person{n + 1}@example.org"
    if kind == "handle":
        return f"@user{n + 1}"
    if kind == "address":
        return f"{n % 90 + 10} {SURNAMES[(n * 3) % len(SURNAMES)]} Road"
    return tag(kind, n + 1)


# -- the CSV ------------------------------------------------------------------------------------------------
def parse_key(text: str, path: str) -> Key:
    """Read and check a key; every row that could not be applied exactly is listed (:class:`KeyProblems`)."""
    bom = text.startswith("\ufeff")
    text = text.lstrip("\ufeff")
    dialect = csv_dialect(text)
    rows = csv_records(text, dialect, path)
    if not rows:
        return Key()
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS[:3] if c not in header]
    if missing:
        msg = f"no column {', '.join(repr(c) for c in missing)}; the columns are: {', '.join(rows[0]) or 'none'}"
        raise InputError(msg, path=path, row=1, hint="a key has the columns original, pseudonym, type, found")
    col = {name: header.index(name) for name in COLUMNS if name in header}
    width = max(len(r) for r in rows)
    extra_at = [i for i in range(width) if i >= len(header) or header[i] not in COLUMNS]
    extra = [rows[0][i] if i < len(rows[0]) else "" for i in extra_at]
    problems: list[Problem] = []
    entries: list[KeyEntry] = []
    first_row: dict[str, int] = {}
    by_pseudonym: dict[str, tuple[str, str, int]] = {}
    for row_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        original, pseudonym, kind = _SPACE.sub(" ", cell("original")), cell("pseudonym"), cell("type").lower()
        if not original:
            problems.append(Problem(path, row_no, "empty original; fill it in or delete the row"))
            continue
        if original in first_row:
            msg = f"'{original}' is already on row {first_row[original]}; keep one of the two rows"
            problems.append(Problem(path, row_no, msg))
            continue
        first_row[original] = row_no
        if not pseudonym:
            msg = f"empty pseudonym for '{original}'; write one (e.g. [Person 9]) or delete the row"
            problems.append(Problem(path, row_no, msg))
            continue
        if kind not in TYPES:
            msg = f"unknown type '{cell('type')}' for '{original}'; use one of: {', '.join(TYPES)}"
            problems.append(Problem(path, row_no, msg))
            continue
        other = by_pseudonym.get(pseudonym)
        if other is not None and other[1] != kind:
            msg = (
                f"pseudonym '{pseudonym}' stands for '{original}' ({kind}) and for '{other[0]}' ({other[1]}, row "
                f"{other[2]}); give one of them another pseudonym"
            )
            problems.append(Problem(path, row_no, msg))
            continue
        by_pseudonym.setdefault(pseudonym, (original, kind, row_no))
        extras = [row[i] if i < len(row) else "" for i in extra_at]
        entries.append(KeyEntry(original, pseudonym, kind, cell("found"), row_no, extras))
    if problems:
        raise KeyProblems(path, problems)
    return Key(entries, extra, delimiter=dialect.delimiter, bom=bom)


def format_key(key: Key) -> str:
    """The key as CSV text, the researcher's own columns after coder's."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=key.delimiter, lineterminator="\n")
    writer.writerow([*COLUMNS, *key.extra_columns])
    for e in key.entries:
        cells = [*e.extra, *[""] * len(key.extra_columns)][: len(key.extra_columns)]
        writer.writerow([e.original, e.pseudonym, e.type, e.found, *cells])
    return ("\ufeff" if key.bom else "") + out.getvalue()
