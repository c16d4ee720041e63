"""Read-only views a coder looks at: a transcript with its codes (``coder show``), a document at a
time for the page (turns, a coder's chips), every document's progress, and per-code status."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coder import learn as lr
from coder.app.common import current_codebook, find_document
from coder.app.review import _paths, queue
from coder.errors import InputError
from coder.store import DecisionDetail, Store
from coder.types import PATH_SEP


@dataclass(frozen=True)
class ShownSegment:
    index: int
    text: str
    coded: bool
    suggestions: list[tuple[str, float, str]]  # (code path, score, status)


@dataclass(frozen=True)
class ShownTurn:
    index: int
    speaker: str
    role: str
    time_start: float | None
    segments: list[ShownSegment]


@dataclass(frozen=True)
class ShownDocument:
    name: str
    participant: str
    format: str
    turns: list[ShownTurn]
    suggester: str | None
    model: str | None


def show(store: Store, document: str, coder: str | None = None) -> ShownDocument:
    """A transcript with its codes: every active run's suggestions and everyone's answers, or only what
    ``coder`` sees (zero-shot suggestions, their own learned run's, their own answers)."""
    doc_id = find_document(store, document)
    doc = next(d for d in store.documents() if d.id == doc_id)
    seen = None if coder is None else [coder]
    by_segment: dict[int, list[tuple[str, float, str]]] = {}
    runs = store.active_runs(seen)
    for r in store.suggestions(doc_id, for_coders=seen):
        whose = f" from {r.learned_from}" if r.learned_from else ""
        by_segment.setdefault(r.segment_id, []).append((r.code_path, r.score, f"suggested, {r.suggester}{whose}"))
    for d in store.decisions(coder=coder):
        if d.document == doc.name:
            verb = "accepted" if d.answer == "accept" else "rejected"
            by_segment.setdefault(d.segment_id, []).append((d.code_path, float("nan"), f"{verb} by {d.coder}"))
    turns = []
    segs = store.segments(doc_id)
    by_turn: dict[int, list[ShownSegment]] = {}
    for s in segs:
        by_turn.setdefault(s.turn, []).append(ShownSegment(s.idx, s.text, s.coded, by_segment.get(s.id, [])))
    for t in store.turns(doc_id):
        turns.append(ShownTurn(t.idx, t.speaker, t.role, t.time_start, by_turn.get(t.idx, [])))
    return ShownDocument(
        doc.name,
        doc.participant,
        doc.format,
        turns,
        runs[-1].suggester if runs else None,
        runs[-1].model if runs else None,
    )


@dataclass(frozen=True)
class Chip:
    """One code on one sentence, as a coder sees it: a pending suggestion, or their standing answer."""

    segment_id: int
    code_path: str
    state: str  # "pending", "accepted" or "rejected"
    suggested: bool
    """A suggestion (answered or not); False for a code the coder applied by hand."""
    score: float | None = None
    probability: float | None = None
    """Shown only once calibrated on the coder's answers for this code (None before)."""
    reason: str | None = None
    carried: bool = False
    """A pending code carried over from the sentence before (:mod:`coder.app.carrying`), not a stored
    suggestion."""


@dataclass(frozen=True)
class ViewSegment:
    id: int
    idx: int
    text: str
    coded: bool
    """Participant speech (codable); interviewer sentences are shown, not coded."""


@dataclass(frozen=True)
class ViewTurn:
    idx: int
    speaker: str
    role: str
    time_start: float | None
    segments: list[ViewSegment]


@dataclass(frozen=True)
class DocumentView:
    id: int
    name: str
    participant: str
    turns: list[ViewTurn]


def document_view(store: Store, document_id: int) -> DocumentView:
    """A transcript's turns in order with their sentences (what a coder reads); no codes."""
    doc = next((d for d in store.documents() if d.id == document_id), None)
    if doc is None:
        raise InputError(f"no document with id {document_id}", hint="open the documents list")
    by_turn: dict[int, list[ViewSegment]] = defaultdict(list)
    for s in store.segments(document_id):
        by_turn[s.turn].append(ViewSegment(s.id, s.idx, s.text, s.coded))
    turns = [ViewTurn(t.idx, t.speaker, t.role, t.time_start, by_turn.get(t.idx, [])) for t in store.turns(document_id)]
    return DocumentView(doc.id, doc.name, doc.participant, turns)


def chips(store: Store, coder: str, document_id: int) -> dict[int, list[Chip]]:
    """Per sentence of a document: ``coder``'s pending suggestions and standing answers.

    Only the coder's own answers are shown, so double coding stays blind. Within a sentence,
    suggestions come first by score, then codes applied by hand, so the order is stable while the
    coder answers.
    """
    current = current_codebook(store).by_path()
    pending = queue(store, coder, document_id=document_id)
    scores: dict[tuple[int, str], float] = {}
    for r in store.suggestions(document_id, for_coders=[coder]):
        key = (r.segment_id, r.code_path)
        scores[key] = max(scores.get(key, float("-inf")), float(r.score))
    out: dict[int, list[Chip]] = defaultdict(list)
    for i in pending:
        p = i.probability if i.calibrated else None  # shown only once calibrated on the coder's answers
        out[i.segment_id].append(Chip(i.segment_id, i.code_path, "pending", True, i.score, p, carried=i.carried))
    name = next((d.name for d in store.documents() if d.id == document_id), None)
    if name is None:
        raise InputError(f"no document with id {document_id}", hint="open the documents list")
    for d in store.decisions(coder=coder):
        if d.document != name or d.code_path not in current:
            continue
        key = (d.segment_id, d.code_path)
        state = "accepted" if d.answer == "accept" else "rejected"
        offered = key in scores or bool(d.carried)
        out[d.segment_id].append(
            Chip(key[0], key[1], state, offered, scores.get(key), None, d.reason, carried=bool(d.carried))
        )
    for seg in out.values():
        seg.sort(key=lambda c: (not c.suggested, -(c.score if c.score is not None else 0.0), c.code_path))
    return dict(out)


@dataclass(frozen=True)
class DocumentProgress:
    """A document as one coder's list shows it (nothing of anyone else's work)."""

    id: int
    name: str
    participant: str
    sentences: int
    """Participant sentences (the codable ones)."""
    suggested: int
    """Distinct (sentence, code) suggestions of the active runs the coder sees, and the codes carried over from
    the sentence before that the coder answered (offered as suggestions, though by no run: as ``coder status``
    counts them)."""
    reviewed: int
    """Of those, the ones the coder answered."""
    coded: int
    """Sentences the coder gave at least one code (suggested or by hand)."""

    @property
    def pending(self) -> int:
        return self.suggested - self.reviewed


def documents_progress(store: Store, coder: str) -> list[DocumentProgress]:
    """Every document with the suggestions ``coder`` sees and how many of them they answered."""
    current = current_codebook(store).by_path()
    suggested: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for r in store.suggestions(for_coders=[coder]):
        if r.code_path in current:
            suggested[r.document_id].add((r.segment_id, r.code_path))
    docs = store.documents()
    doc_id = {d.name: d.id for d in docs}
    reviewed: Counter[int] = Counter()
    coded: dict[int, set[int]] = defaultdict(set)
    for d in store.decisions(coder=coder):
        did = doc_id[d.document]
        if d.carried and d.code_path in current:  # a carried code is offered as a suggestion, though by no run
            suggested[did].add((d.segment_id, d.code_path))
        if (d.segment_id, d.code_path) in suggested[did]:
            reviewed[did] += 1
        if d.answer == "accept" and d.code_path in current:
            coded[did].add(d.segment_id)
    return [
        DocumentProgress(
            d.id, d.name, d.participant, d.coded_segments, len(suggested[d.id]), reviewed[d.id], len(coded[d.id])
        )
        for d in docs
    ]


@dataclass(frozen=True)
class StatusRow:
    coder: str
    code: str
    suggested: int
    """Sentences the active runs the coder sees (zero-shot, their own learned) suggest the code for."""
    accepted: int
    """Suggestions the coder accepted (also those of an earlier run); while one run stands and nothing was
    imported, suggested = accepted + rejected + pending."""
    rejected: int
    """The coder's standing rejections of what was offered as suggested: a run's suggestion (also an earlier
    run's) or a code carried over from the sentence before."""
    pending: int
    expected_unfound: float | None
    """Segments that probably deserve the code but the coder has not found (from their learned run's probabilities)."""
    found: int = 0
    """Segments accepted for the code or any of its subcodes."""
    added: int = 0
    """Sentences the coder gave the code by hand where no run suggested it."""
    rejected_unsuggested: int = 0
    """The coder's rejections of the code where no run suggested it: a near miss ``--order uncertain`` offered
    (:data:`coder.app.review.NEAR_MISS`), a code added by hand and overruled in a reconciliation, or an imported
    answer to a suggestion this project does not have. Not counted in :attr:`rejected`, which is about
    suggestions; accepting such a code counts in :attr:`added`."""

    @property
    def active(self) -> bool:
        return bool(self.suggested or self.accepted or self.rejected or self.added or self.rejected_unsuggested)

    @property
    def estimated_recall(self) -> float | None:
        if self.expected_unfound is None:
            return None
        total = self.found + self.expected_unfound
        return self.found / total if total else None


def status(store: Store, coders: Sequence[str] | None = None, *, all_codes: bool = True) -> list[StatusRow]:
    """Per coder (all, or the named ones) and code: suggested, accepted, rejected, pending, added by hand,
    recall estimate. Each coder's rows come from the runs they see and their own answers only.
    ``all_codes=False`` keeps codes with activity and their ancestors (so a subcode is never shown under
    the wrong parent)."""
    coders = store.coders() if coders is None else list(coders)
    decisions: dict[str, list[DecisionDetail]] = defaultdict(list)
    for d in store.decisions():
        decisions[d.coder].append(d)
    rows: list[StatusRow] = []
    for coder in coders:
        rows.extend(_status_of(store, coder, decisions[coder], all_codes))
    return rows


def _status_of(store: Store, coder: str, decisions: Sequence[DecisionDetail], all_codes: bool) -> list[StatusRow]:
    book = current_codebook(store)
    suggested_pairs = {(r.segment_id, r.code_path) for r in store.suggestions(for_coders=[coder])}
    suggested = Counter(path for _, path in suggested_pairs)
    learned_run = store.learned_run(coder)
    probs: dict[int, np.ndarray] = dict(store.run_scores(learned_run))
    calibrated = learned_run.calibrated_codes() if learned_run is not None else frozenset()
    index = {p: i for i, p in enumerate(_paths(learned_run))}
    decided: dict[str, set[int]] = defaultdict(set)
    answered: dict[str, Counter[str]] = defaultdict(Counter)
    branch_accepted: dict[str, set[int]] = defaultdict(set)
    for d in decisions:
        decided[d.code_path].add(d.segment_id)
        if d.carried and (d.segment_id, d.code_path) not in suggested_pairs:  # offered, though by no run
            suggested[d.code_path] += 1
        # an answer to a suggestion (of any run, or of the active one) vs one to a code nobody suggested: added by
        # hand (a near miss accepted too), or rejected (a near miss, a code added by hand and overruled, …)
        unsuggested = d.suggestion_id is None and not d.carried and (d.segment_id, d.code_path) not in suggested_pairs
        kind = d.answer if not unsuggested else "added" if d.answer == "accept" else "unsuggested"
        answered[d.code_path][kind] += 1
        if d.answer == "accept":  # a subcode's acceptance is a mention of every ancestor too
            for path in _ancestors(d.code_path):
                branch_accepted[path].add(d.segment_id)
    # what queue() would list, counted without building its items: one per (sentence, code)
    pending = Counter(path for _, path in {(r.segment_id, r.code_path) for r in store.pending_suggestions(coder)})
    ids = np.array(list(probs)) if probs else np.zeros(0, dtype=np.int64)
    mat = np.stack(list(probs.values())) if probs else None
    mine = []
    for c in book.codes:
        n = answered[c.path]
        unfound = None
        found = branch_accepted[c.path]
        if mat is not None and c.path in index and c.path in calibrated:  # an estimate only from calibrated ones
            reviewed = np.isin(ids, list(decided[c.path] | found))
            unfound = lr.expected_unfound(mat[:, index[c.path]], reviewed)
        mine.append(
            StatusRow(
                coder,
                c.path,
                suggested.get(c.path, 0),
                n["accept"],
                n["reject"],
                pending[c.path],
                unfound,
                len(found),
                n["added"],
                n["unsuggested"],
            )
        )
    if not all_codes:
        keep = {p for r in mine if r.active for p in _ancestors(r.code)}
        mine = [r for r in mine if r.code in keep]
    return mine


def _ancestors(path: str) -> list[str]:
    """The path itself and every code above it."""
    parts = path.split(PATH_SEP)
    return [PATH_SEP.join(parts[:i]) for i in range(1, len(parts) + 1)]
