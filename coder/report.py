"""Render tallies as text, Markdown, CSV, JSON or HTML. Pure: rows in, a string out."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from coder.tally import RULES, CrossRow, CrossTab, TallyRow

FORMATS = ("text", "md", "csv", "json", "html")
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


def to_json(data: object) -> str:
    """Indented JSON that keeps non-ASCII names readable, ending in a newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_csv(rows: Iterable[Iterable[object]]) -> str:
    """CSV text (rows end in CRLF, as the csv module writes them)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def render_tally(rows: list[TallyRow], fmt: str = "text", *, title: str, notes: list[str] | None = None) -> str:
    notes = [*(notes or []), RULES]
    if fmt == "json":
        return to_json(
            {"title": title, "notes": notes, "rows": [dict(zip(COLUMNS, _cells(r), strict=True)) for r in rows]}
        )
    if fmt == "csv":  # the title goes on every row, so "pre-coded, unreviewed" cannot be lost
        return to_csv([[*COLUMNS, "table"], *([*_cells(r), title] for r in rows)])
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
    if fmt == "html":
        return html_page(title, tally_html(rows, title=title, notes=notes))
    if fmt != "text":
        raise ValueError(f"format must be one of {FORMATS}")
    labels = ["  " * r.depth + r.name for r in rows]
    width = max([len("code"), *(len(x) for x in labels)])
    out = [title, f"{'code':<{width}}  {'mentions':>8}  {'of parent':>9}  {'participants':>16}"]
    for label, r in zip(labels, rows, strict=True):
        out.append(
            f"{label:<{width}}  {r.mentions:>8}  {r.share:>9}  {r.participants:>4} of {r.participants_total:<3} "
            f"({r.participant_pct:3.0f}%)"
        )
    out += ["", *notes]
    return "\n".join(out) + "\n"


# -- HTML: a fragment the review page embeds, and a standalone page for -o table.html ----------

PAGE_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d232b;padding:0 1rem}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #d8dde3}
th{text-align:left;background:#f1f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.top td{font-weight:600}caption{text-align:left;font-weight:600;font-size:1.1rem;padding:.4rem 0}
p.note{color:#55606c;font-size:.9rem}td.d1{padding-left:1.8rem}td.d2{padding-left:3rem}td.d3{padding-left:4.2rem}
td.d4{padding-left:5.4rem}td.d5{padding-left:6.6rem}"""


