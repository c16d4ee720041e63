"""A simulated reviewer that answers suggestions from a gold coding, to draw learning curves.

The reviewer works through `coder review`'s queue (document order, or uncertain-first) and answers
each item from the gold coding: accept when the gold has that code on that sentence, reject
otherwise; when a sentence she reviews has gold codes nobody suggested, she adds them with `c`,
as a careful coder would. Every `learn_every` decisions the reviewer's learned run is re-fitted (when enabled).

The documents are split in two: the reviewer works on one half only, and agreement is always
measured on the other half, which nobody reviews (exact-code micro F1 and Cohen's κ, the mean over
codes with gold). The evaluation set is fixed, so checkpoints and arms compare fairly, and a learner
is never scored on its own training data.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coder import evaluate as ev
from coder import suggest as sg
from coder.app import Project
from coder.app import review as rv
from coder.app.session import ReviewSession
from coder.app.views import ViewSegment
from coder.store import Store

SIM = "simulated"


@dataclass
class Point:
    decisions: int
    reviewed: int
    f1: float
    kappa: float
    precision: float
    recall: float


def machine_codings(project: Project, use_learned: bool) -> set[tuple[int, str]]:
    """The (sentence, code) pairs the machine suggests now: the simulated reviewer's learned run's when asked
    and fitted (whichever learner), else the zero-shot run's."""
    with Store(project.path) as store:  # every suggestion with its suggester: below what Project reports
        run = store.learned_run(SIM) if use_learned else None
        want = run.suggester if run is not None else sg.SUGGESTER
        return {(r.segment_id, r.code_path) for r in store.suggestions(for_coders=[SIM]) if r.suggester == want}


def agreement(
    project: Project, gold: set[tuple[int, str]], units: list[int], codes: list[str], learned: bool
) -> tuple[float, float, float, float]:
    """Machine vs gold on the held-out units (exact code): micro F1, mean κ over codes, precision, recall."""
    keep = set(units)
    pred = {p for p in machine_codings(project, learned) if p[0] in keep}
    g = {x for x in gold if x[0] in keep}
    rows = ev.by_code(g, pred, units, codes)
    p, r, f = ev.micro(rows)
    kappas = [x.kappa for x in rows if x.gold and x.kappa == x.kappa]
    return f, float(np.mean(kappas)) if kappas else 0.0, p, r


def simulate(
    project: Project,
    gold: set[tuple[int, str]],
    *,
    order: str,
    learn: bool,
    budget: int,
    learn_every: int = 50,
    every: int = 50,
    max_reviewed: int | None = None,
) -> list[Point]:
    """Review up to `budget` decisions (or until `max_reviewed` sentences are seen); a point every `every`."""
    # Every other document is held out: never reviewed, always the evaluation set.
    docs = sorted(project.documents(), key=lambda d: d.name)
    held_ids = {d.id for d in docs[1::2]}
    units = [s.id for d in project.documents() if d.id in held_ids for s in coded_sentences(project, d.id)]
    with Store(project.path) as store:  # what the machine suggests, and what this reviewer answered before
        codes = sorted({r.code_path for r in store.suggestions()} | {c for _, c in gold})
        decided = {(r.segment_id, r.code_path) for r in store.decisions(coder=SIM)}
    gold_by_seg: dict[int, set[str]] = defaultdict(set)
    for seg, code in gold:
        gold_by_seg[seg].add(code)
    touched: set[int] = set()
    done = 0
    points = [Point(0, 0, *agreement(project, gold, units, codes, learn))]
    since_learn = 0
    next_point = every
    while done < budget:
        # learning is the simulation's to time (every `learn_every` answers), not the session's
        session = project.review(SIM, order=order, learn_every=0)
        items = reviewable(session, lambda i: i.document_id not in held_ids)
        if not items:
            break
        for item in items[: learn_every if learn else len(items)]:
            if item.code_path in gold_by_seg[item.segment_id]:
                session.accept(item)
            else:
                session.reject(item, reason="wrong code")
            decided.add((item.segment_id, item.code_path))
            done += 1
            if item.segment_id not in touched:
                touched.add(item.segment_id)
                for code in gold_by_seg[item.segment_id]:  # the reviewer adds what nobody suggested
                    if (item.segment_id, code) not in decided:
                        session.apply_code(item.segment_id, code)
                        decided.add((item.segment_id, code))
                        done += 1
            since_learn += 1
            if done >= next_point or done >= budget:
                next_point += every
                if learn and since_learn:
                    project.learn(coder=SIM)
                    since_learn = 0
                points.append(Point(done, len(touched), *agreement(project, gold, units, codes, learn)))
            if done >= budget or (max_reviewed is not None and len(touched) >= max_reviewed):
                budget = done  # stop: the outer loop ends too
                break
        if learn and since_learn:
            project.learn(coder=SIM)
            since_learn = 0
    return points


