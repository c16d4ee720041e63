"""The facts a methods section states, read from the project's audit trail (``coder report methods``).

Every number comes from the project: the documents and how they were segmented, the current
codebook, the active suggestion runs, each person's standing answers (summed from
:func:`coder.app.views.status`), whether anyone saw a model learned from someone else's decisions,
agreement (:func:`coder.app.reliability.agree`) and the consensus decisions of a reconciliation.
:mod:`coder.methods_report` words them.
"""

from __future__ import annotations

from collections import Counter

import coder
from coder.app import reconciling, reliability, views
from coder.app.common import CONSENSUS, MACHINE, current_codebook
from coder.errors import CoderError
from coder.methods_report import (
    Agreement,
    CodebookFacts,
    CoderCounts,
    Consensus,
    Corpus,
    MethodsReport,
    Run,
    Segmentation,
)
from coder.store import RunRow, Store
from coder.types import VIA

__all__ = ["MethodsReport", "methods"]


def methods(
    store: Store, *, unit: str = "segment", n_boot: int = 1000, seed: int = 0, coverage: str = "documents"
) -> MethodsReport:
    """Everything :func:`coder.methods_report.paragraphs` states about this project.

    Args:
        unit: the unit agreement is measured on (``segment``, ``turn``, ``document``, ``participant``).
        coverage: which units count (``documents`` or ``decided``, as :func:`coder.app.reliability.agree`).
        n_boot: bootstrap resamples for the 95% interval of α (0 = none).
        seed: the bootstrap seed.
    """
    if unit not in reliability.UNITS:
        raise ValueError(f"unit must be one of {reliability.UNITS}")
    coders = [c for c in _coders(store) if c.answered or c.added]  # not someone whose every answer was undone
    people = [c.name for c in coders]
    agreement, missing = _agreement(store, people, unit=unit, n_boot=n_boot, seed=seed, coverage=coverage)
    return MethodsReport(
        version=coder.__version__,
        corpus=_corpus(store),
        codebook=_codebook(store),
        runs=tuple(_run(r) for r in store.active_runs()),
        coders=tuple(coders),
        not_blind=tuple(reliability.blindness(store, people)),
        agreement=agreement,
        agreement_missing=missing,
        consensus=_consensus(store, people, coverage),
    )


def _corpus(store: Store) -> Corpus:
    docs = store.documents()
    formats = Counter(d.format for d in docs)
    return Corpus(
        documents=len(docs),
        participants=len({d.participant for d in docs}),
        turns=sum(d.turns for d in docs),
        sentences=sum(d.coded_segments for d in docs),
        context=sum(d.segments - d.coded_segments for d in docs),
        formats=tuple(sorted(formats.items(), key=lambda kv: (-kv[1], kv[0]))),
        segmentation=tuple(Segmentation(u, s, n) for u, s, n in store.segmentation()),
    )


def _codebook(store: Store) -> CodebookFacts:
    book = current_codebook(store)  # an error that says how to load one
    row = store.current_codebook_row()
    name, version = (row.name, row.version) if row is not None else (book.name, book.version)
    return CodebookFacts(name, version, book.hash, len(book.codes), len(book.children(None)))


def _run(r: RunRow) -> Run:
    return Run(
        id=int(r.id),
        suggester=r.suggester,
        model=r.model,
        method=r.method,
        threshold=float(r.threshold),
        top_k=int(r.top_k),
        learned_from=r.learned_from,
        decisions=int(r.decisions),
        description=reliability.describe_run(r),
    )


_WAYS = [*VIA, ""]  # the methods report's order: VIA's, then "not recorded"


def _way_order(way: tuple[str, int]) -> int:
    return _WAYS.index(way[0])


def _coders(store: Store) -> list[CoderCounts]:
    """Each person's answers: status rows are per code, and a decision counts on its own code only
    (not rolled up to its parents), so the sum over every code counts each answer once."""
    names = [c for c in store.coders() if c != CONSENSUS]
    rows = views.status(store, names, all_codes=True)
    ways = store.answer_ways({c.path for c in current_codebook(store).codes})  # as status counts: these codes
    out = []
    for name in names:
        mine = [r for r in rows if r.coder == name]
        out.append(
            CoderCounts(
                name,
                accepted=sum(r.accepted for r in mine),
                rejected=sum(r.rejected for r in mine),
                added=sum(r.added for r in mine),
                pending=sum(r.pending for r in mine),
                rejected_unsuggested=sum(r.rejected_unsuggested for r in mine),
                via=tuple(sorted(((k or "", n) for k, n in ways.get(name, {}).items()), key=_way_order)),
            )
        )
    return out


def _agreement(
    store: Store, people: list[str], *, unit: str, n_boot: int, seed: int, coverage: str = "documents"
) -> tuple[Agreement | None, str | None]:
    """Agreement of the people who coded, or of the only one and the zero-shot run; else why not."""
    if not people:
        return None, None
    compared = people if len(people) > 1 else [people[0], MACHINE]
    try:
        r = reliability.agree(store, compared, unit=unit, coverage=coverage, n_boot=n_boot, seed=seed)
    except CoderError as e:
        return None, e.message
    if not r.units_included:
        who = "both coders" if len(compared) == 2 else "every coder"
        return None, f"no {'sentence' if unit == 'segment' else unit} was reviewed by {who}"
    return (
        Agreement(
            coders=tuple(people),
            machine=r.machines.get(MACHINE) if len(people) == 1 else None,
            unit=r.unit,
            coverage=r.coverage,
            units_total=r.units_total,
            units_counted=r.units_included,
            codes=len(r.rows),
            pooled=r.pooled.summary if r.pooled is not None else None,
            exact=r.exact.summary,
            n_boot=r.n_boot,
            seed=r.seed,
            unanswered=tuple((c.name, c.pending) for c in r.codings if c.pending),
        ),
        None,
    )


def _consensus(store: Store, people: list[str], coverage: str = "documents") -> Consensus | None:
    """What reconciliation recorded as coder ``consensus``, and how many disagreements are left in the units the
    report counts (``coverage``, as ``coder reconcile --coverage`` counts them)."""
    rows = store.decisions(coder=CONSENSUS)
    if not rows:
        return None
    agreed = sum(d.reason == "agreed" for d in rows)
    accepted = sum(d.reason == "reconciled" and d.answer == "accept" for d in rows)
    rejected = sum(d.reason == "reconciled" and d.answer == "reject" for d in rows)
    remaining = None
    if len(people) > 1:
        try:
            remaining = len(reconciling.reconcile_plan(store, people, coverage=coverage).items)
        except CoderError:
            remaining = None
    return Consensus(
        agreed=agreed,
        accepted=accepted,
        rejected=rejected,
        other=len(rows) - agreed - accepted - rejected,
        recorded_by=tuple(sorted({d.decided_by for d in rows if d.decided_by})),
        remaining=remaining,
    )
