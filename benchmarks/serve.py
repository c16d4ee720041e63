"""Latency of the review page (`coder serve`): what a coder waits for after each key.

A real server on 127.0.0.1 in this process, requests over HTTP with urllib (cookie and CSRF header
like the page's script). Projects: the demo corpus with the packaged model's suggestions, and
synthetic projects of 10k / 100k sentences (benchmarks/scale.py's, 100 sentences per document)
whose suggestions come from the fake hash embedder: the page's cost depends on how many
suggestions and decisions there are, not on where they came from.

    python benchmarks/serve.py            # prints the Markdown section
    python benchmarks/serve.py --quick    # demo and 10k only
    python benchmarks/serve.py --smoke    # 2k synthetic only, no model: checks that it runs
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from coder.embed import set_offline_env  # noqa: E402

set_offline_env()


class Client:
    def __init__(self, server) -> None:
        from coder import web as sv

        self.base = server.base
        self.csrf = sv.csrf_token(server.token)
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.http.open(server.url).read()

    def get(self, path: str) -> float:
        t0 = time.perf_counter()
        with self.http.open(self.base + path) as r:
            r.read()
        return time.perf_counter() - t0

    def post(self, path: str, body: dict) -> tuple[float, dict]:
        req = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
        )
        t0 = time.perf_counter()
        with self.http.open(req) as r:
            data = json.load(r)
        return time.perf_counter() - t0, data


def ms(xs: list[float]) -> str:
    return f"{1000 * statistics.median(xs):.0f}"


def measure(db: Path, *, answers: int = 30, learn: bool = False) -> dict[str, str]:
    from coder import web as sv
    from coder.app import Project

    with Project(db) as project:
        doc = max(project.documents_progress("ana"), key=lambda d: d.suggested)
        items = project.review("ana", document_id=doc.id).pending()[:answers]
        counts = project.counts()
    server = sv.make_server(db, port=0, learn_every=len(items) if learn else 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = Client(server)
        q = "?coder=ana"
        out = {
            "sentences": f"{counts.coded_segments:,}",
            "suggestions": f"{counts.suggestions:,}",
            "doc": f"{doc.sentences} sentences, {doc.suggested} suggestions",
            "documents list": ms([c.get("/" + q) for _ in range(5)]),
            "document page": ms([c.get(f"/doc/{doc.id}{q}") for _ in range(5)]),
            "document state (/api/doc)": ms([c.get(f"/api/doc/{doc.id}{q}") for _ in range(5)]),
        }
        times = []
        learned = None
        for i, it in enumerate(items):
            t_start = time.perf_counter()
            t, _ = c.post(
                "/api/answer",
                {"coder": "ana", "segment_id": it.segment_id, "code_path": it.code_path, "answer": "accept"},
            )
            times.append(t)
            if learn and i == len(items) - 1:  # this answer started a re-fit beside the requests
                server.app.extensions["coder_web"].reviews.join()
                learned = time.perf_counter() - t_start
        out["answer (accept)"] = ms(times)
        out["undo"] = ms([c.post("/api/undo", {"coder": "ana", "document_id": doc.id})[0] for _ in range(5)])
        out["explain"] = ms(
            [
                c.get(f"/api/explain{q}&segment_id={it.segment_id}&code={urllib.parse.quote(it.code_path)}")
                for it in items[:5]
            ]
        )
        out["status card (/api/status, after each save)"] = ms([c.get("/api/status" + q) for _ in range(3)])
        out["status page"] = ms([c.get("/status" + q) for _ in range(3)])
        out["theme frequencies page"] = ms([c.get("/tally" + q) for _ in range(3)])
        out["agreement page (ana vs machine, 1,000 resamples)"] = ms([c.get("/agree" + q) for _ in range(2)])
        if learned is not None:
            out["re-fit of the coder's learned run (background, from the answer that starts it)"] = (
                f"{1000 * learned:.0f}"
            )
    finally:
        server.shutdown()
    return out


def synthetic(tmp: Path, n: int) -> Path:
    """n participant sentences in documents of 100, one turn each, made of halves of two demo sentences
    (benchmarks/scale.py's recipe), with the fake hash embedder's suggestions."""
    from coder.app import Project
    from coder.embed import HashEmbedder
    from coder.segment import load_splitter

    files, _, codebook = Project.demo_inputs()
    base = [
        s.strip()
        for f in files
        if f.suffix in (".txt", ".md")
        for line in f.read_text(encoding="utf-8").splitlines()
        if ":" in line and not line.startswith("#")
        for s in re.split(r"(?<=[.?!])\s+", line.split(":", 1)[1])
        if len(s.split()) >= 4
    ]
    rng = random.Random(0)
    sents: dict[str, None] = {}
    while len(sents) < n:
        a, b = rng.choice(base).split(), rng.choice(base).split()
        sents[" ".join(a[: max(2, len(a) // 2)] + b[len(b) // 2 :])] = None
    folder = tmp / f"docs-{n}"
    folder.mkdir()
    texts = list(sents)
    paths = []
    for d in range(0, n, 100):
        lines = [f"# participant: S{d // 100:05d}"]
        for s in texts[d : d + 100]:
            lines += ["Interviewer: Go on.", f"S: {s}"]
        paths.append(folder / f"doc{d // 100:05d}.txt")
        paths[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp / f"s{n}.db"
    with Project(db, create=True) as project:
        project.import_files(paths, unit="turn", splitter=load_splitter("blank"))
        project.load_codebook(codebook)
        project.suggest(HashEmbedder(), threshold=0.3)
    return db


def demo(tmp: Path) -> Path:
    """The demo corpus with the packaged pipeline and model (as `coder demo` builds it)."""
    from coder.app import Project
    from coder.embed import load_embedder
    from coder.segment import load_splitter

    files, participants, codebook = Project.demo_inputs()
    db = tmp / "demo.db"
    with Project(db, create=True) as project:
        project.import_files(files, splitter=load_splitter(), attributes=participants)
        project.load_codebook(codebook)
        project.suggest(load_embedder())
    return db


def section(quick: bool = False, smoke: bool = False) -> str:
    cols: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not smoke:
            print("  demo …", flush=True)
            cols["demo (packaged model)"] = measure(demo(Path(tmp)), learn=True)
        sizes = (2_000,) if smoke else (10_000,) if quick else (10_000, 100_000)
        for n in sizes:
            print(f"  {n:,} …", flush=True)
            cols[f"{n // 1000}k synthetic"] = measure(synthetic(Path(tmp), n), learn=smoke)
    names = list(cols)
    rows = list(next(iter(cols.values())))
    lines = [
        "## The review page: latency per request\n",
        "`coder serve` on 127.0.0.1, requests over HTTP from the same machine (median milliseconds; "
        "answers: 30 accepts in the document with the most suggestions). Each request opens the project "
        "file, does its work and closes it. On the demo project the last accept also starts a re-fit of the "
        "coder's learned run in a background thread, as the page does every 25 answers (here after 30); that answer "
        "does not wait for it.\n",
        "| | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    for r in rows:
        lines.append(f"| {r} | " + " | ".join(cols[n].get(r, "–") for n in names) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="demo and 10k only")
    ap.add_argument("--smoke", action="store_true", help="2k synthetic only, no model: checks that it runs")
    args = ap.parse_args()
    print(section(args.quick, args.smoke))
