"""What every command shares: opening the project, the repeated options, and writing output.

Nothing here imports a heavy library at module level: ``coder --help`` must stay instant.
"""

from __future__ import annotations

import functools
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from coder.errors import CoderError

if TYPE_CHECKING:
    from coder.app import Project
    from coder.embed import Embedder

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_PROJECT = "coder.db"


def open_project(ctx: click.Context, *, create: bool = False) -> Project:
    """The project named by -p/--project, closed (its WAL checkpointed) when the command ends."""
    from coder.app import Project

    project = Project(ctx.obj["project"], create=create)
    ctx.call_on_close(project.close)
    return project


# -- options shared by several commands ------------------------------------------------------------


def output_option(help: str = "Write to FILE instead of standard output.", *, required: bool = False) -> Any:
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, required=required, help=help
    )


def format_option(
    choices: Sequence[str],
    help: str | None = "Output format (default: from -o's extension, else csv).",
    *,
    default: str | None = None,
) -> Any:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=default is not None,
        help=help,
    )


COVERAGE_OPTION = click.option(
    "--coverage",
    type=click.Choice(["documents", "decided"]),
    default="documents",
    show_default=True,
    help="What a person reviewed: every sentence of the documents they made decisions in, or only the "
    "sentences they answered on.",
)


def agreement_options(unit_help: str, boot_help: str) -> Callable[[F], F]:
    """``--unit``, ``--bootstrap`` and ``--seed``: how agreement is measured (agree, report methods)."""

    def apply(f: F) -> F:
        f = click.option(
            "--seed", type=int, default=0, show_default=True, help="Bootstrap seed (same seed, same intervals)."
        )(f)
        f = click.option(
            "--bootstrap", "n_boot", type=click.IntRange(0, 100_000), default=1000, show_default=True, help=boot_help
        )(f)
        return click.option(
            "--unit",
            type=click.Choice(["segment", "turn", "document", "participant"]),
            default="segment",
            show_default=True,
            help=unit_help,
        )(f)

    return apply


def coder_option(*decls: str, help: str = "Who is coding (env CODER_NAME; or 'coder config coder NAME').") -> Any:
    """A person's name, from the option or the CODER_NAME environment variable."""
    return click.option(*(decls or ("--coder",)), envvar="CODER_NAME", default=None, metavar="NAME", help=help)


def learn_every_option(help: str) -> Any:
    """How often a review re-fits learned.v1 (``coder review`` and ``coder serve``)."""
    # 25 is coder.app.learning.LEARN_EVERY, written out: importing the app here would slow ``--help``
    return click.option("--learn-every", type=click.IntRange(0), default=25, show_default=True, help=help)


backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "onnx", "torch"]),
    default="auto",
    show_default=True,
    help="onnx: int8 on onnxruntime (about 2.4x faster, same quality); torch: fp32; auto: onnx where the CPU "
    "has fast int8 (VNNI), else torch.",
)

SELECTION_HELP = {
    "coder": "Count this coder's acceptances (repeatable).",
    "consensus": "Only codings every named --coder accepted.",
    "any": "Codings any coder accepted (the default when no --coder).",
    "include_suggested": "Add unreviewed suggestions (labelled as such everywhere).",
    "documents": "Only these documents (repeatable).",
    "participants": "Only these participants (repeatable).",
}
SELECTION = tuple(SELECTION_HELP)


def selection_options(which: Sequence[str] = SELECTION, **help: str) -> Callable[[F], F]:
    """Add the options that choose which codings a report counts, and hand the command one
    ``selection`` dict (coders, mode, include_suggested, documents, participants) ready for
    ``Project.tally`` / ``presence`` / ``cooccurrence`` / ``quotes`` / ``saturation``.

    ``which`` picks a subset of the options (the others keep their defaults); keyword arguments
    replace an option's help text.
    """
    texts = {**SELECTION_HELP, **help}
    declared = {
        "coder": click.option("--coder", "coders", multiple=True, metavar="NAME", help=texts["coder"]),
        "consensus": click.option("--consensus", is_flag=True, help=texts["consensus"]),
        "any": click.option("--any", "any_", is_flag=True, help=texts["any"]),
        "include_suggested": click.option("--include-suggested", is_flag=True, help=texts["include_suggested"]),
        "documents": click.option("--documents", multiple=True, metavar="DOC", help=texts["documents"]),
        "participants": click.option("--participants", multiple=True, metavar="ID", help=texts["participants"]),
    }

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def command(
            *args: Any,
            coders: tuple[str, ...] = (),
            consensus: bool = False,
            any_: bool = False,
            include_suggested: bool = False,
            documents: tuple[str, ...] = (),
            participants: tuple[str, ...] = (),
            **kwargs: Any,
        ) -> Any:
            if consensus and any_:
                raise click.UsageError("choose --consensus or --any, not both")
            selection = {
                "coders": coders,
                "mode": "consensus" if consensus else "any",
                "include_suggested": include_suggested,
                "documents": documents,
                "participants": participants,
            }
            return f(*args, selection=selection, **kwargs)

        for name in reversed([n for n in SELECTION if n in which]):  # click lists them in this order
            command = declared[name](command)
        return command  # type: ignore[return-value]

    return decorate


