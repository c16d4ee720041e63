"""Learning curves and calibration of the suggesters: `make bench-quality` (`--quick`: a small subset).

A simulated reviewer (the `simulated` coder) reviews units of the review half of each data set in a
random order of documents (one seed per run), through the real review session: she answers every
pending suggestion on a unit from the gold coding (accept if gold has the code, else reject) and adds
the gold codes nobody suggested by hand. The learner is re-fitted after every batch of
`--refit-every` % of the reviewable units, so what she is shown follows what she taught it. At 0, 5,
10, 20 and 40 % of the review half's units the machine is scored on the held-out half, which nobody
reviews; at 10 and 20 % the calibration of the learned probabilities is measured there too.

Arms: the zero-shot suggester (similarity.v2; the same for every run, since it never reads decisions) and every
learner in :data:`LEARNERS` that `Project.learn` accepts (learned.v2 is picked up once it exists). One more arm,
"learned.v2, uncertain first", has the reviewer work through the queue as `coder review --order uncertain` orders
it, across all the review half's documents (the sentences the model is least sure of first), until the same share
of units has been answered; its order is the model's, not drawn, so it runs once.
Every arm runs at the shipped defaults: nothing is tuned here, on either half.

Writes its section of benchmarks/RESULTS.md (between `<!-- bench-quality:start/end -->`) and PNGs
beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import curves_report as report  # noqa: E402  (imports run.py, which sets the offline environment)
import simulate  # noqa: E402
from curves_metrics import (  # noqa: E402
    CALIBRATION_AT,
    CHECKPOINTS,
    LEARNERS,
    RELIABILITY_AT,
    Arm,
    Point,
    agreement,
    arm_spec,
    ece,
)

from coder import learn as lr  # noqa: E402
from coder import suggest as sg  # noqa: E402
from coder.app import Project  # noqa: E402
from coder.errors import CoderError  # noqa: E402
from coder.store import Store  # noqa: E402

SIM = simulate.SIM
SECTION = "bench-quality"
ORDER_SEED = 7


class Unavailable(Exception):
    """This learner cannot be fitted by this version of the project."""


# -- reading a project ----------------------------------------------------------------------------------


def picks_of(store: Store, suggester: str, learned_from: str | None) -> dict[int, list[tuple[int, str]]]:
    """(rank, code) of each segment's suggestions by one run: the zero-shot run, or SIM's learned run."""
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for r in store.suggestions(for_coders=[SIM]):
        if r.suggester == suggester and r.learned_from == learned_from:
            out[r.segment_id].append((r.rank, r.code_path))
    return out


def calibrated_codes(run, codes: list[str]) -> set[str]:
    """The codes whose probabilities ``run`` says are calibrated (all of them for a run that does not say)."""
    said = getattr(run, "calibrated", True)
    if isinstance(said, bool):
        return set(codes) if said else set()
    return set(json.loads(said)) if isinstance(said, str) else set(said)


def calibration(store: Store, ds, learner: str | None, point: Point) -> None:
    """ECE of a run's probabilities on the held-out units, for the codes it says are calibrated, over every
    (unit, code) pair and over the pairs the queue would show; learner None: the zero-shot prior map."""
    held = ds.held_units
    if learner is None:
        run, rows = store.zero_shot_scores(segment_ids=held)
        assert run is not None
        prior = lr.Prior(float(run.threshold))
        scores = {u: prior(row) for u, row in rows}
        shown = picks_of(store, sg.SUGGESTER, None)
        codes = json.loads(run.code_paths)
        ok = set(codes)
    else:
        run, rows = store.active_scores(learner, learned_from=SIM, segment_ids=held)
        if run is None:
            return
        scores = {u: np.asarray(row, dtype=np.float64) for u, row in rows}
        shown = picks_of(store, sg.SUGGESTER, None)
        for u, ps in picks_of(store, learner, SIM).items():
            shown[u] = shown[u] + ps
        codes = json.loads(run.code_paths)
        ok = calibrated_codes(run, codes)
    point.calibrated = len(ok & set(codes))
    if not point.calibrated:
        return
    keep = [j for j, c in enumerate(codes) if c in ok]
    kept = [codes[j] for j in keep]
    col = {c: i for i, c in enumerate(kept)}
    units = [u for u in held if u in scores]
    p = np.stack([scores[u] for u in units]).astype(np.float64)[:, keep]
    y = np.array([[c in ds.gold[u] for c in kept] for u in units], dtype=np.float64)
    point.ece = ece(p.ravel(), y.ravel())
    pos = {u: i for i, u in enumerate(units)}
    cells = {(pos[u], col[c]) for u in units for _, c in shown.get(u, []) if c in col}
    if cells:
        r, c = np.array(sorted(cells)).T
        point.ece_shown = ece(p[r, c], y[r, c])
    point.reliability = (p.ravel(), y.ravel())


# -- one simulated review -------------------------------------------------------------------------------


def fit(project: Project, learner: str) -> None:
    """Re-fit ``learner`` on SIM's decisions; :class:`Unavailable` when this project version lacks it."""
    try:
        project.learn(coder=SIM, learner=learner)  # type: ignore[call-arg]  (the keyword is arriving)
    except TypeError as e:
        if learner != lr.LEARNER:
            raise Unavailable(f"Project.learn() takes no learner= yet ({e})") from None
        project.learn(coder=SIM)  # before learner= existed: learned.v1 is the learner
    except CoderError as e:
        if learner == lr.LEARNER:
            raise
        raise Unavailable(str(e)) from None


