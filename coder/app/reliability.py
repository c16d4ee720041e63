"""Inter-coder agreement from a project: who coded what, on which units, and where they differ.

This module turns the decisions in a project into reliability data (coders × units) for
``coder.agreement`` and back into reconciliation items. A *coder* is a person's name, ``consensus``
(written by ``coder reconcile``), or the machine: ``machine`` (the zero-shot run, similarity.v2 or v1),
``machine:learned.v2:NAME`` (the learned.v2 run learned from NAME's decisions; ``machine:learned.v2``
when only one coder has one; likewise learned.v1). The machine's codings are its run's suggestions,
already cut at its threshold, and every report names the exact run: which suggester, zero-shot or
learned from whom and from how many decisions. A person who answered suggestions of a run learned
from someone else did not code blind, and their agreement says so.

Which units count: only units every chosen coder reviewed. With ``coverage='documents'`` (the
default) a person reviewed every participant sentence of each document in which they made at least
one decision, so a sentence they left uncoded there means "none of these codes"; a coarser unit
counts when each coder reviewed all of it. With ``coverage='decided'`` a person reviewed only the
sentences they answered something on, and a coarser unit counts when each coder answered on at
least one of its sentences. The machine reviewed every sentence its run scored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from coder import agreement as ag
from coder.app.common import CONSENSUS, MACHINE, current_codebook
from coder.errors import InputError
from coder.store import RunRow, SegmentKey, Store
from coder.types import Codebook

UNITS = ("segment", "turn", "document", "participant")
COVERAGE = ("documents", "decided")
RARE = 0.05  # prevalence under which κ and α are flagged as unstable (the kappa paradox)


@dataclass(frozen=True)
class Coding:
    """One coder's codings: the segments they reviewed and the codes they gave each."""

    name: str
    covered: set[int]
    codes: dict[int, set[str]]
    pending: int = 0  # unanswered suggestions inside the documents counted as reviewed
    run: RunRow | None = None
    """For the machine: the run whose suggestions these are."""


def describe_run(run: RunRow) -> str:
    """A run as a methods section names it: suggester, run number, zero-shot or learned from whom, model."""
    if run.learned_from is None:
        how = "zero-shot (codebook only)"
    elif run.learned_from == "*":
        how = f"learned from {run.decisions} decisions of all coders pooled"
    else:
        how = f"learned from {run.learned_from}'s {run.decisions} decisions"
    cut = (
        "probability cut per code, chosen on the coder's answers"
        if run.suggester == "learned.v2"
        else f"threshold {run.threshold:g}"
    )
    return f"{run.suggester} run {run.id}, {how}; model {run.model}, {cut}, top {run.top_k}"


def machine_run(store: Store, name: str) -> RunRow:
    """The active run a machine coder name stands for (see the module docstring)."""
    suggester, _, whose = name.partition(":")[2].partition(":")
    if not suggester.startswith("learned."):
        if whose:
            raise InputError(
                f"'{name}': a zero-shot run learns from nobody, so it takes no ':{whose}'",
                hint=f"use '{MACHINE}', or '{MACHINE}:learned.v2:{whose}' for the run learned from {whose}'s decisions",
            )
        run = store.active_run(suggester) if suggester else store.zero_shot_run()
        if run is None:
            raise InputError(
                f"no active {suggester or 'zero-shot'} run to compare as '{name}'",
                hint="run 'coder suggest' first" if not suggester else f"use '{MACHINE}'",
            )
        return run
    learned = [r for r in store.active_runs() if r.suggester == suggester]
    options = ", ".join(f"{MACHINE}:{r.suggester}:{r.learned_from}" for r in learned)
    if whose:
        run = store.active_run(suggester, whose)
        if run is None:
            theirs = store.learned_run(whose)
            raise InputError(
                f"no {suggester} run learned from '{whose}' to compare as '{name}'",
                hint=f"{whose}'s learned run is {theirs.suggester}: use '{MACHINE}:{theirs.suggester}:{whose}'"
                if theirs is not None
                else f"learned runs here: {options}"
                if learned
                else f"run 'coder suggest --learn --coder {whose}' first",
            )
        return run
    if len(learned) == 1:
        return learned[0]
    raise InputError(
        f"'{name}' is ambiguous: each coder has their own learned run" if learned else f"no learned run for '{name}'",
        hint=f"name one: {options}" if learned else "run 'coder suggest --learn' first",
    )


