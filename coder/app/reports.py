"""What a report counts and how: the codings in scope (a coder's, any, consensus; with unreviewed
suggestions only when asked), theme frequencies, presence and co-occurrence matrices, quotes,
code emergence, and the codings export."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from coder import tally as tl
from coder.app.common import current_codebook, find_document, require_coders, resolve_code
from coder.errors import InputError
from coder.store import SegmentRow, Store
from coder.types import PATH_SEP, Codebook

EXPORT_COLUMNS = (
    "document",
    "participant",
    "speaker",
    "start",
    "end",
    "text",
    "code",
    "status",
    "score",
    "coder",
    "suggester",
    "model",
    "learned_from",
    "probability",
)


def export_codings(store: Store, out: TextIO, fmt: str = "csv", *, code: str | None = None) -> int:
    """Write one row per active suggestion or decision; returns the number of rows.

    ``code``: only rows of this code path and the codes under it: a path as stored (so a path the current
    codebook no longer has, e.g. a code being split, can still be listed), else a code of the current codebook by
    its name or path in any case; one that is neither is an error ("did you mean …").

    ``probability`` is a learned run's probability for a suggestion of a code it calibrated on its
    coder's answers, and empty otherwise (a zero-shot score is a similarity, not a probability).
    """
    if code is not None:
        code = _stored_or_current(store, code)
    n = 0
    writer = csv.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(EXPORT_COLUMNS)
    # per learned run with calibrated codes: those codes' columns in its score rows
    runs = {r.id: r for r in store.active_runs() if r.learned_from is not None and r.calibrated != "[]"}
    columns = {
        r.id: {p: i for i, p in enumerate(json.loads(r.code_paths)) if p in r.calibrated_codes()} for r in runs.values()
    }
    scores: dict[int, dict[int, Any]] = {}  # run id -> segment id -> probability row (read when first needed)
    for r in store.codings():
        if code is not None and r.code_path != code and not r.code_path.startswith(code + PATH_SEP):
            continue
        probability = None
        column = columns.get(r.run_id, {}).get(r.code_path) if r.status == "suggested" and r.run_id else None
        if column is not None and r.run_id is not None:
            if r.run_id not in scores:
                scores[r.run_id] = dict(store.run_scores(runs[r.run_id]))
            row = scores[r.run_id].get(r.segment_id)
            if row is not None:
                probability = round(float(row[column]), 4)
        values = [
            r.document,
            r.participant,
            r.speaker,
            r.start,
            r.end,
            r.text,
            r.code_path,
            r.status,
            None if r.score is None else round(float(r.score), 4),
            r.coder,
            r.suggester,
            r.model,
            r.learned_from,
            probability,
        ]
        if writer:
            writer.writerow(["" if v is None else v for v in values])
        else:
            out.write(json.dumps(dict(zip(EXPORT_COLUMNS, values, strict=True)), ensure_ascii=False) + "\n")
        n += 1
    return n


def _stored_or_current(store: Store, code: str) -> str:
    """``code`` as written where some stored row has that path or one under it, else the current codebook's code it
    names (:func:`resolve_code`, which says "did you mean …" when it names none)."""
    if any(p == code or p.startswith(code + PATH_SEP) for p in store.coded_paths()):
        return code
    return resolve_code(current_codebook(store), code)


TALLY_MODES = ("any", "consensus")


UNREVIEWED = "PRE-CODED, UNREVIEWED SUGGESTIONS"


@dataclass(frozen=True)
class TallyResult:
    rows: list[tl.TallyRow]
    title: str
    notes: list[str]
    participants: int
    coded_segments: int
    cross: tl.CrossTab | None = None


@dataclass(frozen=True)
class Selection:
    """The codings a report counts: (segment id, code path) pairs, over the segments in scope."""

    codebook: Codebook
    pairs: set[tuple[int, str]]
    segments: list[SegmentRow]
    scope: dict[int, str]  # segment id -> participant
    accepted: set[tuple[int, str]]  # the part of ``pairs`` that people accepted


@dataclass(frozen=True)
class Criteria:
    """Which codings a report counts: the ``selection`` keywords of ``Project.tally`` and the other reports.

    ``mode='any'``: a coding counts when any of ``coders`` (all coders when none are named) accepted
    it; ``'consensus'``: only when every named coder did. Filters keep the named documents and
    participants.
    """

    coders: Sequence[str] = ()
    mode: str = "any"
    include_suggested: bool = False
    documents: Sequence[str] = ()
    participants: Sequence[str] = ()


def select_codings(store: Store, criteria: Criteria) -> Selection:
    """Accepted codings (any / consensus of the named coders), optionally with unreviewed suggestions:
    those of the runs the coders in scope see (zero-shot, and learned from one of them) that no coder in
    scope has answered (a rejected suggestion never counts)."""
    coders, mode, participants = criteria.coders, criteria.mode, criteria.participants
    if mode not in TALLY_MODES:
        raise ValueError(f"mode must be one of {TALLY_MODES}")
    if mode == "consensus" and len(coders) < 2:
        raise InputError(
            "--consensus needs at least two --coder names", hint="e.g. --consensus --coder ana --coder ben"
        )
    book = current_codebook(store)
    doc_ids = {find_document(store, d) for d in criteria.documents}
    doc_names = {d.name for d in store.documents() if d.id in doc_ids}
    segs = [
        s
        for s in store.segments(coded_only=True)
        if (not participants or s.participant in participants) and (not doc_names or s.document in doc_names)
    ]
    scope = {s.id: s.participant for s in segs}
    require_coders(store, coders)
    who_accepted: dict[tuple[int, str], set[str]] = {}
    for seg_id, path, coder in store.acceptances():
        if seg_id in scope and (not coders or coder in coders):
            who_accepted.setdefault((seg_id, path), set()).add(coder)
    accepted = (
        {k for k, who in who_accepted.items() if who >= set(coders)} if mode == "consensus" else set(who_accepted)
    )
    pairs = set(accepted)
    if criteria.include_suggested:
        # unreviewed = no coder in scope answered it: a suggestion they rejected is never counted
        answered = {
            (d.segment_id, d.code_path)
            for d in store.decisions()
            if d.segment_id in scope and (not coders or d.coder in coders)
        }
        # the runs those coders see: zero-shot, and learned only from the coders in scope
        seen = list(coders) if coders else store.coders()
        pairs |= {
            (r.segment_id, r.code_path)
            for r in store.suggestions(for_coders=seen)
            if r.segment_id in scope and (r.segment_id, r.code_path) not in answered
        }
    return Selection(book, pairs, segs, scope, accepted)


def tally_codings(store: Store, *, by: str | None = None, **selection: Any) -> TallyResult:
    """Theme frequencies of accepted codings (and, when asked, of unreviewed suggestions).

    ``selection`` holds the :class:`Criteria` keywords; ``by`` names a participant attribute to
    cross-tabulate by. The participant total counts the participants in scope.
    """
    c = Criteria(**selection)
    sel = select_codings(store, c)
    book, pairs, scope = sel.codebook, sel.pairs, sel.scope
    accepted = sel.accepted
    rows = tl.tally(book, ((seg, scope[seg], code) for seg, code in pairs), len(set(scope.values())))
    cross = None
    if by is not None:
        attrs = store.attributes()
        names = sorted({n for a in attrs.values() for n in a})
        if by not in names:
            raise InputError(
                f"no participant attribute '{by}'",
                hint=f"attributes in this project: {', '.join(names) or 'none (import --attributes CSV)'}",
            )
        values_of = {p: a[by] for p, a in attrs.items() if by in a}
        cross = tl.crosstab(
            book, ((seg, scope[seg], code) for seg, code in pairs), by, values_of, sorted(set(scope.values()))
        )
    if c.mode == "consensus":
        base = f"consensus of {', '.join(c.coders)}"
    elif c.coders:
        base = f"codings accepted by {', '.join(c.coders)}"
    else:
        base = "accepted codings"
    title = f"Theme frequencies — {base}"
    notes = []
    if c.include_suggested:
        title = f"{title} + {UNREVIEWED}" if accepted else f"Theme frequencies — {UNREVIEWED}"
        notes.append("Includes machine suggestions that no one has reviewed: pre-coded, unreviewed — not findings.")
    filters = [f"documents: {', '.join(c.documents)}"] if c.documents else []
    filters += [f"participants: {', '.join(c.participants)}"] if c.participants else []
    if filters:
        notes.append("Filtered to " + "; ".join(filters) + ".")
    context = store.context_codings()  # kept from an import, never dropped: said, since the tally cannot count them
    left = sum(n for who, n in context.items() if not c.coders or who in c.coders)
    if left:
        notes.append(
            f"{left} coding(s) on interviewer speech (kept from an import) are not counted: a tally counts "
            "participant sentences only ('coder show' lists them)."
        )
    return TallyResult(rows, title, notes, len(set(scope.values())), len(scope), cross)


@dataclass(frozen=True)
class MatrixResult:
    row_labels: list[str]
    col_labels: list[str]
    matrix: list[list[int]]
    title: str
    notes: list[str]


def _paths_to_depth(book: Codebook, depth: int | None) -> list[str]:
    return [c.path for c in book.codes if depth is None or c.depth < depth]


def _title(sel: Selection, what: str, include_suggested: bool) -> str:
    return (
        f"{what} — {UNREVIEWED}"
        if include_suggested and not sel.accepted
        else (f"{what} + {UNREVIEWED}" if include_suggested else what)
    )


def presence_table(
    store: Store, *, unit: str = "segment", depth: int | None = None, include_suggested: bool = False, **selection: Any
) -> MatrixResult:
    """The 0/1 matrix of codes (rolled up to parents) per participant sentence or per participant."""
    sel = select_codings(store, Criteria(include_suggested=include_suggested, **selection))
    paths = _paths_to_depth(sel.codebook, depth)
    units: list[object]
    codings: list[tuple[object, str]]
    if unit == "participant":
        units = list(sorted(set(sel.scope.values())))
        labels = [str(u) for u in units]
        codings = [(sel.scope[seg], code) for seg, code in sel.pairs]
    else:
        units = [s.id for s in sel.segments]
        labels = [f"{s.participant} · {s.document} #{s.idx + 1}" for s in sel.segments]
        codings = [(seg, code) for seg, code in sel.pairs]
    m = tl.presence(sel.codebook, codings, units, paths)
    return MatrixResult(
        labels,
        paths,
        m,
        _title(sel, f"Presence of codes per {unit}", include_suggested),
        ["1 = the unit has the code or one of its subcodes."],
    )


def cooccurrence_table(
    store: Store, *, unit: str = "segment", depth: int | None = 1, include_suggested: bool = False, **selection: Any
) -> MatrixResult:
    """Code × code: units (sentences or participants) coded with both; the diagonal is each code's total."""
    sel = select_codings(store, Criteria(include_suggested=include_suggested, **selection))
    paths = _paths_to_depth(sel.codebook, depth)
    codings = [(sel.scope[seg], code) for seg, code in sel.pairs] if unit == "participant" else list(sel.pairs)
    m = tl.cooccurrence(sel.codebook, codings, paths)
    names = [p.rsplit(" > ", 1)[-1] for p in paths]
    what = "sentences" if unit == "segment" else "participants"
    return MatrixResult(
        names,
        names,
        m,
        _title(sel, f"Co-occurrence of codes ({what})", include_suggested),
        [f"Cell = {what} coded with both codes (subcodes count for their parents); diagonal = {what} with the code."],
    )