def zero_shot(ds) -> Point:
    with Store(ds.path) as store:  # the run's suggestions and score rows: below what Project reports
        point = Point(0, 0, 0, *agreement(ds, picks_of(store, sg.SUGGESTER, None)))
        calibration(store, ds, None, point)
        kappa, f1 = agreement(ds, older_picks(store, ds))[:2]
        point.older = {"kappa": kappa, "f1": f1}
    return point


def older_picks(store: Store, ds) -> dict[int, list[tuple[int, str]]]:
    """What similarity.v1 would suggest on the held-out units, with the run's own settings and stored vectors."""
    from coder.app.common import current_codebook

    run = store.zero_shot_run()
    assert run is not None
    book = current_codebook(store)
    hashes = store.segment_hashes()
    held = [u for u in ds.held_units if u in hashes]
    got = store.get_embeddings(run.model, sorted({hashes[u] for u in held}))
    keep = [u for u in held if hashes[u] in got]

    def cached(texts):
        from coder.embed import text_hash

        vecs = store.get_embeddings(run.model, [text_hash(t) for t in texts])
        return np.stack([vecs[text_hash(t)] for t in texts])

    profile = sg.build_profile(book, cached, against=False)
    scores = sg.score(np.stack([got[hashes[u]] for u in keep]), profile, run.method).scores
    picks = sg.select(scores, profile, threshold=float(run.threshold), top_k=run.top_k)
    return {u: [(r, profile.paths[c]) for c, r in p] for u, p in zip(keep, picks, strict=True)}


def review_orders(ds, runs: int) -> list[list[str]]:
    """``runs`` distinct random orders of the review documents, each starting with a different document while
    there are enough (the first documents decide the early checkpoints); fewer only if no more exist."""
    rng = random.Random(ORDER_SEED)
    names0 = sorted(ds.review_docs)
    out: list[list[str]] = []
    firsts: set[str] = set()
    for _ in range(10_000):
        names = names0[:]
        rng.shuffle(names)
        if names in out or (names[0] in firsts and len(firsts) < len(names0)):
            continue
        out.append(names)
        firsts.add(names[0])
        if len(out) == runs:
            break
    return out


