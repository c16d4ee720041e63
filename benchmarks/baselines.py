"""Suggestion quality against baselines, on the demo reference coding and AnnoMI client talk.

Every method scores every (sentence, code); suggestions are the top 3 codes per sentence above a
threshold (a subcode replaces its parent when both pass), exactly as coder selects. The documents
are split in two, as in the simulated-reviewer benchmark: each baseline's threshold is chosen on one
half (the half the simulated reviewer works on) and every method is scored on the other half, which
nobody reviews. similarity.v2 (the default) and similarity.v1 centroids are shown both at the shipped
default threshold and at a threshold chosen the same way.

Methods:
- keyword: count of the code's terms (content words of its name and examples) in the sentence;
- TF-IDF: cosine between the sentence's TF-IDF vector and the mean of the code's exemplar vectors
  (NVivo's text-pattern autocoding works on word overlap of this kind);
- similarity.v2 centroid (the default zero-shot suggester: the centroid less 0.15 x the cosine to the
  code's exclusions and counterexamples), similarity.v1 centroid / max (sentence embeddings);
- the default learner after the simulated reviewer has seen 10 % and 20 % of the sentences.
"""

from __future__ import annotations

import csv
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from coder.app.learning import DEFAULT_LEARNER  # noqa: E402
from coder.embed import set_offline_env  # noqa: E402

set_offline_env()

from coder import evaluate as ev  # noqa: E402
from coder import suggest as sg  # noqa: E402
from coder.app import Project  # noqa: E402
from coder.app.suggesting import _cached_embed, embed_segments  # noqa: E402
from coder.embed import text_hash  # noqa: E402
from coder.store import Store  # noqa: E402

THRESHOLDS = {
    "keyword": [0.5, 1.5, 2.5, 3.5, 4.5],
    "TF-IDF": [round(x, 3) for x in np.arange(0.0, 0.42, 0.02)],
    "similarity.v2 centroid": [round(x, 3) for x in np.arange(0.0, 0.651, 0.025)],
    "similarity.v1 centroid": [round(x, 3) for x in np.arange(0.0, 0.651, 0.025)],
    "similarity.v1 max": [round(x, 3) for x in np.arange(0.1, 0.801, 0.025)],
}
WORD = re.compile(r"[a-z][a-z']+")


