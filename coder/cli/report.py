"""coder report: text for a paper, built from the project's audit trail (``coder report methods``)."""

from __future__ import annotations

from pathlib import Path

import click

from coder.cli._common import (
    COVERAGE_OPTION,
    agreement_options,
    atomic_file,
    format_option,
    open_project,
    output_option,
    write_text,
)

METHODS_FORMATS = ("text", "md", "docx")


@click.group()
def report() -> None:
    """Text for a paper, built from the project's audit trail (every number read from the project).

    \b
    Examples:
      coder report methods
      coder report methods -o methods.docx
    """


@report.command()
@agreement_options(
    "What agreement counts a code present or absent in: a sentence, a speaker turn, a document or a participant.",
    "Bootstrap resamples for α's 95% interval (0 = none).",
)
@COVERAGE_OPTION
@format_option(METHODS_FORMATS, "text, md or docx (default: from -o's extension, else text).")
@output_option("Write to FILE (.txt, .md or .docx) instead of standard output.")
@click.pass_context
def methods(
    ctx: click.Context, unit: str, n_boot: int, seed: int, coverage: str, fmt: str | None, output: Path | None
) -> None:
    """A methods paragraph to paste into a paper: the corpus and how it was segmented, the codebook
    version, the suggesters and model, each coder's answers, whether coding was blind, agreement
    with its interval, and how disagreements were reconciled, then the figures behind each number.

    Agreement is between the people who coded (or, with one coder, between them and the zero-shot
    suggester); 'consensus' is reported as the reconciliation. By default every sentence of a transcript
    a coder made decisions in counts, and a suggestion left unanswered there counts as "code not given";
    after a partial review, pass --coverage decided (only sentences both answered on), as with coder agree.

    \b
    Examples:
      coder report methods
      coder report methods -o methods.md
      coder report methods -o methods.docx --bootstrap 5000 --seed 7
      coder report methods --unit participant --format md
      coder report methods --coverage decided
    """
    if fmt is None:
        ext = output.suffix.lower().lstrip(".") if output is not None else "text"
        fmt = {"txt": "text", "markdown": "md"}.get(ext, ext)
        if fmt not in METHODS_FORMATS:
            raise click.UsageError(f"cannot tell the format from '{output}'; pass --format {'|'.join(METHODS_FORMATS)}")
    if fmt == "docx" and output is None:
        raise click.UsageError("a Word file needs -o FILE.docx")
    from coder import methods_render as mr

    facts = open_project(ctx).methods(unit=unit, n_boot=n_boot, seed=seed, coverage=coverage)
    if facts.agreement is not None and facts.agreement.unanswered:
        left = sum(n for _, n in facts.agreement.unanswered)
        click.secho(
            f"Note: {left:,} suggestion(s) left unanswered in the transcripts counted are counted as codes not given "
            "(their sentences count as not coded); finish those transcripts, or pass --coverage decided.",
            fg="yellow",
            err=True,
        )
    if fmt == "docx":
        assert output is not None
        atomic_file(output, lambda path: mr.write_docx(facts, path))
    else:
        write_text(output, mr.render(facts, fmt))
    if output is not None:
        click.echo(f"Wrote the methods paragraph and its figures to {output}.")


COMMANDS = (report,)
