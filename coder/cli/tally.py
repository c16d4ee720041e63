"""coder tally, quotes and saturation: what the codings in scope say, as tables, quotes and a curve."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coder.cli._common import atomic_file, open_project, output_option, plural, selection_options, wrap, write_text
from coder.types import PATH_SEP

if TYPE_CHECKING:
    from coder.app.reports import MatrixResult, TallyResult

TALLY_FORMATS = ("text", "md", "csv", "json", "html", "tex", "docx", "xlsx", "png", "svg")
FILE_ONLY = ("docx", "xlsx", "png", "svg")
GRID = ("tex", "docx", "xlsx")


@click.command()
@selection_options()
@click.option("--presence", is_flag=True, help="Write the 0/1 matrix of codes per --unit instead (CSV by default).")
@click.option("--cooccurrence", is_flag=True, help="Write the code × code co-occurrence table per --unit instead.")
@click.option(
    "--unit",
    type=click.Choice(["segment", "participant"]),
    default="segment",
    show_default=True,
    help="Unit for --presence and --cooccurrence: sentences or participants.",
)
@click.option(
    "--by",
    "by",
    default=None,
    metavar="ATTRIBUTE",
    help="Cross-tabulate participants and mentions by a participant attribute (e.g. age_group).",
)
@click.option("--min-mentions", type=click.IntRange(0), default=0, show_default=True, help="Hide rarer codes.")
@click.option("--depth", type=click.IntRange(1), default=None, help="Show this many levels (1 = categories).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(TALLY_FORMATS),
    default=None,
    help="Output format (default: from -o's extension, else text). docx/xlsx/png/svg need -o.",
)
@output_option("Write to FILE (.txt .md .csv .json .html .tex .docx .xlsx .png .svg).")
@click.option("--prose", is_flag=True, help="Add a sentence per top-level code in the style of the reviews.")
@click.pass_context
def tally(
    ctx: click.Context,
    selection: dict[str, Any],
    presence: bool,
    cooccurrence: bool,
    unit: str,
    by: str | None,
    min_mentions: int,
    depth: int | None,
    fmt: str | None,
    output: Path | None,
    prose: bool,
) -> None:
    """Theme frequencies of accepted codings, in the style of Countryman-Roswurm (2012):
    mentions per code, n/N of its parent, and participants mentioning it (k of P, %).

    The counting rules are printed under the table.

    \b
    Examples:
      coder tally --coder ana
      coder tally --consensus --coder ana --coder ben -o table.md
      coder tally --include-suggested --depth 2
      coder tally --coder ana --participants P03 --participants P07 --format csv
      coder tally --coder ana -o themes.docx      # a Word table; also .xlsx .tex .png .svg
      coder tally --coder ana --by age_group --depth 1
    """
    suffix, fmt = _tally_format(fmt, output)
    if fmt == "html" and (presence or cooccurrence or by):
        raise click.UsageError(
            "--format html writes the frequency table; --by, --presence and --cooccurrence write text, md, csv, "
            "json, tex, docx or xlsx"
        )
    if presence and cooccurrence:
        raise click.UsageError("choose --presence or --cooccurrence, not both")
    if by is not None and fmt in ("png", "svg"):
        raise click.UsageError("--by writes text, md, csv, json, tex, docx or xlsx")
    project = open_project(ctx)
    if presence or cooccurrence:
        if not suffix and fmt == "text" and presence:
            fmt = "csv"  # a matrix for a spreadsheet
        if presence:
            m = project.presence(unit=unit, depth=depth, **selection)
        else:
            m = project.cooccurrence(unit=unit, depth=depth if depth is not None else 1, **selection)
        _write_matrix(m, fmt, output, presence=presence, unit=unit)
        return
    t = project.tally(by=by, **selection)
    _write_tally(t, fmt, output, min_mentions=min_mentions, depth=depth, prose=prose, by=by)


def _tally_format(fmt: str | None, output: Path | None) -> tuple[str, str]:
    """(the output file's suffix, the format): --format, else from -o's extension, else text."""
    from coder import report

    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    known = (*report.FORMATS, *report.FILE_FORMATS)
    if fmt is None and suffix and suffix not in (*known, "txt"):
        raise click.UsageError(
            f"cannot tell the format from '.{suffix}': use -o FILE with one of "
            f".txt .{' .'.join(k for k in known if k != 'text')}, or pass --format"
        )
    fmt = fmt or (suffix if suffix in known else "text")
    if fmt in FILE_ONLY and output is None:
        raise click.UsageError(f"--format {fmt} writes a file: add -o FILE.{fmt}")
    return suffix, fmt


def _write_tally(
    t: TallyResult, fmt: str, output: Path | None, *, min_mentions: int, depth: int | None, prose: bool, by: str | None
) -> None:
    from coder import report
    from coder import tally as tl

    if t.cross is not None and fmt in ("tex", "docx"):
        header, grid = report.crosstab_grid(t.cross, depth)
        notes = [*t.notes, report.RULES]
        _write_grid(fmt, header, grid, output, title=f"{t.title} — by {by}", notes=notes, sheet=f"By {by}")
        return
    rows = tl.select_rows(t.rows, min_mentions=min_mentions, depth=depth)
    notes = [*tl.prose(t.rows), *t.notes] if prose else list(t.notes)
    if not any(r.mentions for r in t.rows):
        notes.insert(0, "No codings in scope yet: review suggestions with 'coder review', or use --include-suggested.")
    if fmt in FILE_ONLY:
        assert output is not None
        if fmt == "docx":
            atomic_file(output, lambda path: report.write_docx(rows, path, title=t.title, notes=notes))
        elif fmt == "xlsx":
            sheets = {"Themes": rows}
            cross = t.cross  # its sheet to the same --depth as the themes sheet
            if cross is not None and depth is not None:
                cross = dataclasses.replace(cross, rows=[r for r in cross.rows if r.depth < depth])
            atomic_file(output, lambda path: report.write_xlsx(sheets, path, title=t.title, notes=notes, cross=cross))
        else:
            atomic_file(output, lambda path: report.write_chart(rows, path, title=t.title))
        click.echo(f"Wrote {len(rows)} rows to {output}.", err=True)
        return
    if t.cross is not None:
        text = report.render_crosstab(t.cross, fmt, title=f"{t.title} — by {by}", depth=depth)
    elif fmt == "tex":
        text = report.render_tex(rows, title=t.title, notes=notes)
    else:
        text = report.render_tally(rows, fmt, title=t.title, notes=notes)
    n = write_text(output, text)
    if output is not None:
        click.echo(f"Wrote {len(rows)} rows ({n} characters) to {output}.", err=True)


def _write_grid(
    fmt: str, header: list[str], rows: list[list[str]], output: Path | None, *, title: str, notes: list[str], sheet: str
) -> None:
    """A labelled grid as LaTeX (stdout or file), Word or Excel (file, written atomically)."""
    from coder import report

    if fmt == "tex":
        write_text(output, report.grid_tex(header, rows, title=title, notes=notes))
    elif fmt == "docx":
        assert output is not None
        atomic_file(output, lambda path: report.write_grid_docx(header, rows, path, title=title, notes=notes))
    else:
        assert output is not None
        atomic_file(
            output, lambda path: report.write_grid_xlsx(header, rows, path, title=title, sheet=sheet, notes=notes)
        )
    if output is not None:
        click.echo(f"Wrote a {len(rows)}-row table to {output}.", err=True)


def _write_matrix(m: MatrixResult, fmt: str, output: Path | None, *, presence: bool, unit: str) -> None:
    """A presence or co-occurrence matrix as a table, a grid for a paper, or a heat map."""
    from coder import report

    corner = unit if presence else "code"
    if fmt in ("png", "svg"):
        if presence:
            raise click.UsageError("--presence writes text, md, csv or json")
        assert output is not None
        atomic_file(output, lambda path: report.write_heatmap(m.row_labels, m.matrix, path, title=m.title))
        click.echo(f"Wrote a {len(m.row_labels)} × {len(m.col_labels)} heat map to {output}.", err=True)
        return
    if fmt in GRID:
        header, rows = report.matrix_grid(m.row_labels, m.col_labels, m.matrix, corner)
        sheet = "Presence" if presence else "Co-occurrence"
        _write_grid(fmt, header, rows, output, title=m.title, notes=m.notes, sheet=sheet)
        return
    text = report.render_matrix(m.row_labels, m.col_labels, m.matrix, fmt, title=m.title, corner=corner, notes=m.notes)
    write_text(output, text)
    if output is not None:
        click.echo(f"Wrote a {len(m.row_labels)} × {len(m.col_labels)} table to {output}.", err=True)


@click.command()
@click.argument("code_path", metavar="CODE")
@click.option("--n", "n", type=click.IntRange(1), default=5, show_default=True, help="How many quotes.")
@selection_options(
    ("coder", "consensus", "any", "documents", "participants"),
    coder="Only this coder's acceptances (repeatable).",
    consensus="Only sentences every named --coder accepted.",
)
@click.pass_context
def quotes(ctx: click.Context, code_path: str, n: int, selection: dict[str, Any]) -> None:
    """Exemplar quotes for a code: accepted sentences, spread across participants, most typical first,
    with the participant's id and attributes, for a results section.

    CODE is a code's path or name, in any case.

    \b
    Examples:
      coder quotes "Spirituality / faith" --n 5
      coder quotes "Spirituality / faith > Prayer and personal spiritual practices" --coder ana
      coder quotes "prayer and personal spiritual practices" --participants P03
    """
    project = open_project(ctx)
    path = project.resolve_code(code_path)
    found = project.quotes(path, n=n, **selection)
    if not found:
        click.echo(
            f"No accepted sentences for {path} yet"
            + (" in this selection" if any(selection[k] for k in ("coders", "documents", "participants")) else "")
            + f'. Review its suggestions with: coder review --code "{path}"'
        )
        return
    click.secho(f"{path}: {plural(len(found), 'quote')}", bold=True)
    for q in found:
        attrs = ", ".join(f"{v}" for k, v in sorted(q.attributes.items()) if k in ("age_group", "ethnicity", "setting"))
        click.echo(wrap(f"“{q.text}”", "  "))
        click.secho(
            f"    — {q.participant}" + (f" ({attrs})" if attrs else "") + f", {q.document} #{q.sentence}", dim=True
        )


@click.command()
@selection_options(include_suggested="Add unreviewed suggestions (labelled).")
@click.option("--depth", type=click.IntRange(1), default=None, help="Count codes down to this level only.")
@output_option("Write a .png/.svg curve, or the table as .csv/.md/.json/.txt.")
@click.pass_context
def saturation(ctx: click.Context, selection: dict[str, Any], depth: int | None, output: Path | None) -> None:
    """Code emergence: new codes observed as participants are added in interview order, the
    curve researchers use to argue thematic saturation.

    \b
    Examples:
      coder saturation --coder ana
      coder saturation --coder ana --depth 2 -o saturation.png
    """
    from coder import report

    suffix = output.suffix.lower() if output is not None else ""
    if suffix not in ("", ".txt", ".csv", ".md", ".json", ".png", ".svg"):
        raise click.UsageError(f"cannot write '{suffix}': use -o FILE with .png .svg .csv .md .json or .txt")
    r = open_project(ctx).saturation(depth=depth, **selection)
    if suffix in (".png", ".svg"):
        assert output is not None
        curve = [(s.participant, len(s.new_codes), s.cumulative) for s in r.steps]
        atomic_file(output, lambda path: report.write_saturation_chart(curve, path, title=r.title))
        click.echo(f"Wrote the curve for {len(curve)} participants to {output}.", err=True)
        if r.unreviewed:
            click.echo(_unreviewed(r.unreviewed), err=True)
        return
    fmt = {".csv": "csv", ".md": "md", ".json": "json"}.get(suffix, "text")
    notes = [f"Codes counted: {r.codes_total}. Order: the order the participants' transcripts were imported."]
    if r.unreviewed:
        notes.append(_unreviewed(r.unreviewed))
    if fmt == "text":
        new = [f"{s.participant}: {', '.join(c.rsplit(PATH_SEP, 1)[-1] for c in s.new_codes)}" for s in r.steps]
        notes = [line for line, s in zip(new, r.steps, strict=True) if s.new_codes] + notes
    labels = [s.participant for s in r.steps]
    matrix = [[len(s.new_codes), s.cumulative] for s in r.steps]
    text = report.render_matrix(
        labels, ["new codes", "codes so far"], matrix, fmt, title=r.title, corner="participant", notes=notes
    )
    write_text(output, text)
    if output is not None:
        click.echo(f"Wrote the table for {plural(len(r.steps), 'participant')} to {output}.", err=True)


def _unreviewed(participants: tuple[str, ...]) -> str:
    names = ", ".join(participants[:8]) + (f" and {len(participants) - 8} more" if len(participants) > 8 else "")
    return (
        f"Left out: {plural(len(participants), 'participant')} with no answer recorded yet ({names}): they would add "
        "no new code and look like saturation. Review them, or pass --include-suggested."
    )


COMMANDS = (tally, quotes, saturation)
