"""Keys and screens of the two terminal loops (``coder review`` and ``coder reconcile``)."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from coder.cli._common import WIDTH, wrap

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
    click.secho("─" * WIDTH, dim=True)


def colours_shown() -> bool:
    """Whether styles reach the screen: click strips them where stdout is not a terminal, or where the
    command's context says no colour (``NO_COLOR``, see :func:`coder.cli.main`)."""
    from click import utils
    from click.globals import resolve_color_default

    return not utils.should_strip_ansi(sys.stdout, resolve_color_default())


_OPEN, _CLOSE = "\x01", "\x02"  # where the sentence under review starts and ends, while its turn is wrapped


def echo_turns(turns: Sequence[Turn]) -> None:
    """Turns around a sentence: (speaker, speech, is the sentence's turn, the sentence's span in the speech),
    wrapped at :data:`WIDTH` between words; the other speakers' turns are cut to three lines.

    The sentence is shown in colour, or between » and « where colour does not show (a pipe, ``NO_COLOR``)."""
    for speaker, speech, mine, span in turns:
        if mine and span:
            a, b = span
            speech = speech.replace(_OPEN, " ").replace(_CLOSE, " ")  # the markers' own characters (same offsets)
            text = f"{speaker}: {speech[:a]}{_OPEN}{speech[a:b]}{_CLOSE}{speech[b:]}"
            lines = textwrap.wrap(text, width=WIDTH - 2, break_on_hyphens=False)
            inside, colour = False, colours_shown()
            for n, line in enumerate(lines):
                shown, inside = _marked(line, inside, speaker if n == 0 else None, colour)
                click.echo(("▶ " if n == 0 else "  ") + shown)
        else:
            text = textwrap.fill(
                f"{speaker}: {speech}",
                width=WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
                max_lines=3,
                placeholder=" …",
            )
            click.secho(text, dim=True)


def _marked(line: str, inside: bool, speaker: str | None, colour: bool) -> tuple[str, bool]:
    """One wrapped line with the sentence's part styled (``colour``, else between » and «) and the speaker's name
    in colour; and whether the sentence goes on past the line."""
    out = []
    if speaker is not None and line.startswith(f"{speaker}:"):
        out.append(click.style(speaker, fg="cyan"))
        line = line[len(speaker) :]
    for part in re.split(f"([{_OPEN}{_CLOSE}])", line):
        if part in (_OPEN, _CLOSE):
            inside = part == _OPEN
            if not colour:
                out.append("»" if inside else "«")
        elif part:
            out.append(click.style(part, bold=True, underline=True, fg="yellow") if inside and colour else part)
    return "".join(out), inside


def echo_definition(book: Codebook, code_path: str) -> None:
    code = book.by_path().get(code_path)
    if code is not None:
        click.echo(wrap(f"Definition: {code.definition}", "  "))
        if code.include:
            click.echo(wrap(f"Include: {code.include}", "  "))
        if code.exclude:
            click.echo(wrap(f"Exclude: {code.exclude}", "  "))
