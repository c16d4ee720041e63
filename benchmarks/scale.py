"""Scale: time and peak memory of suggest, tally and agree at 1k, 10k and 100k segments; import of a long
transcript and a large survey CSV at three sizes (is it linear?).

Each measurement runs in its own process, so its peak RSS is its own. Synthetic text is fine here:
sentences are made by joining halves of two demo sentences, so lengths and vocabulary are realistic
and every text is new to the embedding cache.

    python benchmarks/scale.py            # prints the Markdown section
    python benchmarks/scale.py --quick    # 1k and 10k only
    python benchmarks/scale.py --agree-only    # coder agree alone, no model (add --quick for 1k and 10k)
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from coder.embed import set_offline_env  # noqa: E402

set_offline_env()


def demo_sentences() -> list[str]:
    import re

    from coder.app import Project

    files, _, _ = Project.demo_inputs()
    out = []
    for f in files:
        if f.suffix in (".txt", ".md"):
            for line in f.read_text(encoding="utf-8").splitlines():
                if ":" in line and not line.startswith("#"):
                    speech = line.split(":", 1)[1]
                    out += [s.strip() for s in re.split(r"(?<=[.?!])\s+", speech) if len(s.split()) >= 4]
    return out


def synthetic_sentences(n: int, seed: int = 0) -> list[str]:
    base = demo_sentences()
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        a, b = rng.choice(base).split(), rng.choice(base).split()
        s = " ".join(a[: max(2, len(a) // 2)] + b[len(b) // 2 :])
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def build(db: Path, n: int) -> None:
    """A project with n participant sentences in documents of 100 (one turn per sentence)."""
    from coder.app import Project
    from coder.segment import load_splitter

    sents = synthetic_sentences(n)
    folder = db.parent / f"docs-{n}"
    folder.mkdir(exist_ok=True)
    files = []
    for d in range(0, n, 100):
        lines = [f"# participant: S{d // 100:05d}"]
        for s in sents[d : d + 100]:
            lines += ["Interviewer: Go on.", f"S: {s}"]
        f = folder / f"doc{d // 100:05d}.txt"
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(f)
    with Project(db, create=True) as project:
        project.import_files(files, unit="turn", splitter=load_splitter("blank"))
        _, _, codebook = Project.demo_inputs()
        project.load_codebook(codebook)


def add_decisions(db: Path) -> int:
    """Two coders: each codes 30 % of the sentences with one leaf code (agreeing on about half), brought in
    as a decisions file (``coder decisions import``)."""
    from coder.app import Project
    from coder.store import Store

    with Store(db) as store:  # a decisions file names sentences by offsets: read them from the project
        segs = store.segments(coded_only=True)
    rng = random.Random(1)
    with Project(db) as project:
        leaves = [c.path for c in project.codebook().leaves()]
        rows = []
        for s in segs:
            if rng.random() < 0.3:
                code = rng.choice(leaves)
                rows.append(("ana", s.document, s.start, s.end, code, "accept"))
                other = code if rng.random() < 0.5 else rng.choice(leaves)
                rows.append(("ben", s.document, s.start, s.end, other, "accept"))
        return import_decisions(project, rows, db.with_suffix(".decisions.csv"))


def import_decisions(project, rows: list[tuple[str, str, int, int, str, str]], path: Path) -> int:
    """(coder, document, start, end, code, answer) rows brought in through a decisions file; returns how many
    were added."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["coder", "document", "start", "end", "code", "answer"])
        w.writerows(rows)
    added = project.import_decisions(path).added
    path.unlink()
    return added


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would include the parent's
    memory from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(db: Path, what: str) -> dict[str, float]:
    """Run one measured step in this process; returns seconds and this process's peak RSS."""
    from coder.app import Project

    project = Project(db)
    t0 = time.perf_counter()
    extra: dict[str, float] = {}
    if what == "suggest":
        from coder.embed import load_embedder

        embedder = load_embedder()
        t0 = time.perf_counter()  # the model load is not the work being scaled
        r = project.suggest(embedder)
        extra = {"embedded": r.run.embedded, "embed_s": r.embed_seconds}
    elif what == "tally":
        project.tally(coders=["ana"])
    elif what == "agree":
        project.agree(["ana", "ben"])
    seconds = time.perf_counter() - t0
    project.close()
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), **extra}


