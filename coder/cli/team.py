"""Team work: coder agree (inter-coder agreement), reconcile (decide disagreements as 'consensus'),
merge (bring another copy's decisions in)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coder.cli._common import (
    COVERAGE_OPTION,
    agreement_options,
    coder_option,
    format_option,
    open_project,
    output_option,
    write_text,
)
from coder.cli._terminal import echo_definition, echo_turns, read_command, read_line, rule

if TYPE_CHECKING:
    from coder.app import Project
    from coder.app.reconciling import ReconcileItem
    from coder.app.reliability import AgreeResult
    from coder.types import Codebook

AGREE_FORMATS = ("text", "md", "csv", "json", "html", "docx", "xlsx")
FILE_ONLY = ("docx", "xlsx")


@click.command()
@click.option(
    "--coder",
    "coders",
    multiple=True,
    required=True,
    metavar="NAME",
    help="A coder to compare (repeat, two or more): a name, 'consensus', 'machine' or 'machine:learned.v2:NAME'.",
)
@agreement_options(
    "What a code is present or absent in: a sentence, a speaker turn, a document or a participant.",
    "Bootstrap resamples for the 95% intervals (0 = none).",
)
@COVERAGE_OPTION
@click.option("--depth", type=click.IntRange(1), default=None, help="Compare codes cut to this depth (1 = categories).")
@click.option("--reliable", type=click.FloatRange(-1, 1), default=0.800, show_default=True, help="α for 'reliable'.")
@click.option("--tentative", type=click.FloatRange(-1, 1), default=0.667, show_default=True, help="α for 'tentative'.")
@click.option("--disagreements", is_flag=True, help="Also list each disagreement, for a reconciliation meeting.")
@format_option(AGREE_FORMATS, "text, md, csv, json, html, docx or xlsx (default: from -o's extension, else text).")
@output_option()
@click.pass_context
def agree(ctx: click.Context, coders: tuple[str, ...], fmt: str | None, output: Path | None, **options: Any) -> None:
    """Inter-coder agreement per code and overall: % agreement, Cohen's/Fleiss' κ, Krippendorff's α
    with a bootstrap 95% interval, Gwet's AC1, prevalence and a verdict.

    Only units every chosen coder reviewed count; the report says how many were left out. The
    machine is a coder too: 'machine' is the zero-shot run's suggestions, 'machine:learned.v2:ana'
    those of the run learned from ana's decisions; the report names the exact run.

    \b
    Examples:
      coder agree --coder ana --coder ben
      coder agree --coder ana --coder machine --unit participant --depth 1
      coder agree --coder ben --coder machine:learned.v2:ben
      coder agree --coder ana --coder ben --coder chloe --format md -o agreement.md
      coder agree --coder ana --coder ben --disagreements --format csv -o to-discuss.csv
      coder agree --coder ana --coder ben -o agreement.docx     # a Word table; also .xlsx
    """
    if fmt is None:
        ext = output.suffix.lower().lstrip(".") if output is not None else "text"
        fmt = {"txt": "text", "markdown": "md", "htm": "html"}.get(ext, ext)
        if fmt not in AGREE_FORMATS:
            raise click.UsageError(f"cannot tell the format from '{output}'; pass --format {'|'.join(AGREE_FORMATS)}")
    if fmt in FILE_ONLY and output is None:
        raise click.UsageError(f"--format {fmt} writes a file: add -o FILE.{fmt}")
    result = open_project(ctx).agree(coders, **options)  # unit, coverage, depth, thresholds, bootstrap
    if fmt in FILE_ONLY:
        assert output is not None
        _write_office(result, fmt, output, disagreements=options["disagreements"])
    else:
        write_text(output, _agreement_text(result, fmt, disagreements=options["disagreements"]))
    if output is not None:
        listed = options["disagreements"] and fmt == "csv"
        what = f"{len(result.disagreements)} disagreements" if listed else "agreement report"
        click.echo(f"Wrote the {what} ({result.units_included:,} units, {len(result.rows)} codes) to {output}.")
    for w in result.warnings:
        if output is not None or fmt not in ("text", "md"):  # text and md carry them inside
            click.secho(f"Warning: {w}", fg="yellow", err=True)


def _write_office(result: AgreeResult, fmt: str, output: Path, *, disagreements: bool) -> None:
    """The agreement table (and with --disagreements, each disagreement) as a Word table or an Excel workbook."""
    from coder import agreement_report as ar
    from coder import report
    from coder.cli._common import atomic_file

    header, rows = ar.grid(result)
    more = []
    if disagreements:
        d_header, d_rows = ar.disagreement_grid(result)
        name = f"{len(d_rows):,} disagreements" if fmt == "docx" else "disagreements"
        more.append((name, d_header, d_rows))
    title, notes = ar.title(result), ar.notes(result)
    if fmt == "docx":
        atomic_file(
            output, lambda path: report.write_grid_docx(header, rows, path, title=title, notes=notes, more=more)
        )
    else:
        atomic_file(
            output,
            lambda path: report.write_grid_xlsx(
                header, rows, path, title=title, sheet="agreement", notes=notes, more=more
            ),
        )


def _agreement_text(result: AgreeResult, fmt: str, *, disagreements: bool) -> str:
    from coder import agreement_report as ar

    if disagreements and fmt == "csv":
        return ar.render_disagreements(result, "csv")
    text = ar.render(result, fmt)
    if disagreements and fmt in ("text", "md"):  # html and json carry them inside
        text += "\n" + ar.render_disagreements(result, fmt)
    return text


RECONCILE_KEYS = "[a] code applies [r] does not [s]kip [m] note [?] [q]uit > "
RECONCILE_HELP = """  a  the code applies: record it for consensus
  r  the code does not apply: record that for consensus
  s  skip (shown again next time)
  m  add a note, then decide (the note is kept with the decision)
  ?  this help
  q  quit (every decision is already saved)"""


@click.command()
@click.option(
    "--coder", "coders", multiple=True, required=True, metavar="NAME", help="A coder whose codings to reconcile."
)
@coder_option("--by", help="Who records the decisions (env CODER_NAME; or 'coder config coder NAME').")
@COVERAGE_OPTION
@click.pass_context
def reconcile(ctx: click.Context, coders: tuple[str, ...], by: str | None, coverage: str) -> None:
    """Walk the disagreements between coders, sentence by sentence, and record what the team
    agrees as coder 'consensus' (with who decided, when and a note).

    Codings every named coder accepted are copied to consensus first. Resumable: decided items
    are not shown again. Then: coder tally --coder consensus, or coder agree --coder ana --coder consensus.

    \b
    Examples:
      coder reconcile --coder ana --coder ben --by ana
      coder agree --coder ana --coder ben --disagreements   # the same list, printed
    """
    project = open_project(ctx)
    who = project.coder_name(by)
    plan = project.reconcile_plan(coders, coverage=coverage)
    for w in plan.warnings:
        click.secho(f"Warning: {w}", fg="yellow", err=True)
    copied = project.record_agreed(plan, coders, by=who) if plan.agreed else 0
    if copied:
        click.echo(f"Copied {copied} coding(s) that {', '.join(coders)} all accepted to consensus.")
    if not plan.items:
        click.echo(
            f"No disagreements left to reconcile ({plan.decided} already decided). Next: coder tally --coder consensus"
        )
        return
    click.echo(
        f"Reconciling as {who}: {len(plan.items)} disagreement(s) to decide"
        + (f", {plan.decided} already decided" if plan.decided else "")
        + ". Press ? for help, q to quit."
    )
    book = project.codebook()
    done = 0
    for n, item in enumerate(plan.items, start=1):
        _show_disagreement(project, book, item, f"[{n} of {len(plan.items)}]")
        answer = _decide(project, item, who)
        if answer == "quit":
            click.echo(f"Saved. {done} decision(s) recorded as consensus by {who}. Run again to continue.")
            return
        done += answer != "skip"
    click.echo(f"Saved. {done} decision(s) recorded as consensus by {who}. Next: coder tally --coder consensus")


def _show_disagreement(project: Project, book: Codebook, item: ReconcileItem, where: str) -> None:
    rule()
    click.secho(f"{item.unit} · participant {item.participant}", bold=True, nl=False)
    click.secho(f"    {where}", dim=True)
    echo_turns(project.sentence_context(item.segment_id).turns)
    click.echo()
    click.secho(f"Code: {item.code}", fg="green", bold=True)
    echo_definition(book, item.code)
    click.echo(f"  Coded by {', '.join(item.coded_by)}; not by {', '.join(item.not_coded_by)}.")


def _decide(project: Project, item: ReconcileItem, who: str) -> str:
    """Keys on one disagreement: "accept" or "reject" (recorded), "skip" or "quit"."""
    note: str | None = None
    while True:
        key = read_command(RECONCILE_KEYS, "armsq", RECONCILE_HELP)
        if key in ("a", "r"):
            answer = "accept" if key == "a" else "reject"
            project.reconcile(item, answer, by=who, note=note)
            return answer
        if key == "m":
            note = read_line("Note: ").strip() or None
        elif key == "s":
            return "skip"
        else:  # q
            return "quit"


@click.command()
@click.argument("other", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def merge(ctx: click.Context, other: Path) -> None:
    """Bring the decisions from another coder's copy of this project into this one.

    Documents are matched by their content, so names may differ; the merge is refused, listing
    every difference, if a coded transcript is not identical here. The other file is not changed.
    Idempotent: merging again adds nothing.

    \b
    Examples:
      coder merge ../ben/study.db
      coder agree --coder ana --coder ben
    """
    r = open_project(ctx).merge(other)
    imp = r.imported
    renamed = "; named differently here: " + ", ".join(f"{a} → {b}" for a, b in r.renamed.items()) if r.renamed else ""
    click.echo(
        f"Merged {imp.added} decision(s) by {', '.join(imp.coders) or 'nobody'} from {other} "
        f"({imp.unchanged} already here, {imp.superseded} replaced older answers"
        + (f", {imp.undone} undone as in the other copy" if imp.undone else "")
        + f"; {r.documents} document(s) matched by content{renamed})."
    )


COMMANDS = (agree, reconcile, merge)