def blindness(store: Store, coders: Sequence[str]) -> list[str]:
    """Why each named person's coding was not blind: answers to suggestions learned from someone else's decisions."""
    out = []
    people = [c for c in store.coders() if c != CONSENSUS]
    for a in store.answer_sources():
        if a.coder not in coders or a.coder == CONSENSUS or a.learned_from in (None, a.coder):
            continue
        if a.learned_from == "*" and people == [a.coder]:  # a pooled run from before m004, with one person in it
            continue
        whose = "all coders' decisions pooled" if a.learned_from == "*" else f"{a.learned_from}'s decisions"
        out.append(
            f"{a.coder} answered {a.accepted + a.rejected} suggestion(s) of {a.suggester} learned from {whose}: "
            f"{a.coder}'s coding was not blind to them"
        )
    return out


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    coded_by: list[int]  # units with the code, per coder
    summary: ag.Summary
    prevalence: float  # share of all ratings that say "present"
    verdict: str


@dataclass(frozen=True)
class Disagreement:
    unit: str  # readable unit name, e.g. "P03 sentence 41"
    document: str
    participant: str
    segment_id: int | None  # for sentence units: what ``coder reconcile`` decides on
    text: str
    code: str
    coded_by: list[str]
    not_coded_by: list[str]


@dataclass(frozen=True)
class AgreeResult:
    coders: list[str]
    unit: str
    coverage: str
    depth: int | None
    units_total: int
    units_included: int
    not_reviewed: dict[str, int]  # units each coder did not review (a unit may lack several)
    rows: list[CodeAgreement]
    pooled: CodeAgreement | None
    exact: CodeAgreement
    reliable: float
    tentative: float
    n_boot: int
    seed: int
    warnings: list[str] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    codings: list[Coding] = field(default_factory=list, repr=False)  # what each coder coded, as read
    machines: dict[str, str] = field(default_factory=dict)
    """Each machine coder compared, and the exact run it stands for (:func:`describe_run`)."""


def _truncate(book: Codebook, path: str, depth: int | None) -> str:
    if depth is None:
        return path
    by_path = book.by_path()
    code = by_path.get(path)
    if code is None:  # a code a newer codebook dropped: cut its path by name
        return " > ".join(path.split(" > ")[:depth])
    while code.depth >= depth and code.parent is not None:
        code = by_path[code.parent]
    return code.path


def coding_of(
    store: Store,
    name: str,
    *,
    coverage: str = "documents",
    depth: int | None = None,
    segments: Sequence[SegmentKey] | None = None,
) -> Coding:
    """Read one coder's codings (a person, ``consensus``, or ``machine[:SUGGESTER]``).

    ``segments``: the project's participant sentences, when the caller has read them already."""

    book = current_codebook(store)
    if name == MACHINE or name.startswith(MACHINE + ":"):
        run = machine_run(store, name)
        covered = store.scored_segments(int(run.id)) or {
            s.id for s in (segments if segments is not None else store.segment_keys())
        }
        codes: dict[int, set[str]] = {}
        for seg, path in store.run_suggestions(int(run.id)):
            codes.setdefault(seg, set()).add(_truncate(book, path, depth))
        return Coding(name, covered, codes, run=run)
    rows = store.standing_decisions(name)
    if not rows:
        known = store.coders()
        hint = (
            "run 'coder reconcile' to record consensus codings"
            if name == CONSENSUS
            else f"coders in this project: {', '.join(known) or 'none yet'} (or 'machine')"
        )
        raise InputError(f"no decisions by '{name}'", hint=hint)
    decided = {seg for seg, *_ in rows}
    cut = {path: _truncate(book, path, depth) for path in {path for _, path, _, _ in rows}}
    codes = {}
    for seg, path, answer, _ in rows:
        if answer == "accept":
            codes.setdefault(seg, set()).add(cut[path])
    if coverage == "decided":
        covered = decided
        pending = 0
    else:
        segs = segments if segments is not None else store.segment_keys()
        docs = {s.document for s in segs if s.id in decided}
        covered = {s.id for s in segs if s.document in docs}
        # unanswered suggestions matter where the coder works through suggestions (not, e.g., an imported coding)
        answered = {seg for seg, _, _, suggested in rows if suggested}
        reviewing = {s.document for s in segs if s.id in answered}
        pending = sum(n for doc, n in store.pending_by_document(name).items() if doc in reviewing) if reviewing else 0
    return Coding(name, covered, codes, pending)


