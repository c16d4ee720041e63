"""Suggestion quality of similarity.v1 against the demo corpus's reference coding.

Sweeps method × threshold (top-k 3), picks the threshold with the best category-level micro F1 on
one half of the participants and reports it on the other half (and the other way round), so the
figure for the chosen default is not measured on the data that chose it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coder import evaluate as ev
from coder import suggest as sg
from coder.app import Project
from coder.app.suggesting import _cached_embed, embed_segments
from coder.embed import text_hash
from coder.store import Store

REFERENCE = Path(__file__).resolve().parent.parent / "corpora" / "demo" / "reference-coding.csv"
THRESHOLDS = [round(0.25 + 0.025 * i, 3) for i in range(19)]  # 0.25 … 0.70


@dataclass
class Data:
    seg_ids: np.ndarray
    participants: list[str]
    gold: set[tuple[int, str]]
    categories: list[str]
    codes: list[str]
    scores: dict[str, np.ndarray]
    profile: sg.CodeProfile


def load_reference(project: Project, path: Path = REFERENCE) -> set[tuple[int, str]]:
    """Reference codings mapped onto the project's segments by (document, start, end)."""
    with Store(project.path) as store:  # offsets are stored, no Project method lists them
        index = {(s.document, s.start, s.end): s.id for s in store.segments(coded_only=True)}
    gold = set()
    missing = 0
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["document"], int(row["start"]), int(row["end"]))
            if key in index:
                gold.add((index[key], row["code"]))
            else:
                missing += 1
    if missing:
        raise SystemExit(f"{path}: {missing} reference rows match no segment (was the corpus re-segmented?)")
    return gold


def prepare(project: Project, embedder) -> Data:
    """Every participant sentence scored against every code by each method (the sweep reuses these)."""
    book = project.codebook()
    with Store(project.path) as store:  # the scores before selection: below what Project.suggest returns
        embed_segments(store, embedder)
        profile = sg.build_profile(book, _cached_embed(store, embedder))
        segs = store.segments(coded_only=True)
        vecs = store.get_embeddings(embedder.model_id, [text_hash(s.text) for s in segs])
    ids = np.array([s.id for s in segs])
    mat = np.stack([vecs[text_hash(s.text)] for s in segs])
    scores = {m: sg.score(mat, profile, m).scores for m in sg.METHODS}
    return Data(
        ids,
        [s.participant for s in segs],
        load_reference(project),
        [c.name for c in book.children(None)],
        [c.path for c in book.codes],
        scores,
        profile,
    )


def predictions(d: Data, method: str, threshold: float, mask: np.ndarray | None = None, top_k: int = 3):
    s = d.scores[method] if mask is None else d.scores[method][mask]
    ids = d.seg_ids if mask is None else d.seg_ids[mask]
    picks = sg.select(s, d.profile, threshold=threshold, top_k=top_k)
    return {(int(ids[i]), d.profile.paths[c]) for i, row in enumerate(picks) for c, _ in row}


def scores_at(d: Data, method: str, threshold: float, mask: np.ndarray | None = None) -> dict[str, float]:
    ids = d.seg_ids if mask is None else d.seg_ids[mask]
    idset = set(ids.tolist())
    gold = {g for g in d.gold if g[0] in idset}
    pred = predictions(d, method, threshold, mask)
    cat = ev.by_category(gold, pred, ids.tolist(), d.categories)
    code = ev.by_code(gold, pred, ids.tolist(), d.codes)
    cp, cr, cf = ev.micro(cat)
    xp, xr, xf = ev.micro(code)
    return {
        "cat_p": cp,
        "cat_r": cr,
        "cat_f1": cf,
        "code_p": xp,
        "code_r": xr,
        "code_f1": xf,
        "cat_macro_f1": ev.macro(cat)[2],
        "cat_macro_kappa": ev.macro(cat)[3],
        "n_pred": len(pred),
    }


def sweep(d: Data) -> dict[str, list[tuple[float, dict[str, float]]]]:
    return {m: [(t, scores_at(d, m, t)) for t in THRESHOLDS] for m in sg.METHODS}


