"""The report of `benchmarks/curves.py`: tables, generated findings, plots and its RESULTS.md section."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import numpy as np
import run as bench_run  # machine(), commit(), peak_rss_mb() as `make bench` reports them
from curves_metrics import CALIBRATION_AT, CHECKPOINTS, LEARNERS, RELIABILITY_AT, Arm, Point, arm_spec, reliability

from coder import learn as lr
from coder import suggest as sg

HERE = Path(__file__).resolve().parent


def _stats(values: list[float]) -> tuple[float, float, int]:
    v = [x for x in values if x is not None and x == x]
    if not v:
        return float("nan"), float("nan"), 0
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v)


def cell(values: list[float]) -> str:
    m, s, n = _stats(values)
    return "–" if not n else f"{m:.3f} ± {s:.3f} ({n})"


def metric_table(ds, zero: Point, arms: list[Arm], attr: str, label: str) -> list[str]:
    head = "| arm | " + " | ".join(f"{c} %" for c in CHECKPOINTS) + " |"
    lines = [f"{label}:\n", head, "|---" * (len(CHECKPOINTS) + 1) + "|"]
    z = getattr(zero, attr)
    lines.append(f"| {sg.SUGGESTER} (zero-shot) | " + " | ".join(f"{z:.3f} (fixed)" for _ in CHECKPOINTS) + " |")
    older = (zero.older or {}).get(attr)
    if older is not None:
        fixed = " | ".join(f"{older:.3f} (fixed)" for _ in CHECKPOINTS)
        lines.append(f"| similarity.v1 (older zero-shot) | {fixed} |")
    for arm in arms:
        if arm.runs:
            cells = [cell([getattr(r[i], attr) for r in arm.runs]) for i in range(len(CHECKPOINTS))]
            lines.append(f"| {arm.name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def ece_table(datasets, zeros, arms_by) -> list[str]:
    cols = [f"{c} %" for c in CALIBRATION_AT]
    lines = [
        "| data set | arm | "
        + " | ".join(f"ECE every pair, {c} | ECE shown pairs, {c} | calibrated codes, {c}" for c in cols)
        + " |",
        "|---|---" + "|---" * (3 * len(cols)) + "|",
    ]
    for ds in datasets:
        z = zeros[ds.key]
        shown = f"{z.ece_shown:.3f}" if z.ece_shown is not None else "–"
        lines.append(
            f"| {ds.title} | reference: {sg.SUGGESTER} score through the fixed prior map (0 %) | "
            + " | ".join(f"{z.ece:.3f} | {shown} | (none: not fitted)" for _ in cols)
            + " |"
        )
        for arm in arms_by[ds.key]:
            if not arm.runs:
                continue
            cells = []
            for c in CALIBRATION_AT:
                pts = [p for r in arm.runs for p in r if p.pct == c]
                n_cal = [p.calibrated for p in pts]
                cal = f"{min(n_cal)}–{max(n_cal)}" if min(n_cal) != max(n_cal) else str(n_cal[0])
                cells.append(
                    f"{cell([p.ece for p in pts])} | {cell([p.ece_shown for p in pts])} | {cal} of {len(ds.codes)}"
                )
            lines.append(f"| {ds.title} | {arm.name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _mean(arm: Arm, i: int, attr: str = "kappa") -> float:
    return float(np.mean([getattr(r[i], attr) for r in arm.runs]))


def findings(ds, zero: Point, arms: list[Arm]) -> list[str]:
    """Plain statements from the numbers: where each learner is below zero-shot, and by how much."""
    out = []
    last = len(CHECKPOINTS) - 1
    for arm in arms:
        if not arm.runs:
            continue
        below, worse = [], []
        for i, c in enumerate(CHECKPOINTS[1:], start=1):
            ks = [r[i].kappa for r in arm.runs]
            n_below = sum(k < zero.kappa for k in ks)
            if _mean(arm, i) < zero.kappa:
                below.append(f"{c} % ({_mean(arm, i) - zero.kappa:+.3f}, {n_below} of {len(ks)} orders below)")
            elif n_below:
                worse.append(f"{c} % ({n_below} of {len(ks)})")
        best = max(range(1, len(CHECKPOINTS)), key=lambda i: _mean(arm, i))
        if below:
            verdict = "**below zero-shot** on average at " + ", ".join(below)
        else:
            verdict = "at or above zero-shot on average at every checkpoint"
            if worse:
                verdict += " (single orders below it at " + ", ".join(worse) + ")"
        if ds.kind == "single":
            detail = (
                f"no suggestion for {zero.unsuggested:.0%} of held-out units at 0 %, "
                f"{_mean(arm, last, 'unsuggested'):.0%} at {CHECKPOINTS[-1]} %"
            )
        else:
            detail = (
                f"precision / recall {zero.precision:.3f} / {zero.recall:.3f} at 0 %, "
                f"{_mean(arm, last, 'precision'):.3f} / {_mean(arm, last, 'recall'):.3f} at {CHECKPOINTS[-1]} %"
            )
        out.append(
            f"- {ds.title}, {arm.name}: {verdict}; κ {zero.kappa:.3f} → {_mean(arm, last):.3f} at "
            f"{CHECKPOINTS[-1]} % (best mean at {CHECKPOINTS[best]} %); {detail}."
        )
    return out


def summary(datasets, zeros, arms_by) -> list[str]:
    """The verdicts across data sets, generated from the same numbers as the tables."""
    out = ["**What the numbers say** (generated from the tables below, so it stays true after a re-run):\n"]
    for name in LEARNERS:
        ok, bad = [], []
        for ds in datasets:
            arm = next((a for a in arms_by[ds.key] if a.name == name and a.runs), None)
            if arm is None:
                continue
            z = zeros[ds.key].kappa
            gaps = [(c, _mean(arm, i) - z) for i, c in enumerate(CHECKPOINTS) if c and _mean(arm, i) < z]
            if gaps:
                lo, hi = min(g for _, g in gaps), max(g for _, g in gaps)
                at = ", ".join(f"{c} %" for c, _ in gaps)
                bad.append(f"{ds.title} (at {at}; by {-hi:.3f}–{-lo:.3f} κ)" if lo != hi else f"{ds.title} (at {at})")
            else:
                ok.append(ds.title)
        if not ok and not bad:
            continue
        line = f"- {name}: "
        if ok:
            line += "at or above zero-shot on average at every checkpoint on " + ", ".join(ok)
        if bad:
            line += ("; " if ok else "") + "**below zero-shot** on average on " + "; ".join(bad)
        line += (
            ". The requirement (at or above zero-shot at every point) "
            + ("holds on every data set measured" if not bad else "does **not** hold")
            + "."
        )
        cal = []
        for ds in datasets:
            arm = next((a for a in arms_by[ds.key] if a.name == name and a.runs), None)
            pts = [p for r in arm.runs for p in r if p.pct == RELIABILITY_AT] if arm else []
            eces = [p.ece for p in pts if p.ece is not None]
            if not pts:
                continue
            if eces:
                n_cal = [p.calibrated for p in pts if p.ece is not None]
                codes = f"{min(n_cal)}" if min(n_cal) == max(n_cal) else f"{min(n_cal)}–{max(n_cal)}"
                cal.append(
                    f"{ds.title} {np.mean(eces):.3f} (over the {codes} of {len(ds.codes)} codes it calibrated"
                    + (f"; {len(eces)} of {len(pts)} orders calibrated any" if len(eces) < len(pts) else "")
                    + ")"
                )
            else:
                cal.append(f"{ds.title}: no code calibrated in any order")
        out.append(line + f" ECE after {RELIABILITY_AT} %: " + "; ".join(cal) + ".")
    singles = [ds for ds in datasets if ds.kind == "single"]
    out += [
        "- Gold is one annotator per unit (AnnoMI, NHS) or one reference coding (demo): κ here is agreement with "
        "one person's coding, not accuracy.",
        "- The spread is over review orders only: the split and the held-out set are fixed, so it says how much "
        "the order matters, not how uncertain each κ is (see the held-out sizes).",
    ]
    if singles:
        out.append(
            f"- On AnnoMI an utterance with no suggestion counts as a disagreement: {sg.SUGGESTER} leaves "
            + ", ".join(f"{zeros[ds.key].unsuggested:.0%} ({ds.title})" for ds in singles)
            + f" of held-out utterances without one at its threshold {sg.DEFAULT_THRESHOLD}, so its κ is lower "
            "than the argmax-over-codes figure in ../shared/MODELS.md."
        )
    out.append("")
    return out


def plot_curves(datasets, zeros, arms_by, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 2
    rows = (len(datasets) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(11, 4 * rows), constrained_layout=True, squeeze=False)
    for ax, ds in zip(axes.ravel(), datasets, strict=False):
        ax.axhline(zeros[ds.key].kappa, color="grey", ls="--", label=f"{sg.SUGGESTER} (zero-shot)")
        for k, arm in enumerate(a for a in arms_by[ds.key] if a.runs):
            color = f"C{k}"
            ks = np.array([[p.kappa for p in r] for r in arm.runs])
            for r in ks:
                ax.plot(CHECKPOINTS, r, color=color, lw=0.6, alpha=0.35)
            ax.fill_between(CHECKPOINTS, ks.min(axis=0), ks.max(axis=0), color=color, alpha=0.15)
            ax.plot(CHECKPOINTS, ks.mean(axis=0), color=color, marker="o", label=f"{arm.name} (mean of {len(ks)})")
        ax.set_title(ds.title + (" (κ of the best code)" if ds.kind == "single" else " (pooled presence κ)"))
        ax.set_xlabel("% of the review half's units reviewed")
        ax.set_ylabel("κ on held-out units")
        ax.set_xticks(CHECKPOINTS)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.ravel()[len(datasets) :]:
        ax.axis("off")
    fig.suptitle("Learning curves: thin lines = single review orders, band = min–max")
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_reliability(datasets, zeros, arms_by, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 2
    rows = (len(datasets) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(10, 4.5 * rows), constrained_layout=True, squeeze=False)
    for ax in axes.ravel()[len(datasets) :]:
        ax.axis("off")
    for ax, ds in zip(axes.ravel(), datasets, strict=False):
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":")
        series = [(f"{sg.SUGGESTER} prior, 0 %", zeros[ds.key].reliability, "grey")]
        for k, arm in enumerate(a for a in arms_by[ds.key] if a.runs):
            pts = [p.reliability for r in arm.runs for p in r if p.pct == RELIABILITY_AT and p.reliability]
            if pts:
                joined = (np.concatenate([p[0] for p in pts]), np.concatenate([p[1] for p in pts]))
                orders = f"{len(pts)} order{'s' if len(pts) != 1 else ''}"
                series.append((f"{arm.name}, {RELIABILITY_AT} % ({orders})", joined, f"C{k}"))
        for label, data, color in series:
            if data is None:
                continue
            bins = reliability(*data)
            total = sum(b[2] for b in bins)
            ax.plot([b[0] for b in bins], [b[1] for b in bins], color=color, label=label)
            ax.scatter(  # area by the bin's share of pairs: most pairs sit in the lowest bin
                [b[0] for b in bins],
                [b[1] for b in bins],
                s=[8 + 300 * (b[2] / total) ** 0.5 for b in bins],
                color=color,
            )
        ax.set_title(ds.title, fontsize=10)
        ax.set_xlabel("probability shown")
        ax.set_ylabel("share with the code in gold")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        f"Reliability after {RELIABILITY_AT} %: held-out (unit, code) pairs of the codes each run calls calibrated\n"
        "(10 equal-width bins, pooled over review orders; dot area ~ √share of pairs)"
    )
    fig.savefig(out, dpi=100)
    plt.close(fig)


def dirty() -> bool:
    """Whether coder/ differs from the commit (another engineer's work in progress is being measured)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", "coder"], cwd=HERE.parent, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return bool(out.strip())


def provenance() -> tuple[str, bool, str]:
    """(commit, uncommitted changes to coder/?, hash of coder/'s Python sources): what is being measured."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((HERE.parent / "coder").rglob("*.py")):
        h.update(str(f.relative_to(HERE.parent)).encode() + b"\0" + f.read_bytes())
    return bench_run.commit(), dirty(), h.hexdigest()[:12]


def provenance_line(start: tuple[str, bool, str], end: tuple[str, bool, str]) -> str:
    commit, changed, digest = start
    line = f"commit: {commit}" + (" **plus uncommitted changes to coder/**" if changed else "")
    line += f"; coder/ sources sha256 {digest}"
    if end != start:
        line += (
            f" at the start. **coder/ changed while this ran** (at the end: commit {end[0]}"
            + (", uncommitted changes" if end[1] else "")
            + f", sources {end[2]}): the figures are of the code loaded at the start"
        )
    return line


def section(
    args, datasets, zeros, arms_by, notes: list[str], seconds: float, model: str, refit_pct: float, source: str
) -> str:
    settings = {arm_spec(a.name)[0]: a.setting for arms in arms_by.values() for a in arms if a.setting}
    cmd = "make bench-quality" + (" QUICK=1" if args.quick else "")
    runs = args.runs
    lines = [
        "## Learning curves and calibration (`make bench-quality`)\n",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; {source}",
        f"- machine: {bench_run.machine()}",
        f"- CPU flags: {bench_run.cpu_flags()}",
        f"- embeddings: `{model}`; command: `{cmd}`"
        + (" (**quick: small subsets, for checking the script, not for conclusions**)" if args.quick else "")
        + f"; {seconds / 60:.1f} min; peak RSS {bench_run.peak_rss_mb():.0f} MB\n",
        "**How it is measured.** Each data set's documents (transcripts, survey answers) are split once, with a "
        "fixed seed, into a *review* half and a *held-out* half of about equal size in units. A simulated reviewer "
        "works only on the review half, through the real review session (`project.review(…, learn_every=0)`): "
        f"{runs} distinct random orders of the documents (seeded; each starting with a different document, "
        "as the first documents decide the early checkpoints). On each unit she answers every pending "
        "suggestion from the gold coding (accept if gold has the code, else reject) and adds the gold codes "
        f"nobody suggested by hand. The arm '…, uncertain first' instead answers the review half's queue in the "
        "order `coder review --order uncertain` gives (the model's least certain suggestions first, across all "
        "its documents; where the codebook has an exclusive set, every fourth place given to the next sentence of its "
        "random sample, taken over the review half, the count going on from one checkpoint's session to the next), "
        "adding a unit's unsuggested gold codes on its first answer, until the same share of "
        "units has been touched; that order is the model's, not drawn, so it runs once. "
        f"The learner is re-fitted from her decisions only, after every {refit_pct:g} % "
        "of the review half's units (each checkpoint included). Every figure is computed on the held-out half, "
        "which nobody reviews, so no label of an evaluation document reaches training (the script asserts after "
        "each checkpoint that every decision lies in the review half). Checkpoints are % of the review half's "
        "units reviewed; at 0 % no learned run exists and the learned arm *is* zero-shot. Every arm runs at the "
        f"shipped defaults ({sg.SUGGESTER}: centroid less {sg.CONTRAST:g} × the cosine to each code's exclusions and "
        f"counterexamples, threshold {sg.DEFAULT_THRESHOLD}, top {sg.DEFAULT_TOP_K}; "
        + "; ".join(f"{name}: {how}" for name, how in settings.items())
        + "); this script chooses nothing, on either half. similarity.v2's pull-away weight was chosen on the "
        "review halves of AnnoMI and the demo (benchmarks/NOTES.md); the older similarity.v1 row is the same "
        "run scored without it, in memory. similarity.v1's and learned.v1's defaults were chosen "
        "on the demo corpus (benchmarks/NOTES.md), partly on documents that are held out here, so their demo "
        "figures are not a clean test. learned.v2's gates (a code, or an exclusive set, learned only after 8 "
        "answers each way and only if it beats zero-shot on the coder's answers held out a third at a time, over "
        "all three and on none worse) were chosen after seeing this script's runs, the every-third rule after a "
        "full run where the demo fell to 0.168 and one AnnoMI client order to 0.159; the exclusive sets' "
        "multiclass model and its balanced pick were compared on the AnnoMI held-out halves. Its 2026-12-07 "
        "changes (a code's answers from two documents at least, held out by document; its cut chosen on "
        "held-out probabilities; for the codes not learned on their own, prototypes moved toward the coder's answers "
        "and one learned cut; a weaker penalty and cuts "
        "below 0.5 once a code's yes answers span five documents; and, after this script's uncertain-first arm "
        "fell below zero-shot on the demo, only rows answered in full from their document's start counting "
        "toward those five and training the codes not learned on their own) were "
        "chosen on the review halves only, each split again in two, after held-out runs had been seen "
        "(benchmarks/NOTES.md). So were its 2026-12-07 evening changes (each sentence's words as a second feature "
        "block for exclusive sets; and, once a code's yes answers span twenty documents, the gate over all "
        "held-out answers only, the cut at the code's base rate and the words block for that code), except that "
        "the demo's held-out half was looked at twice, each time to reject a variant: after 80 and 100 % of its "
        "review half for the twenty-document rule's first form (five documents), and in a full run of this "
        "script with words in every learned code, which fell below zero-shot there (benchmarks/NOTES.md). "
        "Its 2026-12-07 night change (an exclusive set's gate counting only rows answered in full from their "
        "document's start) followed a run of this script in which AnnoMI client talk "
        "reviewed uncertain first fell below zero-shot on the held-out half; it was checked on the review half "
        "split in two. That run was the first on AnnoMI read correctly: before it, 165 of the 9,271 utterances "
        "had been cut short at a comma after a quotation by a CSV parsing bug (benchmarks/NOTES.md). The random "
        "sample in the uncertain-first queue (each document's part of it answered without a gap counted as "
        "answered in full by exclusive sets) followed runs of this script in which therapist behaviour reviewed "
        "uncertain first stayed at zero-shot until 40 %; it was chosen on the review halves split in two, five "
        "ways, and held to exclusive sets after a run of this script in which, counted for every code, it took "
        "the demo reviewed uncertain first to 0.139 at 20 % (benchmarks/NOTES.md). "
        "So no learned.v2 figure "
        "here is a clean test: read them as what the shipped "
        "settings do on these data, not as an estimate for new data. "
        "A zero-shot suggester never reads "
        'decisions, so its κ is one number per data set ("fixed"). Cells: mean ± sample sd over review orders '
        "(n); every run is shown, none is dropped, and the plot draws each one.\n",
        "- *Single-label* (AnnoMI): multiclass Cohen's κ between the expert label and the machine's best "
        "suggested code (rank 1) per utterance; an utterance with no suggestion gets a class of its own, "
        '"(no suggestion)", which always disagrees. Second table: accuracy of the same.',
        "- *Multi-label* (NHS FFT, demo): pooled presence κ over every (held-out unit, code) pair of the "
        "codebook, and micro-F1 of exact codes.",
        "- *Calibration*: expected calibration error (10 equal-width bins) of the learned run's probabilities "
        "(`segment_scores`) against gold presence of the exact code, on held-out units, only for the codes the "
        "run says are calibrated on the coder's answers (`calibrated`; a run that does not say counts as all): "
        "over every (unit, code) pair of those codes, and over the pairs the review queue would show "
        "(suggested by either run). The reference row is the zero-shot score through the fixed map "
        f"sigmoid((score − {sg.DEFAULT_THRESHOLD}) / {lr.PRIOR_SCALE}) that orders the queue before any "
        "learning; it is fitted to nothing, so it is a baseline, not a calibrated probability.\n",
    ]
    lines += summary(datasets, zeros, arms_by)
    lines += [f"- note: {n}" for n in notes]
    if notes:
        lines.append("")
    lines.append("![learning curves](quality-curves.png)\n")
    for ds in datasets:
        z = zeros[ds.key]
        lines.append(
            f"### {ds.title}: {ds.review_units:,} review units, {len(ds.held_units):,} held-out units "
            f"({len(ds.review_docs)} / {ds.held_docs} documents)\n"
        )
        lines.append(ds.note + "\n")
        arms = arms_by[ds.key]
        if ds.kind == "single":
            lines += metric_table(ds, z, arms, "kappa", "Cohen's κ, expert label vs best suggested code")
            lines += metric_table(ds, z, arms, "f1", "Accuracy of the best suggested code")
        else:
            lines += metric_table(ds, z, arms, "kappa", "Pooled presence κ over (unit, code)")
            lines += metric_table(ds, z, arms, "f1", "Micro-F1, exact code")
        decs = [
            f"{arm.name} {c} %: {np.mean([r[i].decisions for r in arm.runs]):,.0f}"
            for arm in arms
            if arm.runs
            for i, c in enumerate(CHECKPOINTS)
            if c
        ]
        lines.append("Decisions made by then (mean over orders): " + "; ".join(decs) + ".\n")
        lines += [*findings(ds, z, arms), ""]
    lines.append("### Calibration on held-out units\n")
    lines += ece_table(datasets, zeros, arms_by)
    lines.append(f"![reliability after {RELIABILITY_AT} %](quality-reliability.png)\n")
    return "\n".join(lines)
