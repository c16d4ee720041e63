"""Agreement benchmarks: the machine as a coder, against people.

- Demo corpus: the reference coding vs the zero-shot suggester (similarity.v2) at its default threshold.
- AnnoMI (../shared/benchmarks/annomi-dev): the experts' client-talk labels vs the machine after a
  simulated reviewer (answering from those labels, the default learner re-fitted every 50 decisions) has
  seen 0 %, 10 % and 20 % of the utterances. The expert labels are entered as coder ``expert`` on
  the held-out half of the transcripts only (the half nobody reviews), so ``coder agree`` counts
  exactly those utterances and the learner is never scored on what it was shown.

Run alone: ``python benchmarks/agree.py [--quick]`` prints the section; ``make bench`` includes it.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from coder import suggest as sg  # noqa: E402
from coder.app.learning import DEFAULT_LEARNER  # noqa: E402
from coder.embed import set_offline_env  # noqa: E402

set_offline_env()


def _f(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


def _ci(row) -> str:
    lo, hi = row.summary.alpha_ci
    return "" if math.isnan(lo) else f" [{lo:.3f}, {hi:.3f}]"


def _line(label: str, r) -> str:
    per_code = [x.summary.alpha for x in r.rows if not math.isnan(x.summary.alpha)]
    mean = sum(per_code) / len(per_code) if per_code else math.nan
    ok = sum(x.verdict == "reliable" for x in r.rows)
    tent = sum(x.verdict == "tentative" for x in r.rows)
    p = r.pooled
    return (
        f"| {label} | {r.units_included:,} | {len(r.rows)} | {100 * p.summary.percent:.1f}% | "
        f"{_f(p.summary.alpha)}{_ci(p)} | {_f(mean)} | {_f(r.exact.summary.alpha)} | {_f(p.summary.ac1)} | "
        f"{ok} / {tent} |"
    )


HEADER = [
    "| comparison | units | codes | % agreement (pooled) | α pooled [95% CI] | mean α per code | α code set | "
    "AC1 pooled | codes reliable / tentative |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def demo_section(project) -> list[str]:
    import quality

    project.import_decisions(quality.REFERENCE)
    lines = [f"### Demo corpus: reference coding vs {sg.SUGGESTER} (threshold 0.35, top 3)\n", *HEADER]
    timings = []
    results = []
    for label, unit, depth in (
        ("sentence, exact code", "segment", None),
        ("sentence, top-level category", "segment", 1),
        ("participant, second-level theme", "participant", 2),
    ):
        t0 = time.perf_counter()
        r = project.agree(["reference", "machine"], unit=unit, depth=depth)
        timings.append(time.perf_counter() - t0)
        results.append(r)
        lines.append(_line(label, r))
    lines += [
        "",
        f"`coder agree` over {results[0].units_total:,} sentences took {timings[0]:.2f} s for the exact-code report "
        "(84 codes, 1,000 bootstrap resamples each, plus the pooled and code-set rows).",
        "",
    ]
    return lines


def annomi_section(embedder, quick: bool) -> list[str]:
    import simulate

    lines = [
        "### AnnoMI client talk: expert labels vs the machine, after the reviewer saw 0 / 10 / 20 %\n",
        *HEADER,
    ]
    per_code: list[str] = []
    codes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        project, gold = simulate.annomi_project(Path(tmp), embedder, side="client", transcripts=20 if quick else None)
        docs = sorted(project.documents(), key=lambda d: d.name)
        held = docs[1::2]
        in_held = {s.id for d in held for s in simulate.coded_sentences(project, d.id)}
        expert = project.review("expert")
        for seg, code in sorted(gold):
            if seg in in_held:
                expert.apply_code(seg, code)
        n_units = project.counts().coded_segments
        seen = 0
        for pct in (0, 10, 20):
            target = round(pct / 100 * n_units)
            if target > seen:
                simulate.simulate(
                    project, gold, order="document", learn=True, budget=10 * n_units, every=10**9, max_reviewed=target
                )
                seen = target
            # the zero-shot suggester does not learn: its figures are those at 0 %
            learner = DEFAULT_LEARNER
            arms = [(f"machine:{learner}", learner)] if pct else [("machine", sg.SUGGESTER)]
            for coder, name in arms:
                r = project.agree(["expert", coder])
                lines.append(_line(f"{name}, {pct} % seen", r))
                codes = [x.code for x in r.rows]
                per_code.append(
                    f"| {name}, {pct} % seen | "
                    + " | ".join(f"{_f(x.summary.alpha)} / {_f(x.summary.ac1)}" for x in r.rows)
                    + " |"
                )
        project.close()
    lines += [
        "",
        f"Units: the client utterances of the held-out half of the transcripts ({len(held)} of {len(docs)}); "
        "the reviewer works on the other half only. '% seen' = utterances she has reviewed, of all. The "
        "experts give each utterance exactly one label, and so does the machine (the codebook marks the three "
        "codes exclusive). Code-set α is then the chance-corrected agreement on that one label. Pooled α "
        "counts (utterance, code) pairs, whose chance rate is fixed at one in three here, so it moves with "
        "% agreement alone: learned.v2's class-balanced model gives up some hits on the commonest label for "
        "hits on the rarer ones, which lowers % agreement and pooled α and raises the per-code and code-set α.",
        "",
        "| arm | " + " | ".join(f"{c}: α / AC1" for c in codes) + " |",
        "| --- |" + " ---: |" * len(codes),
        *per_code,
        "",
    ]
    return lines


def report(quick: bool = False) -> str:
    from run import demo_project

    from coder.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    out = [
        "## Agreement: the machine as a coder\n",
        "`coder agree` between a human coding and the machine (its suggestions above threshold). Pooled = "
        "every (unit, code) pair of the codes anyone used; its interval resamples whole units. Code set = "
        "exact match of the set of codes per unit. Verdicts use Krippendorff's thresholds (≥ .800 reliable, "
        "≥ .667 tentative).\n",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        project, _ = demo_project(Path(tmp))
        project.suggest(embedder)
        out += demo_section(project)
        project.close()
    out += annomi_section(embedder, quick)
    return "\n".join(out)


if __name__ == "__main__":
    print(report(quick="--quick" in sys.argv))
