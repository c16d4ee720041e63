"""The ``coder`` command line. Each command parses its options, calls one :class:`coder.app.Project`
method and renders what it returns; one module per command group. Heavy libraries load inside
commands only, so ``coder --help`` is instant."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from coder import __version__
from coder.cli import codebook, doctor, export, privacy, report, review, serve, show, suggest, tally, team
from coder.cli import project as project_commands
from coder.cli._common import DEFAULT_PROJECT
from coder.errors import CoderError, ManyProblems


class CoderGroup(click.Group):
    """Turns every :class:`CoderError` into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ManyProblems as e:
            click.secho(f"Error: {e.headline()}:", fg="red", err=True)
            click.echo(e.details(), err=True)
            ctx.exit(e.exit_code)
        except CoderError as e:
            click.secho(f"Error: {e}", fg="red", err=True)  # str(e) carries the file, the line and the hint
            ctx.exit(e.exit_code)


@click.group(
    cls=CoderGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-p",
    "--project",
    envvar="CODER_PROJECT",
    default=DEFAULT_PROJECT,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project file (env CODER_PROJECT).",
)
@click.version_option(__version__, prog_name="coder")
@click.pass_context
def main(ctx: click.Context, project: Path) -> None:
    """coder — local qualitative coding: import transcripts, pre-code them against a codebook
    by sentence-embedding similarity, review, tally. Nothing leaves your machine.

    \b
    A first session:
      coder init
      coder import corpora/demo/P[0-9]* --attributes corpora/demo/participants.csv
      coder codebook load codebooks/resilience.yaml
      coder suggest
      coder show P01
      coder export codings -o codings.csv

    Or run everything on the bundled demo corpus: coder demo
    """
    ctx.ensure_object(dict)
    ctx.obj["project"] = project
    if os.environ.get("NO_COLOR"):  # https://no-color.org: present and not empty
        ctx.color = False


for _command in (
    *project_commands.COMMANDS,
    *codebook.COMMANDS,
    *suggest.COMMANDS,
    *show.COMMANDS,
    *review.COMMANDS,
    *tally.COMMANDS,
    *export.COMMANDS,
    *team.COMMANDS,
    *report.COMMANDS,
    *serve.COMMANDS,
    *doctor.COMMANDS,
    *privacy.COMMANDS,
):
    main.add_command(_command)

__all__ = ["CoderGroup", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