def cross_validated_choice(d: Data) -> list[dict[str, object]]:
    """Choose (method, threshold) on half the participants, report on the other half."""
    people = sorted(set(d.participants))
    halves = [set(people[0::2]), set(people[1::2])]
    out = []
    for k in (0, 1):
        tune = np.array([p in halves[k] for p in d.participants])
        test = ~tune
        best = max(
            ((m, t) for m in sg.METHODS for t in THRESHOLDS), key=lambda mt: scores_at(d, mt[0], mt[1], tune)["cat_f1"]
        )
        out.append(
            {
                "tuned_on": sorted(halves[k]),
                "method": best[0],
                "threshold": best[1],
                "tune": scores_at(d, *best, tune),
                "test": scores_at(d, *best, test),
            }
        )
    return out


def report(d: Data, default_method: str, default_threshold: float) -> str:
    sw = sweep(d)
    lines = [
        "## Quality: similarity.v1 against the demo reference coding\n",
        f"{len(d.seg_ids)} participant sentences of 12 synthetic transcripts; the reference coding "
        f"(`corpora/demo/reference-coding.csv`) has {len(d.gold)} codings on "
        f"{len({g[0] for g in d.gold})} sentences. Suggestions: top 3 per sentence, a subcode replaces its "
        "parent when both pass. *Category* scores count a sentence as a hit for a top-level category when "
        "both the suggestions and the reference give it some code of that category; *exact* scores need the "
        "same code path.\n",
        "### Threshold sweep (all participants)\n",
        "| method | threshold | suggestions | category P | category R | category F1 | exact P | exact R | exact F1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in sg.METHODS:
        for t, s in sw[m]:
            if round(t * 40) % 2 == 0 or (m == default_method and abs(t - default_threshold) < 1e-9):
                mark = " **←default**" if (m == default_method and abs(t - default_threshold) < 1e-9) else ""
                lines.append(
                    f"| {m} | {t:.3f}{mark} | {s['n_pred']} | {s['cat_p']:.3f} | {s['cat_r']:.3f} | "
                    f"{s['cat_f1']:.3f} | {s['code_p']:.3f} | {s['code_r']:.3f} | {s['code_f1']:.3f} |"
                )
    best = {m: max(sw[m], key=lambda ts: ts[1]["cat_f1"]) for m in sg.METHODS}
    lines.append(
        "\nBest category F1 per method: "
        + "; ".join(f"{m} {b[1]['cat_f1']:.3f} at {b[0]:.3f} (exact F1 {b[1]['code_f1']:.3f})" for m, b in best.items())
        + ".\n"
    )
    lines.append("### Choosing the default on one half of the participants, testing on the other\n")
    lines.append("| tuned on | chosen | category F1 (tune half) | category F1 (test half) | exact F1 (test half) |")
    lines.append("| --- | --- | --- | --- | --- |")
    for cv in cross_validated_choice(d):
        lines.append(
            f"| {', '.join(cv['tuned_on'])} | {cv['method']} ≥ {cv['threshold']:.3f} | "  # type: ignore[arg-type]
            f"{cv['tune']['cat_f1']:.3f} | {cv['test']['cat_f1']:.3f} | {cv['test']['code_f1']:.3f} |"
        )  # type: ignore[index]
    lines.append("")
    lines.append(f"### Per top-level category at the default ({default_method}, threshold {default_threshold:.3f})\n")
    ids = d.seg_ids.tolist()
    pred = predictions(d, default_method, default_threshold)
    rows = ev.by_category(d.gold, pred, ids, d.categories)
    lines.append("| category | reference sentences | suggested sentences | precision | recall | F1 | κ |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        lines.append(
            f"| {r.label} | {r.gold} | {r.predicted} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | "
            f"{r.kappa:.3f} |"
        )
    mp, mr, mf = ev.micro(rows)
    ap, ar, af, ak = ev.macro(rows)
    lines.append(f"| **micro** | | | {mp:.3f} | {mr:.3f} | {mf:.3f} | |")
    lines.append(f"| **macro** | | | {ap:.3f} | {ar:.3f} | {af:.3f} | {ak:.3f} |")
    code_rows = ev.by_code(d.gold, pred, ids, d.codes)
    xp, xr, xf = ev.micro(code_rows)
    lines.append(
        f"\nExact code path at the default: precision {xp:.3f}, recall {xr:.3f}, F1 {xf:.3f} "
        f"(macro F1 over codes {ev.macro(code_rows)[2]:.3f}). Share of reference codings whose exact code "
        f"the reviewer is shown: {xr:.1%}; share of reference-coded sentences shown with a code of the right "
        f"category: {mr:.1%}.\n"
    )
    return "\n".join(lines)