@dataclass(frozen=True)
class Quote:
    participant: str
    attributes: dict[str, str]
    document: str
    sentence: int
    code: str
    text: str


def quotes(store: Store, code: str, *, n: int = 5, **selection: Any) -> list[Quote]:
    """Accepted sentences for a code (or its subcodes), spread over participants, most typical first.

    "Typical" = closest to the code's prototype when the project has embeddings; else longer first.
    """
    sel = select_codings(store, Criteria(**selection))
    code = resolve_code(sel.codebook, code)
    mine = {seg for seg, path in sel.accepted if path == code or path.startswith(code + " > ")}
    segs = {s.id: s for s in sel.segments if s.id in mine}
    closeness: dict[int, float] = {}
    run = store.zero_shot_run()
    if run is not None and segs:
        col = list(json.loads(run.code_paths)).index(code) if code in json.loads(run.code_paths) else None
        _, rows = store.zero_shot_scores()
        if col is not None:
            closeness = {seg: float(v[col]) for seg, v in rows if seg in segs}
    ranked = sorted(segs.values(), key=lambda s: (-closeness.get(s.id, 0.0), -len(s.text.split()), s.id))
    by_person: dict[str, list[Any]] = {}
    for s in ranked:
        by_person.setdefault(s.participant, []).append(s)
    order = sorted(by_person, key=lambda p: (-len(by_person[p]), p))
    attrs = store.attributes()
    out: list[Quote] = []
    while len(out) < n and any(by_person.values()):
        for p in order:  # one per participant per round: diverse before deep
            if by_person[p] and len(out) < n:
                s = by_person[p].pop(0)
                out.append(Quote(p, attrs.get(p, {}), s.document, s.idx + 1, code, s.text))
    return out