def html_table(
    header: list[str], rows: list[tuple[list[str], int, bool]], *, title: str, notes: list[str], numeric_from: int = 1
) -> str:
    """A captioned table and its notes as an HTML fragment; every string is escaped.

    ``rows`` are (cells, indent level, is a top-level row); cells from ``numeric_from`` on align right.
    """
    e = html.escape
    out = [f"<table><caption>{e(title)}</caption><thead><tr>"]
    out += [f"<th>{e(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for cells, depth, top in rows:
        out.append('<tr class="top">' if top else "<tr>")
        for i, c in enumerate(cells):
            if i == 0:
                out.append(f'<td class="d{min(depth, 5)}">{e(c)}</td>')  # classes: the page's CSP bars inline styles
            else:
                out.append(f'<td class="n">{e(c)}</td>' if i >= numeric_from else f"<td>{e(c)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    out += [f'<p class="note">{e(n)}</p>' for n in notes]
    return "\n".join(out) + "\n"


def tally_html(rows: list[TallyRow], *, title: str, notes: list[str]) -> str:
    return html_table(
        ["Code", "Mentions", "n/N of parent", "Participants"],
        [
            (
                [
                    r.name,
                    str(r.mentions),
                    r.share,
                    f"{r.participants} of {r.participants_total} ({r.participant_pct:.0f}%)",
                ],
                r.depth,
                r.depth == 0,
            )
            for r in rows
        ],
        title=title,
        notes=notes,
    )


def html_page(title: str, body: str) -> str:
    """A standalone HTML document: no scripts, no remote assets."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )


# -- documents for papers: LaTeX, Word, Excel, charts -----------------------------------------

FILE_FORMATS = ("tex", "docx", "xlsx", "png", "svg")


def _tex_escape(text: str) -> str:
    repl = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(repl.get(ch, ch) for ch in text)


def render_tex(rows: list[TallyRow], *, title: str, notes: list[str] | None = None) -> str:
    """A booktabs table (needs \\usepackage{booktabs}); subcodes indented; notes under the table."""
    lines = [
        "% Theme frequencies made by coder; needs \\usepackage{booktabs}",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{_tex_escape(title)}}}",
        "\\begin{tabular}{lrrr}",
        "\\toprule",
        "Code & Mentions & $n/N$ of parent & Participants \\\\",
        "\\midrule",
    ]
    for r in rows:
        name = _tex_escape(r.name)
        name = f"\\textbf{{{name}}}" if r.depth == 0 else f"\\hspace{{{r.depth}em}}{name}"
        lines.append(
            f"{name} & {r.mentions} & {r.share} & {r.participants} of {r.participants_total} "
            f"({r.participant_pct:.0f}\\%) \\\\"
        )
    lines += ["\\bottomrule", "\\end{tabular}"]
    for n in [*(notes or []), RULES]:
        lines.append(f"\\par\\smallskip\\footnotesize {_tex_escape(n)}")
    lines += ["\\end{table}", ""]
    return "\n".join(lines)


def write_docx(rows: list[TallyRow], path: str, *, title: str, notes: list[str] | None = None) -> None:
    """A Word document with the table ready to paste: bold categories, indented subcodes."""
    grid = [
        [
            "    " * r.depth + r.name,
            str(r.mentions),
            r.share,
            f"{r.participants} of {r.participants_total} ({r.participant_pct:.0f}%)",
        ]
        for r in rows
    ]
    write_grid_docx(
        ["Code", "Mentions", "n/N of parent", "Participants"], grid, path, title=title, notes=[*(notes or []), RULES]
    )


def write_xlsx(
    views: dict[str, list[TallyRow]],
    path: str,
    *,
    title: str,
    notes: list[str] | None = None,
    cross: CrossTab | None = None,
) -> None:
    """An Excel workbook with one sheet per view (and the title, notes and counting rules on each)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in views.items():
        ws = wb.create_sheet(name[:31])
        ws.append([title])
        ws["A1"].font = Font(bold=True)
        ws.append(["Code", "Path", "Level", "Mentions", "n/N of parent", "Participants", "of", "%"])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append(_cells(r))
            ws.cell(row=ws.max_row, column=1).alignment = Alignment(indent=r.depth)
            if r.depth == 0:
                ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.append([])
        for n in [*(notes or []), RULES]:
            ws.append([n])
        ws.column_dimensions["A"].width = 48
        ws.column_dimensions["B"].width = 60
    if cross is not None:
        ws = wb.create_sheet(f"By {cross.attribute}"[:31])
        for row in csv.reader(io.StringIO(render_crosstab(cross, "csv", title=title))):
            ws.append([int(x) if x.isdigit() else x for x in row])
        ws.column_dimensions["A"].width = 48
    wb.save(path)


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display), imported only when a chart is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _whole_numbers() -> Any:
    """A tick locator for counts: whole numbers only, never 0.5."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def write_chart(rows: list[TallyRow], path: str, *, title: str) -> None:
    """A horizontal bar chart of mentions and participants per code (PNG or SVG, from the extension)."""
    plt = _pyplot()

    shown = list(reversed(rows))
    labels = ["  " * r.depth + r.name for r in shown]
    height = max(2.5, 0.32 * len(shown) + 1.2)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, height), sharey=True, constrained_layout=True)
    y = range(len(shown))
    ax1.barh(y, [r.mentions for r in shown], color="#4C72B0")
    ax1.set_yticks(list(y), labels, fontsize=8)
    ax1.set_xlabel("mentions")
    total = shown[0].participants_total if shown else 0
    ax2.barh(y, [r.participants for r in shown], color="#DD8452")
    ax2.set_xlabel(f"participants (of {total})")
    if total:
        ax2.set_xlim(0, total)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(_whole_numbers())
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def render_crosstab(tab: CrossTab, fmt: str = "text", *, title: str, depth: int | None = None) -> str:
    """Participants (k of P) and mentions per attribute value; column totals in the header."""
    rows = [r for r in tab.rows if depth is None or r.depth < depth]
    head = [f"{v} (n={tab.participants_total[v]})" for v in tab.values]
    note = (
        f"Cells: participants mentioning the code of all participants with that {tab.attribute} "
        "(and their mentions). Column totals: participants in scope and their coded sentences."
    )
    if fmt == "json":
        return to_json(
            {
                "title": title,
                "attribute": tab.attribute,
                "values": tab.values,
                "participants_total": tab.participants_total,
                "mentions_total": tab.mentions_total,
                "rows": [
                    {
                        "code": r.name,
                        "path": r.path,
                        "level": r.depth + 1,
                        "mentions": r.mentions,
                        "participants": r.participants,
                    }
                    for r in rows
                ],
                "notes": [note, RULES],
            }
        )
    if fmt == "csv":
        return to_csv(
            [
                ["code", "path", "level", *(f"{v} participants" for v in tab.values)]
                + [f"{v} mentions" for v in tab.values],
                ["(in scope)", "", "", *(tab.participants_total[v] for v in tab.values)]
                + [tab.mentions_total[v] for v in tab.values],
                *(
                    [r.name, r.path, r.depth + 1, *(r.participants[v] for v in tab.values)]
                    + [r.mentions[v] for v in tab.values]
                    for r in rows
                ),
            ]
        )

    def cell(r: CrossRow, v: str) -> str:
        return f"{r.participants[v]}/{tab.participants_total[v]} ({r.mentions[v]})"

    if fmt == "md":
        lines = [f"**{title}**", "", "| Code | " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(head)]
        lines.append("| *coded sentences* | " + " | ".join(str(tab.mentions_total[v]) for v in tab.values) + " |")
        for r in rows:
            name = "&nbsp;&nbsp;&nbsp;&nbsp;" * r.depth + (f"**{r.name}**" if r.depth == 0 else r.name)
            lines.append(f"| {name} | " + " | ".join(cell(r, v) for v in tab.values) + " |")
        return "\n".join([*lines, "", f"*{note}*", f"*{RULES}*"]) + "\n"
    if fmt != "text":
        raise ValueError(f"format must be one of {FORMATS}")
    labels = ["  " * r.depth + r.name for r in rows]
    width = max([len("code"), *(len(x) for x in labels)])
    cols = [max(len(h), 12) for h in head]
    out = [
        title,
        f"{'code':<{width}}  " + "  ".join(f"{h:>{c}}" for h, c in zip(head, cols, strict=True)),
        f"{'coded sentences':<{width}}  "
        + "  ".join(f"{tab.mentions_total[v]:>{c}}" for v, c in zip(tab.values, cols, strict=True)),
    ]
    for label, r in zip(labels, rows, strict=True):
        out.append(
            f"{label:<{width}}  " + "  ".join(f"{cell(r, v):>{c}}" for v, c in zip(tab.values, cols, strict=True))
        )
    return "\n".join([*out, "", note, RULES]) + "\n"


def render_matrix(
    row_labels: list[str],
    col_labels: list[str],
    matrix: list[list[int]],
    fmt: str,
    *,
    title: str,
    corner: str = "",
    notes: list[str] | None = None,
) -> str:
    """A labelled integer matrix (presence, co-occurrence) as text, Markdown, CSV or JSON."""
    notes = notes or []
    if fmt == "json":
        return to_json({"title": title, "rows": row_labels, "columns": col_labels, "matrix": matrix, "notes": notes})
    if fmt == "csv":
        # an unreviewed table says so in its first cell, the only one a CSV has for it
        head = [f"{corner} ({title})" if "UNREVIEWED" in title else corner, *col_labels]
        return to_csv([head, *([label, *row] for label, row in zip(row_labels, matrix, strict=True))])
    if fmt == "md":
        lines = [
            f"**{title}**",
            "",
            f"| {corner} | " + " | ".join(col_labels) + " |",
            "| --- |" + " ---: |" * len(col_labels),
        ]
        lines += [
            f"| {label} | " + " | ".join(str(x) for x in row) + " |"
            for label, row in zip(row_labels, matrix, strict=True)
        ]
        return "\n".join([*lines, "", *(f"*{n}*" for n in notes)]) + "\n"
    if fmt != "text":
        raise ValueError(f"format must be one of {FORMATS}")
    return "\n".join(_matrix_text(row_labels, col_labels, matrix, title=title, corner=corner) + notes) + "\n"


HEADER_WIDTH = 14  # longer column names are numbered and spelled out under the table, never cut


def _matrix_text(
    row_labels: list[str], col_labels: list[str], matrix: list[list[int]], *, title: str, corner: str
) -> list[str]:
    """The text table's lines, a blank line after it (and the column legend, if any, then another)."""
    head, legend = col_labels, []
    if any(len(c) > HEADER_WIDTH for c in col_labels):
        head = [str(i) for i in range(1, len(col_labels) + 1)]
        w = len(head[-1])
        if row_labels == col_labels:  # a square table of codes: the rows carry the numbers (as in a paper)
            row_labels = [f"{i:>{w}}. {label}" for i, label in enumerate(row_labels, 1)]
        else:
            legend = [*(f"{i:>{w}} = {c}" for i, c in zip(head, col_labels, strict=True)), ""]
    width = max([len(corner), *(len(x) for x in row_labels)])
    cols = [max(len(c), 5) for c in head]
    out = [title, f"{corner:<{width}}  " + "  ".join(f"{c:>{n}}" for c, n in zip(head, cols, strict=True))]
    for label, row in zip(row_labels, matrix, strict=True):
        out.append(f"{label:<{width}}  " + "  ".join(f"{x:>{n}}" for x, n in zip(row, cols, strict=True)))
    return [*out, "", *legend]


def write_heatmap(labels: list[str], matrix: list[list[int]], path: str, *, title: str) -> None:
    """A co-occurrence heat map with the counts written in the cells (PNG or SVG)."""
    plt = _pyplot()

    n = len(labels)
    size = max(4.0, 0.45 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.5, size), constrained_layout=True)
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    top = max((max(r) for r in matrix), default=0) or 1
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(matrix[i][j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i][j] > top * 0.6 else "black",
            )
    fig.colorbar(im, ax=ax, shrink=0.7, ticks=_whole_numbers())
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def write_saturation_chart(steps: list[tuple[str, int, int]], path: str, *, title: str) -> None:
    """Code-emergence curve: cumulative codes observed (line) and new codes (bars) per participant."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(steps) + 2), 3.8), constrained_layout=True)
    xs = range(len(steps))
    ax.bar(xs, [s[1] for s in steps], color="#DD8452", label="new codes")
    ax.plot(xs, [s[2] for s in steps], marker="o", color="#4C72B0", label="codes observed so far")
    ax.set_xticks(list(xs), [s[0] for s in steps], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("participants, in interview order")
    ax.set_ylabel("codes")
    ax.yaxis.set_major_locator(_whole_numbers())
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=150)
    plt.close(fig)


# -- any labelled grid (matrices, cross-tabs) as LaTeX, Word, Excel ---------------------------------


def crosstab_grid(tab: CrossTab, depth: int | None = None) -> tuple[list[str], list[list[str]]]:
    """The cross-tab as a header and string rows (cells: participants k/P and mentions)."""
    header = ["Code", *(f"{v} (n={tab.participants_total[v]})" for v in tab.values)]
    rows = [["coded sentences", *(str(tab.mentions_total[v]) for v in tab.values)]]
    for r in tab.rows:
        if depth is None or r.depth < depth:
            rows.append(
                [
                    "    " * r.depth + r.name,
                    *(f"{r.participants[v]}/{tab.participants_total[v]} ({r.mentions[v]})" for v in tab.values),
                ]
            )
    return header, rows


def matrix_grid(
    row_labels: list[str], col_labels: list[str], matrix: list[list[int]], corner: str
) -> tuple[list[str], list[list[str]]]:
    return [corner, *col_labels], [
        [label, *(str(x) for x in row)] for label, row in zip(row_labels, matrix, strict=True)
    ]


def grid_tex(header: list[str], rows: list[list[str]], *, title: str, notes: list[str] | None = None) -> str:
    cols = "l" + "r" * (len(header) - 1)
    lines = [
        "% made by coder; needs \\usepackage{booktabs}",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{_tex_escape(title)}}}",
        f"\\begin{{tabular}}{{{cols}}}",
        "\\toprule",
        " & ".join(_tex_escape(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    for row in rows:
        first = row[0]
        indent = (len(first) - len(first.lstrip(" "))) // 4
        cell = f"\\hspace{{{indent}em}}{_tex_escape(first.strip())}" if indent else _tex_escape(first)
        lines.append(" & ".join([cell, *(_tex_escape(c) for c in row[1:])]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    lines += [f"\\par\\smallskip\\footnotesize {_tex_escape(n)}" for n in (notes or [])]
    return "\n".join([*lines, "\\end{table}", ""])


def docx_table(document: Any, header: list[str], rows: list[list[str]], *, bold_top: bool = False) -> None:
    """A grid table with a bold header row in a python-docx document (``bold_top``: first cells that are not
    indented, the top-level codes, in bold too)."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(row[0]).bold = bold_top and not row[0].startswith(" ")
        for cell, text in zip(cells[1:], row[1:], strict=True):
            cell.text = text


