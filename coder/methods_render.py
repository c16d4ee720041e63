"""The methods report rendered: plain text or Markdown (:func:`render`), or a Word file (:func:`write_docx`).

:mod:`coder.methods_report` holds the facts and their wording (paragraphs, figures, tables); this module only
lays them out.
"""

from __future__ import annotations

from coder.methods_report import FORMATS, MethodsReport, figures, paragraphs, tables
from coder.report import docx_table


def render(r: MethodsReport, fmt: str = "text") -> str:
    """The paragraphs, then the figures and tables behind them, as plain text or Markdown."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    md = fmt == "md"
    out = ["## Methods" if md else "Methods", "", *(x for p in paragraphs(r) for x in (p, ""))]
    facts = figures(r)
    out += ["### Figures" if md else "Figures", ""]
    width = max(len(label) for label, _ in facts)
    out += [f"- {label}: {value}" if md else f"  {label:<{width}}  {value}" for label, value in facts]
    for title, header, rows in tables(r):
        out += ["", f"**{title}**" if md else title, ""]
        if md:
            out.append("| " + " | ".join(header) + " |")
            out.append("| --- |" + " ---: |" * (len(header) - 1))
            out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        else:
            widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
            for row in [header, *rows]:
                cells = [row[0].ljust(widths[0]), *(x.rjust(w) for x, w in zip(row[1:], widths[1:], strict=True))]
                out.append("  " + "  ".join(cells).rstrip())
    return "\n".join(out).rstrip("\n") + "\n"


def write_docx(r: MethodsReport, path: str) -> None:
    """A Word document: the paragraphs ready to paste, then the figures and tables behind them."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.add_paragraph().add_run("Methods").bold = True
    for p in paragraphs(r):
        document.add_paragraph(p)
    document.add_paragraph().add_run("Figures").bold = True
    for label, value in figures(r):
        line = document.add_paragraph()
        line.add_run(f"{label}: ").bold = True
        line.add_run(value)
        line.paragraph_format.space_after = Pt(0)
    for title, header, rows in tables(r):
        document.add_paragraph().add_run(title).bold = True
        docx_table(document, header, rows)
    document.save(path)
