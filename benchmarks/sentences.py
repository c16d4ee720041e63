"""Sentence units on spoken speech: boundary F1 and fragment rate of each splitter, with and without merging.

Gold: tests/data/spoken-sentences.txt (synthetic: 60 participant turns, one gold sentence per line, with
disfluencies, `[laughs]`-style annotations, "and"/"but"/"so" chains and 10 unpunctuated caption-style
turns). A turn's text is its lines joined by single spaces; a gold boundary is the start of every
sentence after a turn's first. For each splitter (the spaCy parser, its `senter`, the rule-based
sentencizer), raw and through `coder.segment.whole_sentences` (cuts not at sentence-final
punctuation merged back, in punctuated turns), units are found the way `coder.segment.segment` finds
them (whitespace trimmed, pieces without words dropped) and scored:

- boundary precision / recall / F1 over the gold boundaries;
- fragments: units that lie strictly inside one gold sentence (part of a sentence, cut off);
- joined: units that run over two or more gold sentences.

    .venv/bin/python benchmarks/sentences.py [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import results_sections  # noqa: E402
import run as bench_run  # noqa: E402  (sets the offline environment)

from coder.segment import DEFAULT_PIPELINE, SpacySplitter, _has_words, whole_sentences  # noqa: E402

GOLD = HERE.parent / "tests" / "data" / "spoken-sentences.txt"


@dataclass(frozen=True)
class Turn:
    text: str
    sentences: list[tuple[int, int]]


def load_gold(path: Path = GOLD) -> list[Turn]:
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    turns = []
    for block in blocks:
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]
        if not lines:
            continue
        spans, pos = [], 0
        for ln in lines:
            spans.append((pos, pos + len(ln)))
            pos += len(ln) + 1
        turns.append(Turn(" ".join(lines), spans))
    return turns


def units(text: str, cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for a, b in cuts:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if _has_words(text[a:b]):
            out.append((a, b))
    return out


def score(turns: list[Turn], predicted: list[list[tuple[int, int]]]) -> dict[str, float]:
    tp = fp = fn = 0
    n_units = fragments = joined = 0
    for turn, pred in zip(turns, predicted, strict=True):
        gold_b = {a for a, _ in turn.sentences[1:]}
        pred_b = {a for a, _ in pred[1:]}
        tp += len(gold_b & pred_b)
        fp += len(pred_b - gold_b)
        fn += len(gold_b - pred_b)
        for a, b in pred:
            n_units += 1
            inside = [(ga, gb) for ga, gb in turn.sentences if ga <= a and b <= gb]
            if inside and (a, b) != inside[0] and not (a == inside[0][0] and b >= inside[0][1]):
                fragments += 1
            if sum(1 for ga, gb in turn.sentences if a < gb and ga < b) > 1:
                joined += 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "units": n_units,
        "fragments": fragments / n_units if n_units else 0.0,
        "joined": joined / n_units if n_units else 0.0,
    }


def splitters() -> dict[str, SpacySplitter]:
    import spacy

    parser = spacy.load(DEFAULT_PIPELINE, exclude=["ner", "lemmatizer", "attribute_ruler", "tagger"])
    senter = spacy.load(DEFAULT_PIPELINE, exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
    senter.enable_pipe("senter")
    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    return {"parser": SpacySplitter(parser), "senter": SpacySplitter(senter), "sentencizer": SpacySplitter(blank)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write its section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    turns = load_gold()
    texts = [t.text for t in turns]
    n_gold = sum(len(t.sentences) for t in turns)
    rows = []
    for name, sp in splitters().items():
        t0 = time.perf_counter()
        cuts = sp.split(texts)
        seconds = time.perf_counter() - t0
        raw = [units(t, c) for t, c in zip(texts, cuts, strict=True)]
        merged = [units(t, whole_sentences(t, c)) for t, c in zip(texts, cuts, strict=True)]
        rows.append((name, score(turns, raw), seconds))
        rows.append((f"{name} + merge", score(turns, merged), seconds))
    lines = [
        "## Sentence units on spoken speech (`benchmarks/sentences.py`)\n",
        f"- machine: {bench_run.machine()}",
        f"- gold: `tests/data/spoken-sentences.txt`, {len(turns)} synthetic turns, {n_gold} sentences "
        f"({sum(1 for t in turns if not any(c in t.text for c in '.!?'))} turns unpunctuated)\n",
        "Boundary precision / recall / F1 over the gold sentence starts inside a turn; *fragments*: units "
        "strictly inside one gold sentence; *joined*: units over two or more; *+ merge*: the splitter's cuts "
        "through `whole_sentences` (what `coder import` does).\n",
        "| splitter | units | boundary P | boundary R | boundary F1 | fragments | joined | split time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s, sec in rows:
        lines.append(
            f"| {name} | {s['units']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
            f"{s['fragments']:.1%} | {s['joined']:.1%} | {sec:.2f} s |"
        )
    body = "\n".join(lines)
    print(body)
    if args.write:
        results_sections.put(HERE / "RESULTS.md", "sentences", body)
        print("wrote its section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
