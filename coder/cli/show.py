"""coder show: a transcript with its suggested codes inline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from coder.cli._common import open_project, plural, wrap
from coder.cli.project import documents

if TYPE_CHECKING:
    from coder.app.views import ShownDocument, ShownTurn


@click.command()
@click.argument("document", required=False)
@click.option(
    "--all-turns/--participant-only",
    default=True,
    show_default=True,
    help="Show interviewer turns as context, or only the participant's.",
)
@click.option(
    "--coder",
    default=None,
    metavar="NAME",
    help="Show only what NAME sees: zero-shot suggestions, NAME's own learned run's, NAME's answers.",
)
@click.pass_context
def show(ctx: click.Context, document: str | None, all_turns: bool, coder: str | None) -> None:
    """Print a transcript with its suggested codes inline (or list documents).

    DOCUMENT is a document name, its file stem or a participant id. Without --coder it shows every
    run's suggestions and everyone's answers: during blind double coding, use --coder.

    \b
    Examples:
      coder show            # list documents
      coder show P03
      coder show P03 --coder ana   # ana's view only
      coder show P04.vtt | less -R
    """
    if not document:
        ctx.invoke(documents)
        return
    doc = open_project(ctx).show(document, coder=coder)
    _echo_heading(doc)
    for t in doc.turns:
        if t.role == "participant" or all_turns:
            _echo_turn(t)
    click.echo()


def _echo_heading(doc: ShownDocument) -> None:
    marks = [st for t in doc.turns for s in t.segments for _, _, st in s.suggestions]
    n = sum(st.startswith("suggested") for st in marks)
    d = len(marks) - n
    click.secho(
        f"{doc.name} · participant {doc.participant} · {len(doc.turns)} turns · {plural(n, 'suggestion')}"
        + (f" ({doc.suggester})" if doc.suggester else " (run 'coder suggest')")
        + (f" · {plural(d, 'decision')}" if d else ""),
        bold=True,
    )


def _echo_turn(t: ShownTurn) -> None:
    stamp = f"{int(t.time_start // 60):02d}:{int(t.time_start % 60):02d} " if t.time_start is not None else ""
    head = f"[{t.index + 1}] {stamp}{t.speaker}:"
    if t.role != "participant":
        click.secho(wrap(f"{head} {' '.join(s.text for s in t.segments)}", ""), dim=True)
        return
    click.secho(head, fg="cyan")
    for s in t.segments:
        click.echo(wrap(f"#{s.index + 1:<4} {s.text}", "    ").replace("    #", "  #", 1))
        for path, score, status in s.suggestions:
            shown = f"  {score:.2f}" if score == score else ""  # NaN for decisions: no score
            colour = "red" if status.startswith("rejected") else "green"
            click.secho(f"        → {path}{shown}  ({status})", fg=colour, bold=status.startswith("accepted"))


COMMANDS = (show,)