def _words(text: str) -> set[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out = set()
    for w in WORD.findall(text.lower()):
        if len(w) < 3 or w in ENGLISH_STOP_WORDS:
            continue
        out.add(w[:-1] if len(w) > 4 and w.endswith("s") else w)
    return out


@dataclass
class Corpus:
    name: str
    ids: np.ndarray
    texts: list[str]
    held: np.ndarray  # bool: the evaluation half
    gold: set[tuple[int, str]]
    codes: list[str]
    profile: sg.CodeProfile
    book: object


def corpus(project: Project, gold, embedder, name: str) -> Corpus:
    book = project.codebook()
    with Store(project.path) as store:  # sentences, vectors and code profiles: below what Project returns
        segs = store.segments(coded_only=True)
        embed_segments(store, embedder)
        profile = sg.build_profile(book, _cached_embed(store, embedder))
    docs = sorted({s.document for s in segs})
    held_docs = set(docs[1::2])
    return Corpus(
        name,
        np.array([s.id for s in segs]),
        [s.text for s in segs],
        np.array([s.document in held_docs for s in segs]),
        gold,
        [c.path for c in book.codes],  # type: ignore[attr-defined]
        profile,
        book,
    )


def scores(c: Corpus, project: Project, embedder) -> dict[str, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    book = c.book
    out = {}
    # keyword
    terms = []
    for code in book.codes:  # type: ignore[attr-defined]
        t = _words(code.name)
        for ex in code.examples:
            t |= _words(ex)
        terms.append(t)
    seg_words = [_words(t) for t in c.texts]
    out["keyword"] = np.array([[len(w & t) for t in terms] for w in seg_words], dtype=np.float32)
    # TF-IDF
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
    vec.fit(c.texts + list(c.profile.texts))
    seg_m = vec.transform(c.texts)
    ex_m = vec.transform(list(c.profile.texts))
    bounds = [*c.profile.starts.tolist(), len(c.profile.texts)]
    cent = np.vstack([np.asarray(ex_m[bounds[i] : bounds[i + 1]].mean(axis=0)) for i in range(len(c.codes))])
    cent /= np.clip(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12, None)
    out["TF-IDF"] = np.asarray(seg_m @ cent.T, dtype=np.float32)
    # embeddings
    with Store(project.path) as store:
        vecs = store.get_embeddings(embedder.model_id, [text_hash(t) for t in c.texts])
    mat = np.stack([vecs[text_hash(t)] for t in c.texts])
    out["similarity.v2 centroid"] = sg.score(mat, c.profile, "centroid", sg.contrast_of("similarity.v2")).scores
    out["similarity.v1 centroid"] = sg.score(mat, c.profile, "centroid").scores
    out["similarity.v1 max"] = sg.score(mat, c.profile, "max").scores
    return out


def predict(c: Corpus, s: np.ndarray, threshold: float, mask: np.ndarray) -> set[tuple[int, str]]:
    picks = sg.select(s[mask], c.profile, threshold=threshold, top_k=sg.DEFAULT_TOP_K)
    ids = c.ids[mask]
    return {(int(ids[i]), c.profile.paths[k]) for i, row in enumerate(picks) for k, _ in row}


def evaluate(c: Corpus, pred: set[tuple[int, str]], mask: np.ndarray) -> list[ev.Row]:
    units = c.ids[mask].tolist()
    keep = set(units)
    return ev.by_code({g for g in c.gold if g[0] in keep}, {p for p in pred if p[0] in keep}, units, c.codes)


def tuned(c: Corpus, s: np.ndarray, grid: list[float]) -> float:
    tune = ~c.held
    return max(grid, key=lambda t: ev.micro(evaluate(c, predict(c, s, t, tune), tune))[2])


@dataclass
class Result:
    method: str
    threshold: str
    rows: list[ev.Row]


def run(c: Corpus, project: Project, embedder, learned: dict[int, set[tuple[int, str]]]) -> list[Result]:
    sc = scores(c, project, embedder)
    out = []
    for name, grid in THRESHOLDS.items():
        t = tuned(c, sc[name], grid)
        out.append(Result(name, f"{t:g} (tuned)", evaluate(c, predict(c, sc[name], t, c.held), c.held)))
        if name in ("similarity.v2 centroid", "similarity.v1 centroid"):
            d = sg.DEFAULT_THRESHOLD
            out.append(Result(name, f"{d:g} (default)", evaluate(c, predict(c, sc[name], d, c.held), c.held)))
    for pct, pred in sorted(learned.items()):
        out.append(Result(f"{DEFAULT_LEARNER} after {pct} %", "its own", evaluate(c, pred, c.held)))
    return out


def learned_runs(project: Project, gold, c: Corpus, pcts=(10, 20)) -> dict[int, set[tuple[int, str]]]:
    """The default learner's suggestions after the simulated reviewer has seen each share of the sentences (the
    project is fresh: no one has reviewed it yet)."""
    import simulate

    out = {}
    n = len(c.ids)
    for pct in pcts:
        simulate.simulate(
            project, gold, order="document", learn=True, budget=10 * n, every=10**9, max_reviewed=round(pct / 100 * n)
        )
        out[pct] = simulate.machine_codings(project, use_learned=True)
    return out


def table(results: list[Result]) -> list[str]:
    lines = [
        "| method | threshold | micro P | micro R | micro F1 | macro P | macro R | macro F1 | macro κ |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        p, rc, f = ev.micro(r.rows)
        mp, mr, mf, mk = ev.macro(r.rows)
        lines.append(
            f"| {r.method} | {r.threshold} | {p:.3f} | {rc:.3f} | {f:.3f} | {mp:.3f} | {mr:.3f} | {mf:.3f} | {mk:.3f} |"
        )
    return lines


def per_code(results: list[Result], path: Path, corpus_name: str, mode: str) -> None:
    with path.open(mode, encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if mode == "w":
            w.writerow(
                ["corpus", "method", "threshold", "code", "gold", "predicted", "precision", "recall", "f1", "kappa"]
            )
        for r in results:
            for row in r.rows:
                w.writerow(
                    [corpus_name, r.method, r.threshold, row.label, row.gold, row.predicted]
                    + [f"{x:.4f}" for x in (row.precision, row.recall, row.f1, row.kappa)]
                )


def report(quick: bool = False) -> str:
    import quality
    import simulate
    from run import demo_project

    from coder.embed import load_embedder

    embedder = load_embedder()
    csv_path = HERE / "per-code-quality.csv"
    lines = [
        "## Quality against baselines\n",
        " ".join(__doc__.split("\n\n")[1].split()),
        "",
        *("- " + " ".join(item.split()) for item in __doc__.split("Methods:")[1].strip().lstrip("- ").split("\n- ")),
        "",
        f"Embeddings: {embedder.model_id}. Exact code path; micro = pooled over codes, macro = mean over codes "
        "with gold or predicted codings; κ per code over the evaluation sentences. Recall (micro R) is the share "
        "of gold codings the reviewer is shown. Per-code figures for every method: "
        f"`benchmarks/{csv_path.name}`.\n",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        project, _ = demo_project(Path(tmp))
        gold = quality.load_reference(project)
        project.suggest(embedder)  # the review queue the simulated reviewer works through
        c = corpus(project, gold, embedder, "demo")
        learned = {} if quick else learned_runs(project, gold, c, (10, 20))
        res = run(c, project, embedder, learned)
        lines += [f"### Demo corpus: {int(c.held.sum()):,} held-out sentences, {len(c.codes)} codes\n", *table(res), ""]
        per_code(res, csv_path, "demo", "w")
        project.close()
    with tempfile.TemporaryDirectory() as tmp:
        project, gold = simulate.annomi_project(Path(tmp), embedder, side="client", transcripts=12 if quick else None)
        c = corpus(project, gold, embedder, "annomi")
        learned = learned_runs(project, gold, c, (10,) if quick else (10, 20))
        res = run(c, project, embedder, learned)
        lines += [f"### AnnoMI client talk: {int(c.held.sum()):,} held-out utterances, 3 codes\n", *table(res), ""]
        lines += [
            "Per code (F1 / κ):\n",
            "| method | " + " | ".join(c.codes) + " |",
            "| --- |" + " ---: |" * len(c.codes),
        ]
        for r in res:
            cells = {row.label: f"{row.f1:.3f} / {row.kappa:.3f}" for row in r.rows}
            lines.append(f"| {r.method}, {r.threshold} | " + " | ".join(cells.get(k, "–") for k in c.codes) + " |")
        lines.append("")
        per_code(res, csv_path, "annomi-client", "a")
        project.close()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(report(quick="--quick" in sys.argv))