def simulate_run(ds, arm: Arm, seed: int, names: list[str], folder: Path, refit_pct: float, zero: Point) -> list[Point]:
    """One review order: review units document by document (``names``), or uncertain first for such an arm
    (:func:`answer_uncertain_first`), re-fit after every ``refit_pct`` % of the units, and score the learned run
    on the held-out half at each checkpoint."""
    learner, order = arm_spec(arm.name)
    t0 = time.perf_counter()
    units = [u for n in names for u in ds.review_docs[n]]
    n = len(units)
    at = {max(1, round(c / 100 * n)): c for c in CHECKPOINTS if c}
    stops = sorted({max(1, round(k * refit_pct / 100 * n)) for k in range(1, int(max(CHECKPOINTS) / refit_pct) + 1)})
    stops = sorted(set(stops) | set(at))
    points = [dataclasses.replace(zero, reliability=None)]
    project = simulate.fresh_copy(ds.path, folder / f"{ds.key}-{learner}-{order}-{seed}.db")
    review = set(units)
    try:
        decisions = 0
        start = 0
        touched: set[int] = set()
        for stop in stops:
            if order == "uncertain":
                decisions += answer_uncertain_first(project, ds, review, touched, stop)
            else:
                decisions += answer_in_order(project, ds, units[start:stop])
            start = stop
            fit(project, learner)
            if stop not in at:
                continue
            with Store(project.path) as store:  # the learned run's suggestions and scores
                leaked = {d.segment_id for d in store.decisions(coder=SIM)} - review
                assert not leaked, f"{len(leaked)} held-out units were reviewed"
                run = store.active_run(learner, SIM)
                assert run is not None, f"no active {learner} run after fitting"
                arm.setting = f"{run.method}, suggests at ≥ {run.threshold:g}"
                point = Point(
                    at[stop], max(stop, len(touched)), decisions, *agreement(ds, picks_of(store, learner, SIM))
                )
                if at[stop] in CALIBRATION_AT:
                    calibration(store, ds, learner, point)
            point.seconds = time.perf_counter() - t0
            if at[stop] != RELIABILITY_AT:
                point.reliability = None
            points.append(point)
            print(
                f"  [{ds.key} {arm.name} order {seed}] {point.pct:>2} %: {point.reviewed} units, "
                f"{decisions} decisions, κ {point.kappa:.3f} (zero-shot {zero.kappa:.3f})"
                + (f", ECE {point.ece:.3f}" if point.ece is not None else "")
                + f"  {point.seconds:.0f} s",
                flush=True,
            )
    finally:
        project.close()
        project.path.unlink(missing_ok=True)
    return points


def answer_in_order(project: Project, ds, units: list[int]) -> int:
    """Answer every pending suggestion on each of ``units`` in turn from gold, adding by hand the gold codes
    nobody suggested; returns the decisions made."""
    session = project.review(SIM, order="document", learn_every=0)  # re-fitting is ours to time
    pending: dict[int, list] = defaultdict(list)
    for item in session.pending():
        pending[item.segment_id].append(item)
    decisions = 0
    for u in units:
        answered = set()
        for item in pending.get(u, []):
            if item.code_path in ds.gold[u]:
                session.accept(item)
            else:
                session.reject(item, reason="wrong code")
            answered.add(item.code_path)
            decisions += 1
        for code in sorted(ds.gold[u] - answered):  # what nobody suggested, added by hand
            session.apply_code(u, code)
            decisions += 1
    return decisions


