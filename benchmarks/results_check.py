"""Results-sections check (issue 16): does a zero-shot ranker put a review sentence under its own heading?

Every sentence of the two seed reviews' results sections (../shared/seeds) is an item, and the
codebook family of the sub-heading it sits under is its gold: benchmarks/codebooks/results-families.yaml
maps each heading to its family (our own judgement; headings no code covers are left out). A ranker
orders a codebook's codes for each sentence; a hit at top-k is when any of its first k codes is a gold
family or a code under one. We report top-1 and top-3 per review and pooled, against the goal of
top-1 ≥ 0.70 and top-3 ≥ 0.90 with no training (nothing here is fitted to these sentences).

Three rankers run from ``main()``:

- ``similarity.v2``: the current zero-shot suggester (``coder.suggest``: cosine of a sentence to each
  code's exemplars, less a little of its cosine to the code's exclusions and counterexamples), ranking
  every code of the codebook; ``similarity.v1``, the older one, without the pull-away;
- ``family list``: a baseline that knows only a plain list of the families, one ``name: definition``
  line each (the definition's first sentence), and ranks those by cosine.

Sentences are split with a regular expression that keeps "et al." and "e.g." whole; table rows
(lines with tabs or HTML cells, and whatever follows a "Table n" caption up to the next heading) are
dropped, and so is any sentence with fewer than six words once citations are taken out.

Run ``python benchmarks/results_check.py``; ``load_items`` and ``evaluate`` are importable.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datetime as dt  # noqa: E402

import numpy as np  # noqa: E402
import results_sections  # noqa: E402
import run as bench_run  # noqa: E402  (sets the offline environment)
import yaml  # noqa: E402

from coder.codebook import read_codebook  # noqa: E402
from coder.types import Codebook  # noqa: E402

MAPPING = ROOT / "benchmarks" / "codebooks" / "results-families.yaml"
SEEDS = ROOT.parent / "shared" / "seeds"
MIN_WORDS = 6
KS = (1, 3)
GOAL = {1: 0.70, 3: 0.90}

Ranker = Callable[[Codebook, list[str]], list[list[str]]]
"""``rank(codebook, texts)``: for each text, code paths of ``codebook`` best first."""
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Item:
    """One results-section sentence and the families of the heading it sits under."""

    text: str
    heading: str
    review: str
    gold: tuple[str, ...]
    codebook: Path


# --- parsing a review ------------------------------------------------------------------------------

_START = {"results"}
_END = {"discussion"}
_TABLE_CAPTION = re.compile(r"^(table|figure)\s+\d+\b", re.I)
# A sentence ends at . ! or ? (maybe closed by a quote or bracket) before a capital, digit or quote,
# except after abbreviations that never end a sentence here.
_SENTENCE_END = re.compile(
    r"(?<!\bal\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<!\bDr\.)(?<!\bSt\.)(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘]?[A-Z0-9])"
)
_CITATION = re.compile(r"\([^()]*\d{4}[^()]*\)|\[[\d,\s–-]+\]")


def _key(line: str) -> str:
    return line.strip().rstrip(":").strip().lower()


def _is_table_line(line: str) -> bool:
    s = line.strip()
    return "\t" in line or s.startswith(("<p>", "--")) or bool(_TABLE_CAPTION.match(s))


def _is_heading(line: str) -> bool:
    """A short title-like line: capitalised, at most ten words, no sentence punctuation at its end."""
    s = line.strip()
    return (
        bool(s)
        and "\t" not in line
        and s[0].isupper()
        and len(s.split()) <= 10
        and s[-1] not in ".,;?!"
        and not _TABLE_CAPTION.match(s)
    )


def sections(text: str) -> list[tuple[str | None, str]]:
    """(heading, body) for each part of the results section, in order.

    The section runs from a line reading "Results" to one reading "Discussion" (any case, maybe with a
    colon). ``heading`` is None for text before the first sub-heading and for tables; page-broken
    paragraphs are joined, since the body is the heading's lines joined by spaces.
    """
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if _key(ln) in _START)
    except StopIteration:
        raise ValueError("no line reading 'Results' was found") from None
    out: list[tuple[str | None, list[str]]] = [(None, [])]
    for ln in lines[start + 1 :]:
        if _key(ln) in _END:
            break
        if _TABLE_CAPTION.match(ln.strip()):
            out.append((None, []))  # a table runs to the next heading
        elif _is_heading(ln):
            out.append((ln.strip(), []))
        elif ln.strip() and not _is_table_line(ln):
            out[-1][1].append(ln.strip())
    else:
        raise ValueError("no line reading 'Discussion' ends the results section")
    return [(h, " ".join(body)) for h, body in out if h is not None or body]


def split_sentences(body: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(body) if s.strip()]


def word_count(sentence: str) -> int:
    """Words once citations such as "(Hickle, 2017)" and "[15,20]" are taken out."""
    return len(_CITATION.sub(" ", sentence).split())


def review_sentences(text: str) -> list[tuple[str, str]]:
    """(heading, sentence) for each kept sentence under a heading of the results section."""
    return [
        (h, s)
        for h, body in sections(text)
        if h is not None
        for s in split_sentences(body)
        if word_count(s) >= MIN_WORDS
    ]


# --- items -------------------------------------------------------------------------------------------


def load_items(mapping: Path = MAPPING, seeds: Path = SEEDS) -> list[Item]:
    """Every kept sentence under a mapped heading, with its gold families; checks the mapping first."""
    spec = yaml.safe_load(mapping.read_text(encoding="utf-8"))
    items: list[Item] = []
    problems: list[str] = []
    for review, r in spec["reviews"].items():
        book_path = (ROOT / r["codebook"]).resolve()
        known = read_codebook(book_path).by_path()
        headings: dict[str, list[str]] = r["headings"]
        for h, fams in headings.items():
            problems += [f"{review}: {h!r}: no code {f!r} in {r['codebook']}" for f in fams if f not in known]
        pairs = review_sentences((seeds / r["file"]).read_text(encoding="utf-8"))
        found = {h for h, _ in pairs}
        problems += [f"{review}: heading {h!r} has no sentences in {r['file']}" for h in headings if h not in found]
        items += [Item(s, h, str(review), tuple(headings[h]), book_path) for h, s in pairs if h in headings]
    if problems:
        raise ValueError(f"{mapping}:\n  " + "\n  ".join(problems))
    return items


def families_by_codebook(items: Sequence[Item]) -> dict[Path, tuple[str, ...]]:
    """The gold families each codebook is asked about, in first-seen order."""
    out: dict[Path, dict[str, None]] = {}
    for it in items:
        out.setdefault(it.codebook, {}).update(dict.fromkeys(it.gold))
    return {k: tuple(v) for k, v in out.items()}


# --- scoring -----------------------------------------------------------------------------------------


def _under(codebook: Codebook) -> Callable[[str, str], bool]:
    """``is_under(code, family)``: the code is the family or one of its descendants."""
    by_path = codebook.by_path()

    def is_under(code: str, family: str) -> bool:
        p: str | None = code
        while p is not None:
            if p == family:
                return True
            p = by_path[p].parent if p in by_path else None
        return False

    return is_under


def _rates(hits: Sequence[dict[int, bool]], ks: Sequence[int]) -> dict[str, Any]:
    n = len(hits)
    return {"n": n, **{f"top{k}": (sum(h[k] for h in hits) / n if n else float("nan")) for k in ks}}


def evaluate(items: Sequence[Item], rank: Ranker, ks: Sequence[int] = KS) -> dict[str, Any]:
    """Top-k family accuracy of ``rank`` on ``items``: pooled, per review and per (review, heading).

    Returns ``{"n", "top1", "top3", "reviews": {review: {...}}, "headings": {"review: heading": {...}}}``.
    """
    hits: list[dict[int, bool]] = [{} for _ in items]
    for book_path in dict.fromkeys(it.codebook for it in items):
        codebook = read_codebook(book_path)
        is_under = _under(codebook)
        idx = [i for i, it in enumerate(items) if it.codebook == book_path]
        ranked = rank(codebook, [items[i].text for i in idx])
        if len(ranked) != len(idx):
            raise ValueError(f"ranker returned {len(ranked)} rankings for {len(idx)} texts")
        for i, codes in zip(idx, ranked, strict=True):
            for k in ks:
                hits[i][k] = any(is_under(c, f) for c in codes[:k] for f in items[i].gold)
    groups: dict[str, dict[str, list[int]]] = {"reviews": {}, "headings": {}}
    for i, it in enumerate(items):
        groups["reviews"].setdefault(it.review, []).append(i)
        groups["headings"].setdefault(f"{it.review}: {it.heading}", []).append(i)
    out = _rates(hits, ks)
    for name, g in groups.items():
        out[name] = {key: _rates([hits[i] for i in idx], ks) for key, idx in g.items()}
    return out


# --- rankers -----------------------------------------------------------------------------------------


def cached(embed: Embed) -> Embed:
    """``embed`` that embeds each distinct text once (both rankers see the same sentences)."""
    memo: dict[str, np.ndarray] = {}

    def embed_cached(texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in memo]
        if new:
            memo.update(zip(new, np.asarray(embed(new), dtype=np.float32), strict=True))
        return np.stack([memo[t] for t in texts])

    return embed_cached


def _order(scores: np.ndarray, paths: Sequence[str]) -> list[list[str]]:
    order = np.argsort(-scores, axis=1, kind="stable")
    return [[paths[j] for j in row] for row in order]


def similarity_ranker(embed: Embed, suggester: str = "similarity.v2") -> Ranker:
    """A zero-shot suggester: every code by its score, best first."""
    from coder import suggest as sg

    contrast = sg.contrast_of(suggester)

    def rank(codebook: Codebook, texts: list[str]) -> list[list[str]]:
        profile = sg.build_profile(codebook, embed, against=contrast > 0)
        return _order(sg.score(embed(texts), profile, contrast=contrast).scores, profile.paths)

    return rank


def family_line(codebook: Codebook, path: str) -> str:
    """``name: definition`` of a family code, the definition cut to its first sentence."""
    code = codebook.by_path()[path]
    return f"{code.name}: {split_sentences(' '.join(code.definition.split()))[0]}"


def family_list_ranker(embed: Embed, families: dict[Path, tuple[str, ...]]) -> Ranker:
    """Baseline: only the families, each one ``name: definition`` line, by cosine, best first."""

    def rank(codebook: Codebook, texts: list[str]) -> list[list[str]]:
        fams = families[Path(codebook.source)]
        lines = embed([family_line(codebook, f) for f in fams])
        return _order(embed(texts) @ lines.T, fams)

    return rank


# --- report ------------------------------------------------------------------------------------------


def _f(x: float) -> str:
    return f"{x:.2f}"


def report(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per ranker × review (and pooled), then top-1/top-3 per heading."""
    lines = [
        "| ranker | review | n | top-1 | top-3 |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, res in results.items():
        for review, r in res["reviews"].items():
            lines.append(f"| {name} | {review} | {r['n']} | {_f(r['top1'])} | {_f(r['top3'])} |")
        lines.append(f"| {name} | **pooled** | {res['n']} | **{_f(res['top1'])}** | **{_f(res['top3'])}** |")
    lines.append(f"| goal | | | {_f(GOAL[1])} | {_f(GOAL[3])} |")
    names = list(results)
    lines += [
        "",
        "| heading | n | " + " | ".join(f"{n} top-1 | {n} top-3" for n in names) + " |",
        "| --- | ---: |" + " ---: | ---: |" * len(names),
    ]
    first = results[names[0]]["headings"]
    for key, r in first.items():
        cells = " | ".join(
            f"{_f(results[n]['headings'][key]['top1'])} | {_f(results[n]['headings'][key]['top3'])}" for n in names
        )
        lines.append(f"| {key} | {r['n']} | {cells} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mapping", type=Path, default=MAPPING, help="heading → family mapping (YAML)")
    ap.add_argument("--seeds", type=Path, default=SEEDS, help="folder holding the review texts")
    ap.add_argument("--model", default=None, help="embedding model: default the packaged one; 'hash' = fake")
    ap.add_argument("--write", action="store_true", help="also write its section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)

    from coder.embed import load_embedder

    t0 = time.perf_counter()
    items = load_items(args.mapping, args.seeds)
    embedder = load_embedder(args.model)
    embed_id = embedder.model_id
    embed = cached(embedder.embed)
    fams = families_by_codebook(items)
    rankers: dict[str, Ranker] = {
        "similarity.v2": similarity_ranker(embed),
        "similarity.v1": similarity_ranker(embed, "similarity.v1"),
        "family list": family_list_ranker(embed, fams),
    }
    results = {name: evaluate(items, rank) for name, rank in rankers.items()}
    books = [
        f"`{path.relative_to(ROOT)}` ({len(f)} families in the mapping: the baseline's list)"
        for path, f in fams.items()
    ]
    body = "\n".join(
        [
            "## Results sections of the two reviews (`make bench-quality`)\n",
            f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; machine: {bench_run.machine()}",
            f"- embeddings: `{embed_id}`; codebook {', '.join(books)}; {len(items)} sentences; "
            f"{time.perf_counter() - t0:.1f} s\n",
            "**How it is measured.** Each sentence of the results sections of the two reviews in ../shared/seeds "
            "(six words or more, tables left out) is an item; its gold is the codebook family of the sub-heading "
            "it sits under (`benchmarks/codebooks/results-families.yaml`, our own judgement, with the reasons in "
            "its header). A hit at top-k: one of the ranker's first k codes is that family or a code under it. "
            "Nothing is fitted to these sentences. *similarity.v2* and *similarity.v1* rank every code of the codebook "
            "by the suggester's score; *family list* is a baseline that ranks only the mapped families, each from one "
            "`name: first sentence of its definition` line, so it chooses among fewer, gold-only codes and is "
            "not a like-for-like comparison. Goal (issue 16): top-1 ≥ 0.70 and top-3 ≥ 0.90 zero-shot.\n",
            report(results),
        ]
    )
    print(body)
    if args.write:
        results_sections.put(ROOT / "benchmarks" / "RESULTS.md", "results-sections", body)
        print("wrote its section of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
