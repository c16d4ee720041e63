"""coder codebook: validate, load and show codebooks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from coder.cli._common import format_option, open_project


@click.group()
def codebook() -> None:
    """Validate, load and show codebooks (YAML).

    \b
    Examples:
      coder codebook validate codebooks/resilience.yaml
      coder codebook load codebooks/resilience.yaml
      coder codebook show
    """


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
@click.option(
    "--orphan-ok",
    is_flag=True,
    help="Load even if decisions on codes this version no longer has would be orphaned (they are listed).",
)
@click.pass_context
def codebook_load(ctx: click.Context, file: Path, orphan_ok: bool) -> None:
    """Validate a codebook and make it the project's current codebook.

    Loading a new version keeps earlier decisions: codes are matched by their path, and a code's
    'formerly:' list moves the decisions of its old names (or merges several) to it. A version that
    would orphan decisions is refused unless --orphan-ok.

    \b
    Examples:
      coder codebook load codebooks/resilience.yaml
      coder codebook load v2.yaml --orphan-ok
    """
    from coder.app.ingest import LIST_CODINGS  # the same words as the refusal's

    r = open_project(ctx).load_codebook(file, orphan_ok=orphan_ok)
    state = "Loaded" if r.changed else "Already current:"
    click.echo(
        f"{state} codebook '{r.codebook.name}' version {r.codebook.version} "
        f"({len(r.codebook.codes)} codes, hash {r.codebook.hash})."
    )
    for m in r.renamed:
        click.echo(f"  renamed: '{m.old_path}' → '{m.new_path}' ({_n(m.decisions_moved)})")
    if r.merged:
        click.echo(
            f"  merged: {_n(r.merged)} duplicated by a merge marked undone (an accept kept over a reject, "
            "else the newest; still in the audit trail)"
        )
    for path, n in sorted(r.orphaned.items()):
        click.secho(
            f"  note: {_n(n)} refer to '{path}', which this version no longer has "
            f"(list them: {LIST_CODINGS.format(path=path)})",
            fg="yellow",
        )


def _n(n: int) -> str:
    return f"{n} decision{'s' * (n != 1)}"


@codebook.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.pass_context
def codebook_diff(ctx: click.Context, old: Path, new: Path) -> None:
    """Show what loading NEW over OLD would add, rename, merge and drop.

    With a project (-p, or coder.db here), each line says how many of its standing decisions
    it touches; dropped codes with decisions are what 'codebook load' would refuse.

    \b
    Example:
      coder codebook diff codebooks/v1.yaml codebooks/v2.yaml
    """
    from coder.app import Project

    project_file = Path(ctx.obj["project"])
    r = open_project(ctx).diff_codebooks(old, new) if project_file.is_file() else Project.diff_codebook_files(old, new)
    d = r.diff
    counted = bool(r.decisions)

    def n(*paths: str) -> str:
        return f" ({_n(r.count(*paths))})" if counted else ""

    click.echo(f"{r.old.name} {r.old.version} → {r.new.name} {r.new.version}")
    if not (d.added or d.renamed or d.merged or d.dropped or d.changed):
        click.echo("  no codes added, renamed, merged or dropped")
    for path in d.added:
        click.echo(f"  added:   '{path}'")
    for was, path in d.renamed:
        click.echo(f"  renamed: '{was}' → '{path}'{n(was)}")
    for olds, path in d.merged:
        moved = [p for p in olds if p != path]
        click.echo(f"  merged:  {', '.join(repr(p) for p in olds)} → '{path}'{n(*moved)}")
    for path in d.dropped:
        click.secho(f"  dropped: '{path}'{n(path)}", fg="yellow" if r.count(path) else None)
    for path, fields in d.changed:
        click.echo(f"  changed: '{path}' ({', '.join(fields)})")
    orphaned = [p for p in d.dropped if r.count(p)]
    if orphaned:
        click.echo(
            f"Loading it would orphan decisions on {len(orphaned)} code(s) and is refused without --orphan-ok; "
            "add 'formerly:' to the code that replaces each, or list them to recode: "
            "coder export codings --code PATH"
        )


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