def run_step(db: Path, what: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--step", what, "--db", str(db)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_import(sizes_chars: list[int], sizes_rows: list[int]) -> list[str]:
    rows = []
    sents = synthetic_sentences(40_000, seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes_chars:
            lines, size, i = ["# participant: L1"], 0, 0
            while size < n:
                turn = " ".join(sents[i : i + 4])
                i += 4
                line = f"Interviewer: And then?\nP: {turn}"
                lines.append(line)
                size += len(line) + 1
            f = Path(tmp) / f"long{n}.txt"
            f.write_text("\n".join(lines)[:n] + "\n", encoding="utf-8")
            rows.append(("transcript", f"{n:,} characters", _import_time(f, Path(tmp) / f"l{n}.db", survey=False)))
        for n in sizes_rows:
            f = Path(tmp) / f"survey{n}.csv"
            with f.open("w", encoding="utf-8", newline="") as fh:
                import csv

                w = csv.writer(fh)
                w.writerow(["respondent", "answer"])
                for r in range(n):
                    w.writerow([f"R{r // 10:04d}", sents[r]])
            rows.append(
                (
                    "survey CSV",
                    f"{n:,} rows ({n // 10:,} respondents)",
                    _import_time(f, Path(tmp) / f"s{n}.db", survey=True),
                )
            )
    lines = [
        "### Import (spaCy parser, the default), three sizes each\n",
        "Each in a fresh process, timed after spaCy has loaded; peak RSS includes spaCy. Linear growth shows as "
        "a steady cost per extra 1,000 units between sizes.\n",
        "| input | size | seconds | extra seconds per extra 1,000 units | peak RSS |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    prev: dict[str, tuple[float, float]] = {}
    for kind, size, r in rows:
        unit = float(size.split()[0].replace(",", ""))
        slope = ""
        if kind in prev:
            u0, s0 = prev[kind]
            slope = f"{1000 * (r['seconds'] - s0) / (unit - u0):.3f} s"
        prev[kind] = (unit, r["seconds"])
        lines.append(f"| {kind} | {size} | {r['seconds']:.1f} | {slope} | {r['rss_mb']:.0f} MB |")
    return lines


def _import_time(f: Path, db: Path, survey: bool) -> dict[str, float]:
    """Import one file in a fresh process; spaCy is loaded first and not timed."""
    csv_opts = "dict(document_column='respondent', text_column='answer')" if survey else "dict()"
    code = (
        "import json,sys,time\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from scale import peak_rss_mb\n"
        "from pathlib import Path\n"
        "from coder.app import Project\n"
        "from coder.segment import load_splitter\n"
        "from coder.transcripts import ReadOptions\n"
        "split = load_splitter()\n"
        f"project = Project(Path({str(db)!r}), create=True)\n"
        "t = time.perf_counter()\n"
        f"project.import_files([Path({str(f)!r})], options=ReadOptions(**{csv_opts}), splitter=split)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'rss_mb': peak_rss_mb()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(quick: bool = False) -> str:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    lines = [
        "## Scale: suggest, tally and agree at 1k / 10k / 100k segments\n",
        "Synthetic sentences (halves of two demo sentences joined), one turn each, in documents of 100; the demo "
        "codebook (84 codes); for tally and agree, two coders each coding 30 % of the sentences with one leaf code. "
        "Each step runs in its own process: its time (model loading excluded) and its peak RSS (model included). "
        "Default backend (auto).\n",
        "| segments | suggest | segments/s | suggest peak RSS | tally | tally RSS | agree | agree RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            db = Path(tmp) / f"scale{n}.db"
            t0 = time.perf_counter()
            build(db, n)
            add_decisions(db)
            print(f"  built {n}: {time.perf_counter() - t0:.0f}s", flush=True)
            s = run_step(db, "suggest")
            t = run_step(db, "tally")
            a = run_step(db, "agree")
            lines.append(
                f"| {n:,} | {s['seconds']:.1f} s | {n / s['seconds']:,.0f} | {s['rss_mb']:,.0f} MB | "
                f"{t['seconds']:.2f} s | {t['rss_mb']:,.0f} MB | {a['seconds']:.2f} s | {a['rss_mb']:,.0f} MB |"
            )
            print(lines[-1], flush=True)
    lines.append("")
    if quick:
        lines += bench_import([50_000, 100_000], [1_000, 2_000])
    else:
        lines += bench_import([75_000, 150_000, 300_000], [2_500, 5_000, 10_000])
    return "\n".join(lines) + "\n"


def agree_only(sizes: list[int]) -> str:
    """``coder agree`` alone at each size, on the same projects as :func:`report` but without suggest (no
    model): quick to rerun after a change to agreement."""
    lines = ["| segments | agree | agree RSS |", "| ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            db = Path(tmp) / f"scale{n}.db"
            build(db, n)
            add_decisions(db)
            a = run_step(db, "agree")
            lines.append(f"| {n:,} | {a['seconds']:.2f} s | {a['rss_mb']:,.0f} MB |")
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--agree-only", action="store_true", help="time coder agree alone (no model needed)")
    ap.add_argument("--step", choices=["suggest", "tally", "agree"])
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(step(args.db, args.step)))
    elif args.agree_only:
        print(agree_only([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]))
    else:
        print(report(quick=args.quick))
