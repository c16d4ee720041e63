"""Agreement reports as text, Markdown, CSV and JSON (strings). Rendering only: the numbers come from
``coder.app.reliability.agree``."""

from __future__ import annotations

import csv
import html
import io
import json
import math

from coder.agreement import MAX_DRAWS, MIN_RESAMPLES
from coder.app.reliability import RARE, AgreeResult, CodeAgreement, Disagreement

FORMATS = ("text", "md", "csv", "json", "html")
UNIT_WORDS = {"segment": "sentences", "turn": "turns", "document": "documents", "participant": "participants"}
UNIT_WORD = {"segment": "sentence", "turn": "speaker turn", "document": "document", "participant": "participant"}


def _num(x: float, digits: int = 3) -> str:
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f}%"


def _ci(ci: tuple[float, float]) -> str:
    return "–" if math.isnan(ci[0]) else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def title(r: AgreeResult) -> str:
    level = f" (codes cut to depth {r.depth})" if r.depth else ""
    return f"Agreement of {' and '.join(r.coders)}: is each code present in each {UNIT_WORD[r.unit]}?{level}"


def _coverage_rule(r: AgreeResult) -> str:
    if r.coverage == "documents":
        return (
            "Units counted: those every coder reviewed in full. A person reviewed every participant sentence of "
            "each document in which they made a decision (an uncoded sentence there means 'none of these "
            "codes'); the machine, every sentence its run scored."
        )
    return (
        "Units counted: those on which every coder answered for at least one sentence (--coverage decided); "
        "the machine reviewed every sentence its run scored."
    )


def notes(r: AgreeResult) -> list[str]:
    boot = (
        f"95% interval from {r.n_boot:,} bootstrap resamples of the units (seed {r.seed}; the pooled row "
        "resamples whole units with all their codes)"
        if r.n_boot
        else "no bootstrap interval (--bootstrap 0)"
    )
    kappa = "Cohen's κ (two coders)" if len(r.coders) == 2 else "Fleiss' κ (more than two coders)"
    excluded = r.units_total - r.units_included
    per = ", ".join(f"{n}: {k:,}" for n, k in r.not_reviewed.items() if k)
    return [
        *[f"{name} = {run}." for name, run in r.machines.items()],
        f"Units: {r.units_included:,} of {r.units_total:,} {UNIT_WORDS[r.unit]} counted; {excluded:,} excluded"
        + (f" (not reviewed by {per})." if per else "."),
        f"Columns: units each coder gave the code; % agreement; {kappa}; Krippendorff's α (nominal) with its "
        f"{boot}; Gwet's AC1; prevalence = share of ratings that say 'present'. Resamples in which α is "
        "undefined (no one varies) are left out of its interval; csv and json give how many.",
        f"Verdict by α (Krippendorff 2004): ≥ {r.reliable:.3f} reliable, ≥ {r.tentative:.3f} tentative "
        "conclusions only, below that unreliable; undefined when no coder varies.",
        f"! = prevalence under {RARE:.0%}: κ and α swing on a handful of units for rare codes (the kappa "
        "paradox); read % agreement and AC1 beside them.",
        *_capped(r),
        _coverage_rule(r),
        *[f"Warning: {w}" for w in r.warnings],
    ]


def _capped(r: AgreeResult) -> list[str]:
    """A note for each row whose interval has fewer resamples than asked for, and why."""
    rows = [x for x in (*r.rows, r.pooled, r.exact) if x is not None and 0 < x.summary.resamples < r.n_boot]
    return [
        f"The interval of '{x.code}' is from {x.summary.resamples:,} resamples, not {r.n_boot:,}: its units show "
        f"so many different patterns of codes that {r.n_boot:,} resamples would draw over {MAX_DRAWS:,} counts "
        f"(seconds of work), so this row draws at most that many (and at least {MIN_RESAMPLES} resamples)."
        for x in rows
    ]


def _rare(row: CodeAgreement) -> bool:
    return not math.isnan(row.prevalence) and row.prevalence < RARE


def _cells(row: CodeAgreement) -> list[str]:
    s = row.summary
    return [
        *(f"{n:,}" for n in row.coded_by),
        _pct(s.percent),
        _num(s.kappa),
        "–" if math.isnan(s.alpha) else f"{_num(s.alpha)} {_ci(s.alpha_ci)}",
        _num(s.ac1),
        _pct(row.prevalence) + ("!" if _rare(row) else ""),
        row.verdict,
    ]


def _label(path: str) -> tuple[int, str]:
    parts = path.split(" > ")
    return len(parts) - 1, parts[-1]