def _unit_key(unit: str, s: SegmentKey) -> Hashable:
    if unit == "segment":
        return s.id
    if unit == "turn":
        return s.document, s.turn
    return s.document if unit == "document" else s.participant


def _unit_label(unit: str, s: SegmentKey) -> str:
    """A unit's readable name, from its first sentence."""
    if unit == "segment":
        return f"{s.document} sentence {s.idx + 1}"  # numbered as 'coder show'
    if unit == "turn":
        return f"{s.document} turn {s.turn + 1}"
    return str(s.document) if unit == "document" else f"participant {s.participant}"


def _code_order(book: Codebook, used: set[str]) -> list[str]:
    order = {c.path: i for i, c in enumerate(book.codes)}
    return sorted(used, key=lambda p: (order.get(p, len(order)), p))


@dataclass(frozen=True)
class _Table:
    """The coders × units table, kept sparse: which units count, and the codes each coder gave each of them
    (only units with a code are stored; the rest are 'none of these codes')."""

    units: int  # units in the project
    counted: int  # units every coder reviewed
    not_reviewed: dict[str, int]
    row: np.ndarray  # each sentence's unit as a row of the counted units; -1: its unit is not counted
    labels: list[dict[int, set[str]]]  # per coder: row -> codes

    @classmethod
    def of(cls, segs: Sequence[SegmentKey], codings: list[Coding], unit: str, coverage: str) -> _Table:
        if unit == "segment":  # each sentence is its own unit
            n_units, unit_of = len(segs), np.arange(len(segs))
        else:  # units numbered in document order
            number: dict[Hashable, int] = {}
            keys = (number.setdefault(_unit_key(unit, s), len(number)) for s in segs)
            unit_of = np.fromiter(keys, np.intp, len(segs))
            n_units = len(number)
        seg_ids = np.fromiter((s.id for s in segs), np.int64, len(segs))
        size = np.bincount(unit_of, minlength=n_units)
        ok = np.ones(n_units, dtype=bool)
        not_reviewed = {}
        for c in codings:
            covered = np.fromiter(c.covered, np.int64, len(c.covered))
            hits = np.bincount(unit_of, weights=np.isin(seg_ids, covered), minlength=n_units)
            mine = hits == size if coverage == "documents" else hits > 0
            not_reviewed[c.name] = int((~mine).sum())
            ok &= mine
        counted = np.flatnonzero(ok)
        row = np.full(n_units, -1)
        row[counted] = np.arange(len(counted))
        by_id = np.argsort(seg_ids)
        sorted_ids, sorted_rows = seg_ids[by_id], row[unit_of][by_id]
        labels: list[dict[int, set[str]]] = []
        for c in codings:
            ids = np.fromiter(c.codes, np.int64, len(c.codes))
            rows_of = np.full(len(ids), -1)  # each coded sentence's row; -1: not in a counted unit
            if len(sorted_ids):
                at = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
                rows_of = np.where(sorted_ids[at] == ids, sorted_rows[at], -1)
            mine_: dict[int, set[str]] = {}
            for seg, i in zip(c.codes, rows_of.tolist(), strict=True):
                if i >= 0:
                    mine_.setdefault(i, set()).update(c.codes[seg])
            labels.append(mine_)
        return cls(n_units, len(counted), not_reviewed, row[unit_of], labels)


