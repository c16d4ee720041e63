"""Codes carried over from the sentence before, measured at review time: `make bench-quality`.

A coder reviewing a transcript in order has answered the sentence before the one on screen. coder then
offers the codes she gave it again (`coder.carry`), where her carry model says they are more likely than
not. This measures what that adds to what she is shown, on each data set of `benchmarks/curves_data.py`:

- the carry model is fitted on the gold coding of a random half of the review half's documents (what a
  coder who reviewed them would have answered), five draws;
- on the held-out half, sentence by sentence in document order, the gold codes of the sentence before
  stand for her answers there; the gold codes of the sentence itself are only ever compared with;
- *shown* = the zero-shot run's suggestions (similarity.v2, the stored run, the shipped defaults), plus the
  carried codes that nothing already suggests there (the rule `coder review` and the page apply);
- and through the product: the same documents answered from the gold in a copy of the project (each gold
  code accepted, every other suggestion rejected), `Project.learn` fitting learned.v2 with its own carry
  model, and *shown* = that learned run's suggestions plus the codes its carry model carries.

Precision / recall / micro F1 over (sentence, code) pairs, and the mean of Cohen's κ over the codes with
gold there (as in the learning curves); mean ± sd over the draws.

    .venv/bin/python benchmarks/carried.py [--quick] [--write]
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import results_sections  # noqa: E402
import run as bench_run  # noqa: E402  (sets the offline environment)

from coder import carry, learn2  # noqa: E402
from coder import suggest as sg  # noqa: E402
from coder.evaluate import binary_kappa, prf  # noqa: E402
from coder.store import Store  # noqa: E402

DRAWS = 5


def _tables(ds) -> tuple[list[str], dict[int, np.ndarray], dict[int, set[str]], float]:
    """The run's code paths, each unit's similarity row, its zero-shot suggestions, and the threshold."""
    import json

    with Store(ds.path) as store:
        run = store.zero_shot_run()
        assert run is not None
        sims = {int(s): np.asarray(v, dtype=np.float64) for s, v in store.run_scores(run)}
        shown: dict[int, set[str]] = {}
        for r in store.suggestions(for_coders=[]):
            shown.setdefault(r.segment_id, set()).add(r.code_path)
        return list(json.loads(run.code_paths)), sims, shown, float(run.threshold)


def _pairs(ds, by_doc, names, paths, sims, threshold, suggested):
    """(offset, before, given, shown) rows of every unit that follows a unit, in the documents ``names``
    (``shown``: what the zero-shot run suggests there)."""
    offset, before, given, shown = [], [], [], []
    for n in names:
        units = by_doc[n]
        for prev, u in itertools.pairwise(units):
            offset.append((sims[u] - threshold) / learn2.PRIOR_SCALE)
            before.append([p in ds.gold[prev] for p in paths])
            given.append([p in ds.gold[u] for p in paths])
            shown.append([p in suggested.get(u, ()) for p in paths])
    return np.array(offset), np.array(before, bool), np.array(given, bool), np.array(shown, bool)


def measure(ds, draws: int = DRAWS) -> dict[str, object]:
    import curves_data

    by_doc = curves_data.units_by_document(ds.path)
    paths, sims, shown, threshold = _tables(ds)
    col = {p: j for j, p in enumerate(paths)}
    held_set = set(ds.held_units)
    held_names = [n for n, us in by_doc.items() if us and us[0] in held_set]
    # held-out rows: every held unit, with its predecessor's gold codes where it has one
    units, before_h = [], []
    for n in held_names:
        us = by_doc[n]
        for i, u in enumerate(us):
            units.append(u)
            before_h.append([p in ds.gold[us[i - 1]] for p in paths] if i else [False] * len(paths))
    before = np.array(before_h, bool)
    gold = np.array([[p in ds.gold[u] for p in paths] for u in units], bool)
    base = np.zeros_like(gold)
    for i, u in enumerate(units):
        for p in shown.get(u, ()):
            if p in col:
                base[i, col[p]] = True
    sim = np.array([sims[u] for u in units])
    with_gold = gold.any(axis=0)

    def table(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
        """(tp, fp, fn, tn)"""
        return int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum()), int((~pred & ~y).sum())

    def scores(pred: np.ndarray) -> tuple[float, float, float, float]:
        tp, fp, fn, _ = table(gold, pred)
        k = float(np.mean([binary_kappa(*table(gold[:, j], pred[:, j])) for j in np.flatnonzero(with_gold)]))
        return (*prf(tp, fp, fn), k)

    rows, fitted, carried_n, carried_p = [], 0, [], []
    learned_rows, learned_carried, learned_fitted = [], [], 0
    learned_n: list[int] = []
    learned_p: list[float] = []
    review = sorted(ds.review_docs)
    for draw in range(draws):
        names = random.Random(draw).sample(review, max(1, len(review) // 2))
        offset, before_r, given_r, shown_r = _pairs(ds, by_doc, names, paths, sims, threshold, shown)
        model = carry.fit_carry(offset, before_r, given_r, shown=shown_r, threshold=threshold, scale=learn2.PRIOR_SCALE)
        add = np.zeros_like(gold)
        if model is not None:
            fitted += 1
            add = before & ~base & (model.proba_at(sim) >= carry.CARRY_AT)
        rows.append(scores(base | add))
        carried_n.append(int(add.sum()))
        carried_p.append(float((add & gold).sum() / add.sum()) if add.sum() else float("nan"))
        # the product's path: those documents answered as a careful coder would, learned.v2 fitted (with its
        # carry model) by `Project.learn`, its suggestions shown, carried codes added beside them
        learned, model2 = _learned_arm(ds, by_doc, names, shown, units, col)
        add2 = np.zeros_like(gold)
        if model2 is not None:
            learned_fitted += 1
            add2 = before & ~learned & (model2.proba_at(sim) >= carry.CARRY_AT)
        learned_rows.append(scores(learned))
        learned_carried.append(scores(learned | add2))
        learned_n.append(int(add2.sum()))
        learned_p.append(float((add2 & gold).sum() / add2.sum()) if add2.sum() else float("nan"))
    return {
        "title": ds.title,
        "held": len(units),
        "pairs": int(sum(1 for n in held_names for _ in by_doc[n][1:])),
        "run_on": float((before & gold).sum() / before.sum()) if before.sum() else float("nan"),
        "base": scores(base),
        "carried": np.array(rows),
        "fitted": fitted,
        "n_carried": carried_n,
        "p_carried": carried_p,
        "draws": draws,
        "learned": np.array(learned_rows),
        "learned_carried": np.array(learned_carried),
        "learned_fitted": learned_fitted,
        "learned_n": learned_n,
        "learned_p": learned_p,
    }


def _learned_arm(ds, by_doc, names, shown, units, col):
    """(what learned.v2 suggests on the held-out ``units``, its carry model) after a coder answered the documents
    ``names``: accepting each gold code and rejecting every other suggestion there (recorded directly, not
    through the review queue)."""
    import shutil

    from coder.app import Project

    with tempfile.TemporaryDirectory(prefix="coder-carried-arm-") as tmp:
        path = Path(tmp) / "p.db"
        shutil.copyfile(ds.path, path)
        with Store(path) as store, store.transaction():
            for n in names:
                for u in by_doc[n]:
                    for p in sorted(ds.gold[u]):
                        store.record_decision(segment_id=u, code_path=p, coder=CODER, answer="accept")
                    for p in sorted(shown.get(u, set()) - ds.gold[u]):
                        store.record_decision(segment_id=u, code_path=p, coder=CODER, answer="reject")
        with Project(path) as project:
            project.learn(coder=CODER, learner="learned.v2")
        with Store(path) as store:
            run = store.learned_run(CODER)
            assert run is not None
            model = carry.CarryModel.from_json(run.carry)
            picked = {
                (r.segment_id, r.code_path)
                for r in store.suggestions(for_coders=[CODER])
                if r.learned_from == CODER and r.suggester == run.suggester
            }
    out = np.zeros((len(units), len(col)), bool)
    for i, u in enumerate(units):
        for p, j in col.items():
            if (u, p) in picked:
                out[i, j] = True
    return out, model


CODER = "carried-bench"


def _share(x: float) -> str:
    return "–" if x != x else f"{x:.0%}"


def _carried_cell(n: list[int], precision: list[float]) -> str:
    """Mean number of carried codes over the draws, and their mean precision where any were carried."""
    kept = [x for x in precision if x == x]
    mean = float(np.mean(n))
    return f"{mean:,.0f} ({np.mean(kept):.2f})" if kept and mean >= 0.5 else f"{mean:.1f}" if kept else "0"


def section(results: list[dict[str, object]], seconds: float, model: str) -> str:
    lines = [
        "## Codes carried over from the sentence before, at review time (`benchmarks/carried.py`)\n",
        f"- machine: {bench_run.machine()}; embeddings: `{model}`; {seconds:.0f} s",
        "- the carry model fitted on the gold coding of half the review documents (5 random halves); on the "
        "held-out documents, the gold codes of the sentence before stand for the coder's answers there. "
        f"*Shown*: {sg.SUGGESTER}'s suggestions at the shipped defaults, plus each carried code nothing "
        "suggests there already; *learned.v2*: the same half of the review documents answered from the gold "
        "(each gold code accepted, every other suggestion rejected), `Project.learn` fitting learned.v2 and "
        "its carry model, and its suggestions shown with the codes it carries. *Gold codes that run on*: of "
        "the gold codes of a held-out sentence, the share the next sentence has too. Mean ± sd over the draws.\n",
        "| data set | held-out units (following a unit) | gold codes that run on | shown | precision | recall | "
        "micro F1 | mean κ per code | carried codes (precision) | draws with a model |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        b = r["base"]
        c = r["carried"]
        m, s = c.mean(axis=0), c.std(axis=0)
        carried = _carried_cell(r["n_carried"], r["p_carried"])
        lines.append(
            f"| {r['title']} | {r['held']:,} ({r['pairs']:,}) | {_share(r['run_on'])} | {sg.SUGGESTER} | {b[0]:.3f} | "
            f"{b[1]:.3f} | "
            f"{b[2]:.3f} | {b[3]:.3f} | | |"
        )
        lines.append(
            f"| | | | + carried | {m[0]:.3f} ± {s[0]:.3f} | {m[1]:.3f} ± {s[1]:.3f} | {m[2]:.3f} ± {s[2]:.3f} | "
            f"{m[3]:.3f} ± {s[3]:.3f} | {carried} | {r['fitted']} of {r['draws']} |"
        )
        for label, key, tail in (
            ("learned.v2 (half the review documents answered)", "learned", " | | |"),
            (
                "learned.v2 + carried",
                "learned_carried",
                f" | {_carried_cell(r['learned_n'], r['learned_p'])} | {r['learned_fitted']} of {r['draws']} |",
            ),
        ):
            mm, ss = r[key].mean(axis=0), r[key].std(axis=0)
            cells = " | ".join(f"{mm[i]:.3f} ± {ss[i]:.3f}" for i in range(4))
            lines.append(f"| | | | {label} | {cells}{tail}")
    lines.append(
        "\nThis is what a coder reviewing in document order is shown, not what the machine codes on its own: on "
        "documents nobody has reviewed (as the learning curves' held-out halves) nothing is carried."
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small subsets")
    ap.add_argument("--write", action="store_true", help="write its section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    import curves_data as data

    from coder.embed import load_embedder

    t0 = time.perf_counter()
    embedder = load_embedder()
    builders = {
        "annomi-client": lambda f: data.annomi(f, embedder, "client", 16 if args.quick else None),
        "annomi-therapist": lambda f: data.annomi(f, embedder, "therapist", 16 if args.quick else None),
        "nhs-fft": lambda f: data.nhs(f, embedder, 400 if args.quick else 3000),
        "demo": lambda f: data.demo(f, embedder, 6 if args.quick else None),
    }
    results = []
    with tempfile.TemporaryDirectory(prefix="coder-carried-") as tmp:
        for key, build in builders.items():
            try:
                ds = build(Path(tmp))
            except (FileNotFoundError, SystemExit) as e:
                print(f"{key}: not available ({e})", flush=True)
                continue
            results.append(measure(ds))
            print(f"{key}: done", flush=True)
    body = section(results, time.perf_counter() - t0, embedder.model_id)
    print(body)
    if args.write:
        results_sections.put(HERE / "RESULTS.md", "carried", body)
        print("wrote its section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