# -- output ------------------------------------------------------------------------------------


def format_from(output: Path | None) -> str:
    """csv or jsonl, from the output file's extension (csv for standard output)."""
    return "jsonl" if output is not None and output.suffix.lower() in (".jsonl", ".json") else "csv"


def atomic_file(output: Path, write: Callable[[str], Any]) -> None:
    """Let ``write(path)`` produce FILE.part.EXT, then move it over FILE: a failure never leaves half a file."""
    if not output.parent.is_dir():
        raise CoderError("no such folder for the output file", path=output.parent, hint="create it, or pick another -o")
    tmp = output.with_name(output.name + ".part" + output.suffix)  # writers pick the file type from the name
    try:
        write(str(tmp))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def write_output(output: Path | None, write: Callable[[Any], int]) -> int:
    """Write text to stdout, or atomically to FILE; returns what ``write`` returns."""
    if output is None:
        return write(sys.stdout)
    n = 0

    def to_file(path: str) -> None:
        nonlocal n
        with open(path, "w", encoding="utf-8", newline="") as fh:
            n = write(fh)

    atomic_file(output, to_file)
    return n


def write_text(output: Path | None, text: str) -> int:
    """Text to stdout or atomically to FILE; returns its length."""
    return write_output(output, lambda fh: fh.write(text))


@contextmanager
def progress(label: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work; silent when there is little to do."""
    if not enabled or total < 200:
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, show_eta=True) as bar:
        yield bar.update


WIDTH = 96
"""Columns coder's screens use: the review's rule between items, definitions and turns, `coder show`, quotes."""


def wrap(text: str, indent: str, width: int = WIDTH) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def load_model(model: str | None, *, batch_size: int = 64, backend: str = "auto") -> Embedder:
    """The sentence embedder, saying on stderr when a model is prepared once (an int8 ONNX export, or the
    optional mpnet unpacked from its parts)."""
    from coder.embed import load_embedder

    return load_embedder(
        model,
        batch_size=batch_size,
        backend=backend,
        on_export=lambda where: click.echo(f"Preparing the model once (cached in {where}) …", err=True),
        warn=lambda msg: click.secho(f"Note: {msg}", fg="yellow", err=True),
    )


def echo_counts(project: Project) -> None:
    c = project.counts()
    click.echo(
        f"Project {project.path}: {plural(c.documents, 'document')}, {plural(c.participants, 'participant')}, "
        f"{plural(c.coded_segments, 'participant segment')}."
    )


def not_learned(why: tuple[int, int, bool]) -> str:
    """Why learned.v2 left codes at zero-shot, in words (``coder suggest --learn``): (codes short of answers, codes
    whose learned suggestions lost on held-out documents, whether the rest moved); "" if none was left."""
    from coder import learn2 as l2

    short, kept, moved = why
    parts = []
    if short:
        parts.append(
            f"{plural(short, 'code')} {'needs' if short == 1 else 'need'} {l2.MIN_CALIBRATION} yes and "
            f"{l2.MIN_CALIBRATION} no answers from {l2.MIN_DOCUMENTS} documents or more"
        )
    if kept:
        parts.append(
            (f"{kept} had them" if short else f"{plural(kept, 'code')} had enough answers")
            + " but did no better than zero-shot on your answers in documents held out from "
            + f"{'its' if kept == 1 else 'their'} fit"
            + ("" if moved else f", so {'it keeps its' if kept == 1 else 'they keep their'} zero-shot suggestions")
        )
    if not parts:
        return ""
    tail = "; the prototypes of the codes not learned moved toward your answers" if moved else ""
    return "  Not learned: " + "; ".join(parts) + tail + "."


def carries(counts: tuple[int, int]) -> str:
    """What a coder's carry model learned, in words (``coder suggest --learn`` and ``coder review``)."""
    repeats, given = counts
    return (
        f" Codes given to a sentence are now offered on the next one where likely (in these answers a code ran "
        f"on to the next sentence {repeats} times of {given}, {repeats / given:.0%})."
    )
