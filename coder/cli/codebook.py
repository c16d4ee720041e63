"""coder codebook: validate, load and show codebooks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from coder.cli._common import format_option, open_project


@click.group()
def codebook() -> None:
    """Validate, load and show codebooks (YAML)."""


@codebook.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def codebook_validate(file: Path) -> None:
    """Check a codebook file and report every problem with its line.

    \b
    Example:
      coder codebook validate codebooks/resilience.yaml
    """
    from coder.codebook import read_codebook

    book = read_codebook(file)
    leaves = len(book.leaves())
    click.echo(
        f"{file}: OK — '{book.name}' version {book.version}, {len(book.codes)} codes "
        f"({len(book.children(None))} top-level, {leaves} leaves), hash {book.hash}."
    )


@codebook.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def codebook_load(ctx: click.Context, file: Path) -> None:
    """Validate a codebook and make it the project's current codebook.

    Loading a new version keeps earlier decisions: codes are matched by their path.

    \b
    Example:
      coder codebook load codebooks/resilience.yaml
    """
    r = open_project(ctx).load_codebook(file)
    state = "Loaded" if r.changed else "Already current:"
    click.echo(
        f"{state} codebook '{r.codebook.name}' version {r.codebook.version} "
        f"({len(r.codebook.codes)} codes, hash {r.codebook.hash})."
    )
    for path, n in sorted(r.orphaned.items()):
        click.secho(f"  note: {n} decision(s) refer to '{path}', which this version no longer has", fg="yellow")


@codebook.command("show")
@format_option(["text", "json"], None, default="text")
@click.option("--file", type=click.Path(path_type=Path), default=None, help="Show a file instead of the project's.")
@click.pass_context
def codebook_show(ctx: click.Context, fmt: str, file: Path | None) -> None:
    """Print the codebook tree (the project's current one, or --file).

    \b
    Examples:
      coder codebook show
      coder codebook show --format json > codebook.json
    """
    from coder import codebook as cbm

    book = cbm.read_codebook(file) if file else open_project(ctx).codebook()
    if fmt == "json":
        click.echo(json.dumps(cbm.to_dict(book), indent=2, ensure_ascii=False))
        return
    click.echo(f"{book.name} {book.version} ({len(book.codes)} codes, hash {book.hash})")
    if book.exclusive:
        click.echo("  exclusive: one top-level code per unit")
    for c in book.codes:
        pad = "  " * (c.depth + 1)
        mark = "  (exclusive: one subcode per unit)" if c.exclusive else ""
        click.echo(f"{pad}{click.style(c.name, bold=c.depth == 0)}{mark}" + (f"  [{c.source}]" if c.source else ""))


COMMANDS = (codebook,)