def _pairs(
    labels: list[dict[int, set[str]]], paths: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[ag.Label, ...]]]:
    """Every (unit, code) pair some coder coded: its row, its code (index into ``paths``) and which coders
    said yes (index into the patterns returned, one bool per coder). Every other pair is 'no' from all."""
    code_no = {p: j for j, p in enumerate(paths)}
    pair_keys, pair_coder = [], []
    for who, lab in enumerate(labels):
        theirs = [i * len(paths) + code_no[p] for i, got in lab.items() for p in got]
        pair_keys.append(np.array(theirs, dtype=np.int64))
        pair_coder.append(np.full(len(theirs), who))
    keys, where = np.unique(np.concatenate(pair_keys), return_inverse=True)
    said = np.zeros((len(keys), len(labels)), dtype=bool)
    if len(keys):
        said[where, np.concatenate(pair_coder)] = True
    pair_unit, pair_code = np.divmod(keys, max(len(paths), 1))
    said_kinds, said_no = np.unique(said, axis=0, return_inverse=True)
    return pair_unit, pair_code, said_no.reshape(-1), [tuple(bool(x) for x in k) for k in said_kinds]


def _unit_kinds(
    pair_unit: np.ndarray, said_no: np.ndarray, patterns: list[tuple[ag.Label, ...]], n_units: int, n_codes: int, m: int
) -> Counter[ag.Kind]:
    """For the pooled row, resampled by unit: each make-up of a unit (how many of its codes show each pattern
    of yes/no, see :func:`_pairs`) and how many units have it."""
    nobody: tuple[ag.Label, ...] = (False,) * m
    by_unit, times = np.unique(np.stack([pair_unit, said_no], axis=1), axis=0, return_counts=True)
    unit_pats: dict[int, list[tuple[tuple[ag.Label, ...], int]]] = {}
    for (i, k), n in zip(by_unit.tolist(), times.tolist(), strict=True):
        unit_pats.setdefault(i, []).append((patterns[k], n))
    kinds: Counter[ag.Kind] = Counter()
    for got in unit_pats.values():
        kinds[(*got, (nobody, n_codes - sum(n for _, n in got)))] += 1
    kinds[((nobody, n_codes),)] += n_units - len(unit_pats)
    return kinds


