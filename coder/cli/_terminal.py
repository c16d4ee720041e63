"""Keys and screens of the two terminal loops (``coder review`` and ``coder reconcile``)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from coder.cli._common import wrap

if TYPE_CHECKING:
    from coder.types import Codebook

Turn = tuple[str, str, bool, "tuple[int, int] | None"]


def normalise_key(raw: str) -> str:
    """One key from what the terminal or a pipe gave: the first character after whitespace is stripped.

    ``click.getchar`` returns everything the terminal buffered, so "1" and Enter typed quickly come
    as "1\\r"; a line from a pipe ends in "\\n". Enter alone (or only spaces) is "" — "none".
    """
    return raw.strip()[:1]


def interactive() -> bool:
    """Keys come from a person at a terminal (else from a pipe or a test, a line at a time)."""
    return sys.stdin.isatty()


def read_key(prompt: str) -> str:
    """One key from a terminal; from a pipe or a test, the first character of the next line.

    End of input and Ctrl-C read as "q".
    """
    click.echo(prompt, nl=False)
    if interactive():
        try:
            key = normalise_key(click.getchar())
        except (KeyboardInterrupt, EOFError):
            key = "q"
        click.echo(key if key.isprintable() else "")
        return key
    line = sys.stdin.readline()
    if line == "":
        click.echo()
        return "q"
    click.echo(line.rstrip("\r\n"))
    return normalise_key(line)


def read_command(prompt: str, keys: str, help_text: str) -> str:
    """The next key that is one of ``keys``, in lower case; ``?`` shows ``help_text``, any other key says so."""
    while True:
        key = read_key(prompt).lower()
        if key and key in keys:
            return key
        click.echo(help_text if key == "?" else "Unknown key; press ? for help.")


def read_line(prompt: str) -> str:
    """A line of text (a memo, a search); "" at the end of input."""
    click.echo(prompt, nl=False)
    if interactive():
        try:
            return input()
        except (KeyboardInterrupt, EOFError):
            click.echo()
            return ""
    line = sys.stdin.readline()
    click.echo(line.rstrip("\r\n"))
    return line.rstrip("\r\n")


def rule() -> None:
    click.echo()
    click.secho("─" * 96, dim=True)


def colours_shown() -> bool:
    """Whether styles reach the screen: click strips them where stdout is not a terminal, or where the
    command's context says no colour (``NO_COLOR``, see :func:`coder.cli.main`)."""
    from click import utils
    from click.globals import resolve_color_default

    return not utils.should_strip_ansi(sys.stdout, resolve_color_default())


def echo_turns(turns: Sequence[Turn]) -> None:
    """Turns around a sentence: (speaker, speech, is the sentence's turn, the sentence's span in the speech).

    The sentence is shown in colour, or between » and « where colour does not show (a pipe, ``NO_COLOR``)."""
    for speaker, speech, mine, span in turns:
        if mine and span:
            a, b = span
            marked = click.style(speech[a:b], bold=True, underline=True, fg="yellow") if colours_shown() else None
            body = speech[:a] + (marked or f"»{speech[a:b]}«") + speech[b:]
            click.echo(f"▶ {click.style(speaker, fg='cyan')}: {body}")
        else:
            click.secho(textwrap.shorten(f"  {speaker}: {speech}", width=240, placeholder=" …"), dim=True)


def echo_definition(book: Codebook, code_path: str) -> None:
    code = book.by_path().get(code_path)
    if code is not None:
        click.echo(wrap(f"Definition: {code.definition}", "  "))
        if code.include:
            click.echo(wrap(f"Include: {code.include}", "  "))
        if code.exclude:
            click.echo(wrap(f"Exclude: {code.exclude}", "  "))