def reviewable(session: ReviewSession, keep: Callable[[rv.Item], bool]) -> list[rv.Item]:
    """The ``session``'s items the simulated reviewer may answer, in the order its queue gives a project of those
    alone: its random sample (``--order uncertain``) would also offer held-out sentences, which she passes over.
    The sample's rhythm goes on from her last session, as the review session keeps it."""
    kept = [i for i in session.pending() if keep(i)]
    if not session.samples:
        return kept
    return rv.with_sample(sorted(kept, key=rv.sort_key(session.order)), since=session.state.since_sample)


def coded_sentences(project: Project, document_id: int) -> list[ViewSegment]:
    """A document's participant sentences (the units), in order."""
    return [s for t in project.document_view(document_id).turns for s in t.segments if s.coded]


def fresh_copy(path: Path, to: Path) -> Project:
    """A project on a copy of a closed project file: each arm starts from the same suggestions, with no
    decisions by the simulated reviewer and no learned run. A -wal or -shm file left at ``to`` by a killed run
    is removed first: SQLite would read it as part of the new copy ("database disk image is malformed")."""
    for side in (to.with_name(to.name + "-wal"), to.with_name(to.name + "-shm")):
        side.unlink(missing_ok=True)
    shutil.copyfile(path, to)
    return Project(to)


# -- AnnoMI -----------------------------------------------------------------------------------

ANNOMI = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "annomi-dev" / "annomi-dev.csv"
CODEBOOKS = Path(__file__).resolve().parent / "codebooks"
SIDES = {
    # coded speaker: (codebook, label column, label -> code, the other speaker, treated as context)
    "client": (
        "mi-client-talk.yaml",
        "client_talk_type",
        {"change": "Change talk", "sustain": "Sustain talk", "neutral": "Neutral talk"},
        "therapist",
    ),
    "therapist": (
        "mi-therapist-behaviour.yaml",
        "main_therapist_behaviour",
        {"reflection": "Reflection", "question": "Question", "therapist_input": "Therapist input", "other": "Other"},
        "client",
    ),
}


def annomi_project(
    folder: Path, embedder, *, side: str = "client", transcripts: int | None = None
) -> tuple[Project, set[tuple[int, str]]]:
    """Import AnnoMI with one side's utterances as units (the other side as context); map the expert labels."""
    codebook, column, mapping, other = SIDES[side]
    from coder.transcripts import ReadOptions

    src = ANNOMI
    if transcripts is not None:  # a subset for --quick
        with ANNOMI.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        keep = sorted({r["transcript_id"] for r in rows}, key=int)[:transcripts]
        src = folder / "annomi-subset.csv"
        with src.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(r for r in rows if r["transcript_id"] in keep)
    project = Project(folder / f"annomi-{side}.db", create=True)
    opts = ReadOptions(
        document_column="transcript_id",
        speaker_column="interlocutor",
        text_column="utterance_text",
        # no timestamp column: AnnoMI row 2250 has "00:09:025", which import rightly refuses
        interviewers=frozenset({other}),
    )
    project.import_files([src], options=opts, unit="turn")
    project.load_codebook(CODEBOOKS / codebook)
    project.suggest(embedder)
    # gold: the n-th turn of the coded side in a transcript is its n-th row on that side
    with src.open(encoding="utf-8") as fh:
        labels: dict[str, list[str]] = defaultdict(list)
        for r in csv.DictReader(fh):
            if r["interlocutor"] == side and r["utterance_text"].strip():
                labels[r["transcript_id"]].append(mapping[r[column]])
    gold: set[tuple[int, str]] = set()
    for d in project.documents():
        key = d.name.split("#", 1)[1]
        turns = [t for t in project.document_view(d.id).turns if t.role == "participant"]
        for i, t in enumerate(turns):
            gold |= {(s.id, labels[key][i]) for s in t.segments if s.coded}
    return project, gold


def plot(curves: dict[str, list[Point]], title: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for name, pts in curves.items():
        xs = [p.decisions for p in pts]
        axes[0].plot(xs, [p.f1 for p in pts], marker="o", ms=3, label=name)
        axes[1].plot(xs, [p.kappa for p in pts], marker="o", ms=3, label=name)
    axes[0].set_title("exact-code F1 vs gold (held-out documents)")
    axes[1].set_title("Cohen’s κ, mean over codes (held-out documents)")
    for ax in axes:
        ax.set_xlabel("decisions made")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def table(curves: dict[str, list[Point]]) -> str:
    """One row per checkpoint: decisions made (sentences reviewed) and F1 / κ of each arm."""
    lines = [
        "| decisions | " + " | ".join(f"{n}: F1 / κ (reviewed)" for n in curves) + " |",
        "| --- | " + " | ".join("---" for _ in curves) + " |",
    ]
    n = max(len(pts) for pts in curves.values())
    for i in range(n):
        cells, label = [], ""
        for pts in curves.values():
            if i < len(pts):
                p = pts[i]
                label = label or str(p.decisions)
                cells.append(f"{p.f1:.3f} / {p.kappa:.3f} ({p.reviewed})")
            else:
                cells.append("")
        lines.append(f"| ~{label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