@dataclass(frozen=True)
class SaturationResult:
    steps: list[tl.SaturationStep]
    codes_total: int
    title: str
    unreviewed: tuple[str, ...] = ()
    """Participants in scope on whom no coder in scope has recorded any answer: left out of the curve, where
    they would add no new code and look like saturation."""


def saturation(
    store: Store, *, depth: int | None = None, include_suggested: bool = False, **selection: Any
) -> SaturationResult:
    """New codes observed as participants are added in interview (import) order."""
    sel = select_codings(store, Criteria(include_suggested=include_suggested, **selection))
    in_scope = set(sel.scope.values())
    coders = selection.get("coders") or ()
    who: dict[str, set[str]] = {}  # participant -> the coders in scope who answered on them
    for answer in store.decisions():
        if answer.segment_id in sel.scope and (not coders or answer.coder in coders):
            who.setdefault(sel.scope[answer.segment_id], set()).add(answer.coder)
    # --consensus counts a code only where every named coder gave it: a participant one of them has not reviewed
    # would add nothing and look like saturation
    need = set(coders) if selection.get("mode") == "consensus" else set()
    answered = {p for p, c in who.items() if c >= need}
    order: list[str] = []
    for d in sorted(store.documents(), key=lambda d: d.id):
        if d.participant in in_scope and d.participant not in order:
            order.append(d.participant)
    left_out = () if include_suggested else tuple(p for p in order if p not in answered)
    order = [p for p in order if p not in left_out]
    paths = _paths_to_depth(sel.codebook, depth)
    steps = tl.saturation(sel.codebook, [(sel.scope[seg], code) for seg, code in sel.pairs], order, paths)
    title = _title(sel, "Code emergence by participant", include_suggested)
    return SaturationResult(steps, len(paths), title, left_out)
