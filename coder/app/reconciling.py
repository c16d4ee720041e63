"""Reconciliation: the sentences where coders disagree, walked and decided as coder ``consensus``
(``coder reconcile``); where they agree, their codes are copied in one step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from coder.app.common import CONSENSUS, MACHINE, current_codebook
from coder.app.reliability import agree
from coder.errors import CoderError, InputError
from coder.store import Store


@dataclass(frozen=True)
class ReconcileItem:
    segment_id: int
    document: str
    participant: str
    unit: str
    text: str
    code: str
    coded_by: list[str]
    not_coded_by: list[str]


@dataclass(frozen=True)
class ReconcilePlan:
    items: list[ReconcileItem]  # disagreements consensus has not decided yet
    agreed: list[tuple[int, str]]  # codings every coder accepted that consensus does not hold yet
    decided: int  # disagreements consensus has already decided
    warnings: list[str] = field(default_factory=list)


def reconcile_plan(store: Store, coders: Sequence[str], *, coverage: str = "documents") -> ReconcilePlan:
    """What a reconciliation meeting has to decide, per sentence, for the named coders."""
    names = list(dict.fromkeys(c.strip() for c in coders))
    if CONSENSUS in names or any(n == MACHINE or n.startswith(MACHINE + ":") for n in names):
        raise InputError(
            "reconcile the codings of people", hint="name the coders, e.g. --coder ana --coder ben (not consensus)"
        )
    result = agree(store, names, unit="segment", coverage=coverage, n_boot=0, disagreements=True)
    if not result.units_included:
        raise InputError(
            f"no sentence was reviewed by all of {', '.join(names)}",
            hint="each coder must code the same documents (or try --coverage documents)",
        )
    standing = {(seg, path) for seg, path, *_ in store.standing_decisions(CONSENSUS)}
    items = [
        ReconcileItem(
            segment_id=d.segment_id or 0,
            document=d.document,
            participant=d.participant,
            unit=d.unit,
            text=d.text,
            code=d.code,
            coded_by=d.coded_by,
            not_coded_by=d.not_coded_by,
        )
        for d in result.disagreements
    ]
    todo = [i for i in items if (i.segment_id, i.code) not in standing]
    shared = set.intersection(*({(s, p) for s, ps in c.codes.items() for p in ps} for c in result.codings))
    covered = set.intersection(*(c.covered for c in result.codings))
    agreed = sorted(k for k in shared if k[0] in covered and k not in standing)
    return ReconcilePlan(todo, agreed, len(items) - len(todo), result.warnings)


def record_agreed(store: Store, plan: ReconcilePlan, coders: Sequence[str], *, by: str) -> int:
    """Copy what every coder accepted into consensus, in one transaction."""

    book_hash = current_codebook(store).hash
    note = f"accepted by all of {', '.join(coders)}"

    def go() -> int:
        recorded = [
            store.record_decision(
                segment_id=seg,
                code_path=path,
                coder=CONSENSUS,
                answer="accept",
                reason="agreed",
                memo=note,
                codebook_hash=book_hash,
                decided_by=by,
                via="reconcile",
                if_standing="keep",  # a consensus already recorded for this pair is the meeting's word
            )
            for seg, path in plan.agreed
        ]
        return sum(r.outcome == "added" for r in recorded)

    return store.write(go)


def decide(store: Store, item: ReconcileItem, answer: str, *, by: str, note: str | None = None) -> int:
    """Record the meeting's decision on one disagreement as coder ``consensus`` (who, when, note)."""

    if answer not in ("accept", "reject"):
        raise ValueError("answer must be 'accept' or 'reject'")
    if not by.strip():
        raise CoderError("reconcile needs the name of who decides", hint="pass --by NAME")
    book_hash = current_codebook(store).hash

    return store.decide(
        segment_id=item.segment_id,
        code_path=item.code,
        coder=CONSENSUS,
        answer=answer,
        reason="reconciled",
        memo=note,
        codebook_hash=book_hash,
        decided_by=by.strip(),
        via="reconcile",
        if_standing="always",  # a re-decision is recorded with its own who, when and note
    ).decision_id
