"""Theme frequency counts in the style of Countryman-Roswurm (2012). Pure: rows in, rows out.

A *mention* is a coded segment. A parent code's mentions are the distinct segments coded with
it or any of its descendants, so a segment with two subcodes of one theme counts once for the
theme. ``n/N`` is a code's mentions over its parent's mentions; top-level codes are shown over
all coded mentions. Participants are counted once per code, however many mentions they made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coder.types import Codebook


@dataclass(frozen=True)
class TallyRow:
    path: str
    name: str
    depth: int
    mentions: int
    parent_mentions: int
    participants: int
    participants_total: int

    @property
    def share(self) -> str:
        return f"{self.mentions}/{self.parent_mentions}"

    @property
    def participant_pct(self) -> float:
        return 100.0 * self.participants / self.participants_total if self.participants_total else 0.0


def tally(
    codebook: Codebook,
    codings: Iterable[tuple[int, str, str]],
    participants_total: int,
) -> list[TallyRow]:
    """Rows in codebook order from (segment id, participant, code path) codings.

    Codings to paths that are not in the codebook are ignored (they belong to an older
    version of it).
    """
    by_path = codebook.by_path()
    segs: dict[str, set[int]] = {c.path: set() for c in codebook.codes}
    people: dict[str, set[str]] = {c.path: set() for c in codebook.codes}
    all_segments: set[int] = set()
    for seg_id, participant, path in codings:
        if path not in by_path:
            continue
        all_segments.add(seg_id)
        p: str | None = path
        while p is not None:
            segs[p].add(seg_id)
            people[p].add(participant)
            p = by_path[p].parent
    rows = []
    for c in codebook.codes:
        parent_n = len(segs[c.parent]) if c.parent is not None else len(all_segments)
        rows.append(
            TallyRow(
                c.path,
                c.name,
                c.depth,
                len(segs[c.path]),
                parent_n,
                len(people[c.path]),
                participants_total,
            )
        )
    return rows


RULES = (
    "Counting rules: a mention is one coded participant sentence. A code's mentions include its subcodes'; "
    "a sentence with several subcodes of one code counts once for that code. n/N = the code's mentions / "
    "its parent's mentions (top-level codes: / all coded sentences). Participants = distinct participants "
    "with at least one mention, of all participants in scope; a participant with several documents counts once."
)


def select_rows(rows: list[TallyRow], *, min_mentions: int = 0, depth: int | None = None) -> list[TallyRow]:
    """Rows to show: at most ``depth`` levels (1 = top level) and at least ``min_mentions`` mentions."""
    return [r for r in rows if r.mentions >= min_mentions and (depth is None or r.depth < depth)]


def prose(rows: list[TallyRow], *, unit: str = "participants") -> list[str]:
    """One sentence per top-level code, in the style of the reviews' results sections."""
    out = []
    by_parent: dict[str, list[TallyRow]] = {}
    for r in rows:
        parent = r.path.rsplit(" > ", 1)[0] if r.depth else None
        if parent is not None:
            by_parent.setdefault(parent, []).append(r)
    for r in rows:
        if r.depth != 0 or r.mentions == 0:
            continue
        text = (
            f"{r.name} was mentioned {r.mentions} time{'s' * (r.mentions != 1)} ({r.share} of all coded "
            f"mentions) by {r.participants} of {r.participants_total} {unit} ({r.participant_pct:.0f}%)"
        )
        kids = [k for k in by_parent.get(r.path, []) if k.mentions]
        if kids:
            top = max(kids, key=lambda k: k.mentions)
            text += f"; the most frequent subcode was {top.name.lower()} ({top.share})"
        out.append(text + ".")
    return out


MISSING = "(no value)"


@dataclass(frozen=True)
class CrossRow:
    path: str
    name: str
    depth: int
    mentions: dict[str, int]
    participants: dict[str, int]


@dataclass(frozen=True)
class CrossTab:
    attribute: str
    values: list[str]
    participants_total: dict[str, int]
    """Participants in scope per value (the column totals)."""
    mentions_total: dict[str, int]
    """Coded sentences per value."""
    rows: list[CrossRow]


def crosstab(
    codebook: Codebook,
    codings: Iterable[tuple[int, str, str]],
    attribute: str,
    values_of: dict[str, str],
    participants_in_scope: Iterable[str],
) -> CrossTab:
    """Mentions and participants per code, split by a participant attribute's values."""
    by_path = codebook.by_path()
    people = list(participants_in_scope)
    values = sorted({values_of.get(p, MISSING) for p in people}, key=lambda v: (v == MISSING, v))
    totals = {v: sum(1 for p in people if values_of.get(p, MISSING) == v) for v in values}
    segs: dict[tuple[str, str], set[int]] = {}
    who: dict[tuple[str, str], set[str]] = {}
    coded: dict[str, set[int]] = {v: set() for v in values}
    for seg, participant, path in codings:
        if path not in by_path:
            continue
        v = values_of.get(participant, MISSING)
        coded.setdefault(v, set()).add(seg)
        p: str | None = path
        while p is not None:
            segs.setdefault((p, v), set()).add(seg)
            who.setdefault((p, v), set()).add(participant)
            p = by_path[p].parent
    rows = [
        CrossRow(
            c.path,
            c.name,
            c.depth,
            {v: len(segs.get((c.path, v), ())) for v in values},
            {v: len(who.get((c.path, v), ())) for v in values},
        )
        for c in codebook.codes
    ]
    return CrossTab(attribute, values, totals, {v: len(coded.get(v, ())) for v in values}, rows)


def rolled_up(codebook: Codebook, codings: Iterable[tuple[object, str]]) -> dict[object, set[str]]:
    """unit -> every code it has, ancestors included (a subcode's coding is a mention of its parents)."""
    by_path = codebook.by_path()
    out: dict[object, set[str]] = {}
    for unit, path in codings:
        if path not in by_path:
            continue
        p: str | None = path
        while p is not None:
            out.setdefault(unit, set()).add(p)
            p = by_path[p].parent
    return out


def presence(
    codebook: Codebook, codings: Iterable[tuple[object, str]], units: list[object], paths: list[str]
) -> list[list[int]]:
    """The 0/1 matrix: one row per unit (in ``units`` order), one column per path (rolled up)."""
    has = rolled_up(codebook, codings)
    return [[int(p in has.get(u, set())) for p in paths] for u in units]


def cooccurrence(codebook: Codebook, codings: Iterable[tuple[object, str]], paths: list[str]) -> list[list[int]]:
    """Units coded with both codes (rolled up); the diagonal is each code's own count of units."""
    has = rolled_up(codebook, codings)
    index = {p: i for i, p in enumerate(paths)}
    m = [[0] * len(paths) for _ in paths]
    for codes in has.values():
        idx = sorted(index[c] for c in codes if c in index)
        for a in idx:
            for b in idx:
                m[a][b] += 1
    return m


@dataclass(frozen=True)
class SaturationStep:
    participant: str
    new_codes: list[str]
    cumulative: int


def saturation(
    codebook: Codebook, codings: Iterable[tuple[str, str]], order: list[str], paths: list[str] | None = None
) -> list[SaturationStep]:
    """Codes observed for the first time as participants are added in ``order`` (code emergence)."""
    has = rolled_up(codebook, codings)
    wanted = set(paths) if paths is not None else {c.path for c in codebook.codes}
    seen: set[str] = set()
    steps = []
    for participant in order:
        new = sorted((has.get(participant, set()) & wanted) - seen)
        seen |= set(new)
        steps.append(SaturationStep(participant, new, len(seen)))
    return steps