def answer_uncertain_first(project: Project, ds, review: set[int], touched: set[int], stop: int) -> int:
    """Answer the review half's pending suggestions in the order `coder review --order uncertain` gives, until
    ``stop`` units have been touched (``touched`` is updated); on a unit's first answer, add by hand the gold
    codes nobody suggested there. Returns the decisions made."""
    session = project.review(SIM, order="uncertain", learn_every=0)
    items, seen = [], set()
    for i in simulate.reviewable(session, lambda i: i.segment_id in review):
        if (i.segment_id, i.code_path) not in seen:  # each (unit, code) once, where the queue first has it
            seen.add((i.segment_id, i.code_path))
            items.append(i)
    on: dict[int, set[str]] = defaultdict(set)  # the codes pending on each unit: answered, not added by hand
    for item in items:
        on[item.segment_id].add(item.code_path)
    decisions = 0
    for item in items:
        if len(touched) >= stop and item.segment_id not in touched:
            break
        u = item.segment_id
        if item.code_path in ds.gold[u]:
            session.accept(item)
        else:
            session.reject(item, reason="wrong code")
        decisions += 1
        if u not in touched:
            touched.add(u)
            for code in sorted(ds.gold[u] - on[u]):
                session.apply_code(u, code)
                decisions += 1
    return decisions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="small subsets (< 5 min on 2 cores)")
    ap.add_argument("--runs", type=int, default=None, help="review orders per arm (default 3 quick, 5 full)")
    ap.add_argument("--refit-every", type=float, default=None, help="%% of the review units between re-fits")
    ap.add_argument("--only", nargs="*", default=None, help="data set keys to run (default: all)")
    ap.add_argument("-o", "--output", type=Path, default=HERE / "RESULTS.md", help="PNGs are written beside it")
    args = ap.parse_args()
    args.runs = args.runs or (3 if args.quick else 5)
    refit_pct = args.refit_every or (5.0 if args.quick else 2.5)
    t_start = time.perf_counter()
    at_start = report.provenance()  # coder/ as loaded now: other engineers may commit while this runs

    import curves_data as data

    from coder.embed import load_embedder

    embedder = load_embedder()
    print(f"embeddings: {embedder.model_id}", flush=True)
    builders = {
        "annomi-client": lambda f: data.annomi(f, embedder, "client", 16 if args.quick else None),
        "annomi-therapist": lambda f: data.annomi(f, embedder, "therapist", 16 if args.quick else None),
        "nhs-fft": lambda f: data.nhs(f, embedder, 400 if args.quick else 3000),
        "demo": lambda f: data.demo(f, embedder, 6 if args.quick else None),
    }
    keys = args.only or list(builders)
    datasets, zeros, arms_by, notes = [], {}, {}, []
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="coder-curves-") as tmp:
        folder = Path(tmp)
        for key in keys:
            t0 = time.perf_counter()
            ds = builders[key](folder)
            zero = zero_shot(ds)
            print(
                f"{ds.title}: {ds.review_units} review / {len(ds.held_units)} held-out units, built and suggested in "
                f"{time.perf_counter() - t0:.0f} s; zero-shot κ {zero.kappa:.3f}",
                flush=True,
            )
            datasets.append(ds)
            zeros[key] = zero
            arms = []
            for learner in LEARNERS:
                arm = Arm(learner)
                arms.append(arm)
                if learner in unavailable:
                    continue
                runs = 1 if arm_spec(learner)[1] == "uncertain" else args.runs  # the model's order: no draw
                for seed, names in enumerate(review_orders(ds, runs), start=1):
                    try:
                        arm.runs.append(simulate_run(ds, arm, seed, names, folder, refit_pct, zero))
                    except Unavailable as e:
                        unavailable[learner] = str(e)
                        arm.runs.clear()
                        print(f"  {learner}: not available, skipped ({e})", flush=True)
                        break
            arms_by[key] = arms
    for learner, why in unavailable.items():
        notes.append(f"{learner} was not run: {why}. It is picked up automatically once `Project.learn` has it.")
    seconds = time.perf_counter() - t_start
    out_dir = args.output.resolve().parent
    out_dir.mkdir(parents=True, exist_ok=True)
    report.plot_curves(datasets, zeros, arms_by, out_dir / "quality-curves.png")
    report.plot_reliability(datasets, zeros, arms_by, out_dir / "quality-reliability.png")
    import results_sections

    source = report.provenance_line(at_start, report.provenance())
    body = report.section(args, datasets, zeros, arms_by, notes, seconds, embedder.model_id, refit_pct, source)
    results_sections.put(args.output, SECTION, body)
    print(body)
    print(f"wrote {args.output} (section {SECTION}) and its PNGs in {seconds / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