def write_grid_docx(
    header: list[str],
    rows: list[list[str]],
    path: str,
    *,
    title: str,
    notes: list[str] | None = None,
    more: Sequence[tuple[str, list[str], list[list[str]]]] = (),
) -> None:
    """A Word document: a title, the table, its notes, then each of ``more`` (title, header, rows) tables."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.add_paragraph().add_run(title).bold = True
    docx_table(document, header, rows, bold_top=True)
    for n in notes or []:
        document.add_paragraph().add_run(n).font.size = Pt(9)
    for more_title, more_header, more_rows in more:
        document.add_paragraph().add_run(more_title).bold = True
        docx_table(document, more_header, more_rows)
    document.save(path)


def write_grid_xlsx(
    header: list[str],
    rows: list[list[str]],
    path: str,
    *,
    title: str,
    sheet: str,
    notes: list[str] | None = None,
    more: Sequence[tuple[str, list[str], list[list[str]]]] = (),
) -> None:
    """A workbook: the table on sheet ``sheet`` (numbers as numbers), then each of ``more`` (sheet name, header,
    rows) on a sheet of its own."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([title])
    ws["A1"].font = Font(bold=True)
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_number(c) for c in row])
    ws.append([])
    for n in notes or []:
        ws.append([n])
    ws.column_dimensions["A"].width = 48
    for name, more_header, more_rows in more:
        extra = wb.create_sheet(name[:31])
        extra.append(more_header)
        for cell in extra[1]:
            cell.font = Font(bold=True)
        for row in more_rows:
            extra.append([_number(c) for c in row])
    wb.save(path)


def _number(cell: str) -> int | float | str:
    """A table cell as Excel should hold it: whole numbers and decimals as numbers, anything else as text."""
    text = cell.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)
    return cell
