"""coder export (qdc, qdpx, codings) and coder decisions (export, import): data out and in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from coder.cli._common import (
    atomic_file,
    format_from,
    format_option,
    open_project,
    output_option,
    selection_options,
    write_output,
)


@click.group()
def export() -> None:
    """Export codings and other project data.

    \b
    Examples:
      coder export codings -o codings.csv
      coder export qdpx -o study.qdpx
      coder export qdc -o codebook.qdc
    """


@export.command("qdc")
@output_option("The .qdc file.", required=True)
@click.pass_context
def export_qdc(ctx: click.Context, output: Path) -> None:
    """Write the current codebook as a REFI-QDA codebook (.qdc) for NVivo, ATLAS.ti, MAXQDA, QualCoder.

    Each code's definition, include/exclude criteria, examples and source go into its Description
    in a readable layout that 'coder import' reads back exactly. GUIDs stay the same on every export.

    \b
    Example:
      coder export qdc -o resilience.qdc
    """
    data = open_project(ctx).export_qdc()
    atomic_file(output, lambda p: Path(p).write_bytes(data))
    click.echo(f"Wrote the codebook to {output}.")


@export.command("qdpx")
@output_option("The .qdpx file.", required=True)
@selection_options(
    ("coder", "include_suggested"),
    coder="Only this coder's codings (repeatable).",
    include_suggested="Also unreviewed suggestions, as user 'coder-machine'.",
)
@click.pass_context
def export_qdpx(ctx: click.Context, output: Path, selection: dict[str, Any]) -> None:
    """Write the project as a REFI-QDA project (.qdpx): transcripts, codebook, each coder's accepted
    codings, memos, and participants as cases with their attributes.

    \b
    Examples:
      coder export qdpx -o study.qdpx
      coder export qdpx -o ana.qdpx --coder ana
      coder export qdpx -o precoded.qdpx --include-suggested
    """
    project = open_project(ctx)
    result: list[Any] = []
    atomic_file(
        output,
        lambda p: result.append(
            project.export_qdpx(Path(p), coders=selection["coders"], include_suggested=selection["include_suggested"])
        ),
    )
    r = result[0]
    click.echo(
        f"Wrote {output}: {r.documents} documents, {r.selections} coded sentences with {r.codings} codings by "
        f"{', '.join(r.users) or 'nobody'}, {r.notes} notes, {r.cases} cases."
        + (
            f" {r.rejection_notes} of the notes {'is' if r.rejection_notes == 1 else 'are'} on rejected codes, "
            "written as notes on their sentence "
            "(REFI-QDA has no rejections)."
            if r.rejection_notes
            else ""
        )
    )


@export.command("codings")
@format_option(["csv", "jsonl"])
@output_option()
@click.option(
    "--code",
    default=None,
    metavar="CODE",
    help="Only this code and the codes under it: a path as stored (also one the codebook no longer has), or a "
    "code's name or path in any case.",
)
@click.pass_context
def export_codings(ctx: click.Context, fmt: str | None, output: Path | None, code: str | None) -> None:
    """One row per suggestion or decision: document, participant, speaker, start, end, text,
    code, status (suggested/accepted/rejected), score, coder, suggester, model.

    \b
    Examples:
      coder export codings -o codings.csv
      coder export codings --format jsonl | head
      coder export codings --code 'Familial relationships' -o family.csv
    """
    project = open_project(ctx)
    n = write_output(output, lambda fh: project.export_codings(fh, fmt or format_from(output), code=code))
    if output is not None:
        click.echo(f"Wrote {n} rows to {output}.", err=True)


@click.group()
def decisions() -> None:
    """Export and import decisions (one row per decision) to move them between projects.

    \b
    Examples:
      coder decisions export -o ana.csv --coder ana
      coder decisions import ana.csv
    """


@decisions.command("export")
@format_option(["csv", "jsonl"])
@output_option()
@click.option("--coder", default=None, metavar="NAME", help="Only this coder's decisions.")
@click.pass_context
def decisions_export(ctx: click.Context, fmt: str | None, output: Path | None, coder: str | None) -> None:
    """Write one row per decision: coder, document, start, end, code, answer, reason, note, decided_at,
    decided_by (who recorded a consensus), carried (yes: a code carried over from the sentence before) and via
    (how it was reached: document, score, uncertain, sample, hand, reconcile; empty: not recorded).

    \b
    Examples:
      coder decisions export -o ana.csv --coder ana
      coder decisions export --format jsonl > all.jsonl
    """
    project = open_project(ctx)
    n = write_output(output, lambda fh: project.export_decisions(fh, fmt or format_from(output), coder=coder))
    if output is not None:
        click.echo(f"Wrote {n} decisions to {output}.", err=True)


@decisions.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def decisions_import(ctx: click.Context, file: Path) -> None:
    """Import decisions from CSV or JSONL (as written by 'decisions export'). Idempotent; every row
    is checked first and nothing is imported if any row is bad. coder, document, start, end and code are
    required; a file without an answer column is a list of codings (every row an accept); other columns
    coder does not read (a sentence's text, say) are ignored, unless the name is close to one it reads.

    \b
    Examples:
      coder decisions import ben.csv
      coder decisions import corpora/demo/reference-coding.csv
    """
    r = open_project(ctx).import_decisions(file)
    click.echo(
        f"Imported {r.added} decisions ({r.unchanged} already present, {r.superseded} replaced older "
        f"answers) from {', '.join(r.coders)}."
    )


COMMANDS = (export, decisions)