def _table_rows(r: AgreeResult) -> list[tuple[str, list[str] | None]]:
    """(label, cells) in codebook order; ancestors without a row of their own appear as headings."""
    out: list[tuple[str, list[str] | None]] = []
    shown: set[str] = set()
    codes = {row.code for row in r.rows}
    for row in r.rows:
        parts = row.code.split(" > ")
        for d in range(len(parts) - 1):
            prefix = " > ".join(parts[: d + 1])
            if prefix not in shown and prefix not in codes:
                out.append(("  " * d + parts[d], None))
                shown.add(prefix)
        depth, name = _label(row.code)
        out.append(("  " * depth + name, _cells(row)))
        shown.add(row.code)
    for extra in (r.pooled, r.exact):
        if extra is not None:
            out.append((extra.code, _cells(extra)))
    return out


def _header(r: AgreeResult) -> list[str]:
    kappa = "κ Cohen" if len(r.coders) == 2 else "κ Fleiss"
    return [*(c[:12] for c in r.coders), "agree", kappa, "α [95% CI]", "AC1", "prev.", "verdict"]


def grid(r: AgreeResult) -> tuple[list[str], list[list[str]]]:
    """The table as (header, rows) for Word and Excel: codes indented four spaces a level, so a writer can set
    the top-level codes in bold; an ancestor without a row of its own is a row of empty cells."""
    header = ["Code", *_header(r)]
    rows = []
    for label, cells in _table_rows(r):
        name = label.lstrip(" ")
        rows.append(["    " * ((len(label) - len(name)) // 2) + name, *(cells or [""] * (len(header) - 1))])
    return header, rows


def disagreement_grid(r: AgreeResult) -> tuple[list[str], list[list[str]]]:
    """Each disagreement as a row (the CSV's columns), for Word and Excel."""
    rows = [
        [d.unit, d.document, d.participant, d.text, d.code, "; ".join(d.coded_by), "; ".join(d.not_coded_by)]
        for d in r.disagreements
    ]
    return list(DISAGREEMENT_FIELDS), rows


def render(r: AgreeResult, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(as_dict(r), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        cols = _csv_columns(r)
        w.writerow(cols)
        for kind, row in [("code", x) for x in r.rows] + [
            (k, x) for k, x in (("pooled", r.pooled), ("exact", r.exact)) if x is not None
        ]:
            d = _row_dict(r, row)
            w.writerow([kind, *(("" if d[c] is None else d[c]) for c in cols[1:])])
        return buf.getvalue()
    header = _header(r)
    rows = _table_rows(r)
    if fmt == "md":
        lines = [f"**{title(r)}**", "", "| Code | " + " | ".join(header) + " |"]
        lines.append("| --- |" + " ---: |" * (len(header) - 1) + " --- |")
        for label, cells in rows:
            name = label.lstrip(" ")
            indent = "&nbsp;&nbsp;" * ((len(label) - len(name)) // 2)
            if cells is None:
                lines.append(f"| {indent}*{name}* |" + " |" * len(header))
            else:
                lines.append(f"| {indent}{name} | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines += [""] + [f"*{n}*" for n in notes(r)]
        return "\n".join(lines) + "\n"
    if fmt == "html":
        from coder.report import html_page

        return html_page(title(r), html_fragment(r, disagreements=bool(r.disagreements)))
    if fmt != "text":
        raise ValueError(f"format must be one of {FORMATS}")
    labels = [(label[:46] + "…") if len(label) > 47 else label for label, _ in rows]
    width = max([len("code"), *(len(x) for x in labels)])
    widths = [max([len(h), *(len(c[i]) for _, c in rows if c is not None)]) for i, h in enumerate(header)]

    def line(first: str, cells: list[str]) -> str:
        padded = [c.rjust(w) for c, w in zip(cells[:-1], widths, strict=False)] + cells[-1:]
        return f"{first:<{width}}  {'  '.join(padded)}".rstrip()

    out = [title(r), line("code", header)]
    for label, (_, cells) in zip(labels, rows, strict=True):
        out.append(line(label, cells) if cells is not None else label)
    if not r.rows:
        out.append("(no code was given by any coder in the units counted)")
    out += ["", *notes(r)]
    return "\n".join(out) + "\n"


def html_fragment(r: AgreeResult, *, disagreements: bool = False) -> str:
    """The agreement table and its notes as an escaped HTML fragment (the review page embeds it)."""
    from coder.report import html_table

    body = []
    for label, cells in _table_rows(r):
        name = label.lstrip(" ")
        depth = (len(label) - len(name)) // 2
        body.append(([name, *(cells or [""] * len(_header(r)))], depth, cells is None or depth == 0))
    extra = [] if r.rows else ["(no code was given by any coder in the units counted)"]
    out = html_table(["Code", *_header(r)], body, title=title(r), notes=[*extra, *notes(r)], numeric_from=1)
    if disagreements:
        e = html.escape
        ds = r.disagreements
        out += f"<h2>{len(ds):,} disagreement(s) between {e(', '.join(r.coders))}</h2>\n<dl>\n"
        last = None
        for d in ds:
            if d.unit != last:
                quote = f"<blockquote>“{e(d.text)}”</blockquote>" if d.text else ""
                out += f"<dt>{e(d.unit)} (participant {e(d.participant)}){quote}</dt>\n"
                last = d.unit
            out += f"<dd>{e(d.code)}: coded by {e(', '.join(d.coded_by))}; not by {e(', '.join(d.not_coded_by))}</dd>\n"
        out += "</dl>\n"
    return out


def _csv_columns(r: AgreeResult) -> list[str]:
    return [
        "row",
        "code",
        *(f"units_{c}" for c in r.coders),
        "units",
        "percent_agreement",
        "kappa_type",
        "kappa",
        "kappa_ci_low",
        "kappa_ci_high",
        "alpha",
        "alpha_ci_low",
        "alpha_ci_high",
        "alpha_resamples_undefined",
        "gwet_ac1",
        "brennan_prediger",
        "prevalence",
        "verdict",
    ]


def _clean(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def _row_dict(r: AgreeResult, row: CodeAgreement) -> dict[str, object]:
    s = row.summary
    return {
        "code": row.code,
        **{f"units_{c}": n for c, n in zip(r.coders, row.coded_by, strict=True)},
        "units": s.units,
        "percent_agreement": _clean(s.percent),
        "kappa_type": s.kappa_name,
        "kappa": _clean(s.kappa),
        "kappa_ci_low": _clean(s.kappa_ci[0]),
        "kappa_ci_high": _clean(s.kappa_ci[1]),
        "alpha": _clean(s.alpha),
        "alpha_ci_low": _clean(s.alpha_ci[0]),
        "alpha_ci_high": _clean(s.alpha_ci[1]),
        "alpha_resamples_undefined": s.alpha_undefined,
        "gwet_ac1": _clean(s.ac1),
        "brennan_prediger": _clean(s.brennan_prediger),
        "prevalence": _clean(row.prevalence),
        "verdict": row.verdict,
    }


def as_dict(r: AgreeResult) -> dict[str, object]:
    return {
        "title": title(r),
        "coders": r.coders,
        "machines": r.machines,
        "unit": r.unit,
        "coverage": r.coverage,
        "depth": r.depth,
        "units_total": r.units_total,
        "units_counted": r.units_included,
        "not_reviewed": r.not_reviewed,
        "thresholds": {"reliable": r.reliable, "tentative": r.tentative},
        "bootstrap": {"resamples": r.n_boot, "seed": r.seed, "level": 0.95},
        "codes": [_row_dict(r, x) for x in r.rows],
        "pooled": None if r.pooled is None else _row_dict(r, r.pooled),
        "exact": _row_dict(r, r.exact),
        "notes": notes(r),
        "disagreements": [_disagreement_dict(d) for d in r.disagreements],
    }


DISAGREEMENT_FIELDS = ("unit", "document", "participant", "text", "code", "coded_by", "not_coded_by")


def _disagreement_dict(d: Disagreement) -> dict[str, object]:
    return {k: getattr(d, k) for k in DISAGREEMENT_FIELDS}


def render_disagreements(r: AgreeResult, fmt: str = "text") -> str:
    """Each disagreement (unit, code) for a reconciliation meeting."""
    ds = r.disagreements
    if fmt == "json":
        return json.dumps([_disagreement_dict(d) for d in ds], indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(DISAGREEMENT_FIELDS)
        w.writerows(disagreement_grid(r)[1])
        return buf.getvalue()
    if fmt not in ("text", "md"):
        raise ValueError(f"format must be one of {FORMATS}")
    md = fmt == "md"
    out = [("**" if md else "") + f"{len(ds):,} disagreement(s) between {', '.join(r.coders)}" + ("**" if md else "")]
    last = None
    for d in ds:
        if d.unit != last:
            out += ["", (f"### {d.unit}" if md else d.unit) + f" (participant {d.participant})"]
            if d.text:
                out.append(("> " if md else "  ") + f"“{d.text}”")
            last = d.unit
        out.append(
            ("- " if md else "    ") + f"{d.code}: coded by {', '.join(d.coded_by)}; not by {', '.join(d.not_coded_by)}"
        )
    return "\n".join(out) + "\n"
