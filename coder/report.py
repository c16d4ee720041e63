"""Render tallies as text, Markdown, CSV or JSON. Pure: rows in, a string out."""

from __future__ import annotations

import csv
import io
import json

from coder.tally import RULES, TallyRow

FORMATS = ("text", "md", "csv", "json")
COLUMNS = ("code", "path", "level", "mentions", "of_parent", "participants", "participants_total", "participants_pct")


def _cells(r: TallyRow) -> list[object]:
    return [
        r.name,
        r.path,
        r.depth + 1,
        r.mentions,
        r.share,
        r.participants,
        r.participants_total,
        round(r.participant_pct, 1),
    ]


def render_tally(rows: list[TallyRow], fmt: str = "text", *, title: str, notes: list[str] | None = None) -> str:
    notes = [*(notes or []), RULES]
    if fmt == "json":
        return (
            json.dumps(
                {"title": title, "notes": notes, "rows": [dict(zip(COLUMNS, _cells(r), strict=True)) for r in rows]},
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(_cells(r))
        return buf.getvalue()
    if fmt == "md":
        lines = [
            f"**{title}**",
            "",
            "| Code | Mentions | n/N of parent | Participants |",
            "| --- | ---: | ---: | ---: |",
        ]
        for r in rows:
            name = "&nbsp;&nbsp;&nbsp;&nbsp;" * r.depth + (f"**{r.name}**" if r.depth == 0 else r.name)
            lines.append(
                f"| {name} | {r.mentions} | {r.share} | {r.participants} of {r.participants_total} "
                f"({r.participant_pct:.0f}%) |"
            )
        lines += [""] + [f"*{n}*" for n in notes]
        return "\n".join(lines) + "\n"
    if fmt != "text":
        raise ValueError(f"format must be one of {FORMATS}")
    labels = [("  " * r.depth + r.name)[:60] for r in rows]
    width = max([len("code"), *(len(x) for x in labels)])
    out = [title, f"{'code':<{width}}  {'mentions':>8}  {'of parent':>9}  {'participants':>16}"]
    for label, r in zip(labels, rows, strict=True):
        out.append(
            f"{label:<{width}}  {r.mentions:>8}  {r.share:>9}  {r.participants:>4} of {r.participants_total:<3} "
            f"({r.participant_pct:3.0f}%)"
        )
    out += ["", *notes]
    return "\n".join(out) + "\n"