def agree(
    store: Store,
    coders: Sequence[str],
    *,
    unit: str = "segment",
    coverage: str = "documents",
    depth: int | None = None,
    reliable: float = 0.800,
    tentative: float = 0.667,
    n_boot: int = 1000,
    seed: int = 0,
    disagreements: bool = False,
    max_draws: int | None = ag.MAX_DRAWS,
) -> AgreeResult:
    """Agreement of two or more coders on the presence of each code in each unit, and on the code set.

    A row whose units show very many different patterns (the code set on a large project) gets fewer than
    ``n_boot`` resamples, at least 200 (``ag.resamples_for``; ``max_draws=None``: never); its
    ``summary.resamples`` says how many."""

    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}")
    if coverage not in COVERAGE:
        raise ValueError(f"coverage must be one of {COVERAGE}")
    names = list(dict.fromkeys(c.strip() for c in coders))
    if len(names) < 2:
        raise InputError("agreement needs two or more different coders", hint="e.g. --coder ana --coder ben")
    if not tentative <= reliable:
        raise InputError(
            f"the tentative threshold ({tentative}) is above the reliable one ({reliable})",
            hint="e.g. --reliable 0.8 --tentative 0.667",
        )
    book = current_codebook(store)
    segs = store.segment_keys()  # their places only: the texts are read for disagreements alone
    codings = [coding_of(store, n, coverage=coverage, depth=depth, segments=segs) for n in names]
    table = _Table.of(segs, codings, unit, coverage)
    labels, n_units, m = table.labels, table.counted, len(codings)
    paths = _code_order(book, set().union(*(x for lab in labels for x in lab.values())))
    pair_unit, pair_code, said_no, patterns = _pairs(labels, paths)
    nobody: tuple[ag.Label, ...] = (False,) * m

    def row_for(code: str, s: ag.Summary, coded_by: list[int]) -> CodeAgreement:
        return CodeAgreement(
            code=code,
            coded_by=coded_by,
            summary=s,
            prevalence=s.shares.get(True, math.nan),
            verdict=ag.verdict(s.alpha, reliable=reliable, tentative=tentative),
        )

    per_code = np.zeros((len(paths), len(patterns)), dtype=np.int64)
    np.add.at(per_code, (pair_code, said_no), 1)
    rows = []
    for j, p in enumerate(paths):
        counts: Counter[tuple[ag.Label, ...]] = Counter({patterns[k]: int(n) for k, n in enumerate(per_code[j]) if n})
        counts[nobody] += n_units - int(per_code[j].sum())
        s = ag.summarise_patterns(counts, m, categories=[False, True], n_boot=n_boot, seed=seed, max_draws=max_draws)
        rows.append(row_for(p, s, [sum(n for pat, n in counts.items() if pat[c]) for c in range(m)]))
    pooled = None
    if paths:
        # every (unit, code) pair, resampled by unit: per unit, how many codes show each pattern of yes/no
        kinds = _unit_kinds(pair_unit, said_no, patterns, n_units, len(paths), m)
        total: Counter[tuple[ag.Label, ...]] = Counter(
            {pat: int(n) for pat, n in zip(patterns, per_code.sum(axis=0).tolist(), strict=True)}
        )
        total[nobody] += n_units * len(paths) - int(per_code.sum())
        s = ag.summarise_patterns(
            total, m, categories=[False, True], n_boot=n_boot, seed=seed, clusters=kinds, max_draws=max_draws
        )
        pooled = row_for(f"all {len(paths)} codes, pooled", s, [sum(r.coded_by[c] for r in rows) for c in range(m)])
    coded = set().union(*labels)
    sets: Counter[tuple[ag.Label, ...]] = Counter(tuple(tuple(sorted(lab.get(i, ()))) for lab in labels) for i in coded)
    sets[((),) * m] += n_units - len(coded)
    whole = ag.summarise_patterns(sets, m, n_boot=n_boot, seed=seed, max_draws=max_draws)
    exact = CodeAgreement(
        code="code set per unit, exact match",
        coded_by=[len(lab) for lab in labels],
        summary=whole,
        prevalence=math.nan,
        verdict=ag.verdict(whole.alpha, reliable=reliable, tentative=tentative),
    )

    warnings = blindness(store, names)
    for c in codings:
        learned_from = c.run.learned_from if c.run is not None else None
        if learned_from in names:
            warnings.append(
                f"{c.name} learned from {learned_from}'s decisions: its agreement with {learned_from} is not "
                "independent of them"
            )
        if c.pending:
            warnings.append(
                f"{c.name} has {c.pending} unanswered suggestion(s) in the documents counted as reviewed; "
                "their sentences count as not coded (finish the review, or use --coverage decided)"
            )
    context = store.context_codings()
    for n in names:
        if context.get(n):
            warnings.append(
                f"{n} has {context[n]} coding(s) on interviewer speech (kept from an import); agreement counts "
                "participant sentences only, so they are left out here"
            )
    if not n_units:
        warnings.append("no unit was reviewed by every chosen coder")

    found: list[Disagreement] = []
    if disagreements:
        unit_segs: dict[int, list[SegmentKey]] = {}
        for s_, i in zip(segs, table.row.tolist(), strict=True):
            if i in coded:
                unit_segs.setdefault(i, []).append(s_)
        texts = (
            store.segment_texts(x.id for ss in unit_segs.values() for x in ss) if unit in ("segment", "turn") else {}
        )
        for i in sorted(coded):
            first = unit_segs[i][0]
            text = " ".join(texts[s.id] for s in unit_segs[i]) if unit in ("segment", "turn") else ""
            unit_codes = set().union(*(lab.get(i, set()) for lab in labels))
            for p in _code_order(book, unit_codes):
                yes = [names[c] for c in range(m) if p in labels[c].get(i, ())]
                if len(yes) < m:
                    found.append(
                        Disagreement(
                            unit=_unit_label(unit, first),
                            document=first.document,
                            participant=first.participant,
                            segment_id=first.id if unit == "segment" else None,
                            text=text,
                            code=p,
                            coded_by=yes,
                            not_coded_by=[n for n in names if n not in yes],
                        )
                    )

    return AgreeResult(
        coders=names,
        unit=unit,
        coverage=coverage,
        depth=depth,
        units_total=table.units,
        units_included=n_units,
        not_reviewed=table.not_reviewed,
        rows=rows,
        pooled=pooled,
        exact=exact,
        reliable=reliable,
        tentative=tentative,
        n_boot=n_boot,
        seed=seed,
        warnings=warnings,
        disagreements=found,
        codings=codings,
        machines={c.name: describe_run(c.run) for c in codings if c.run is not None},
    )
