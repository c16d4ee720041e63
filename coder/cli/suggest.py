"""coder suggest: similarity.v2 (or v1) from the model, or a learned run per coder from the decisions so far."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from coder.cli._common import backend_option, carries, load_model, not_learned, open_project, plural, progress

if TYPE_CHECKING:
    from coder.app.learning import LearnResult
    from coder.app.suggesting import SuggestResult


@click.command()
@click.option(
    "--threshold",
    type=click.FloatRange(-1, 1),
    default=None,
    help="Minimum score for a suggestion (default chosen by measurement; see README).",
)
@click.option("--top-k", type=click.IntRange(1, 50), default=None, help="At most K codes per segment [default: 3].")
@click.option(
    "--method",
    type=click.Choice(["centroid", "max", "blend"]),
    default=None,
    help="How a code's exemplars are combined [default: centroid, chosen by measurement].",
)
@click.option(
    "--suggester",
    type=click.Choice(["similarity.v2", "similarity.v1"]),
    default="similarity.v2",
    show_default=True,
    help="similarity.v2 also pulls a code's score away from its exclusion criteria and counterexamples; "
    "similarity.v1 (older) uses only what a code is.",
)
@click.option(
    "--model",
    default=None,
    metavar="PATH",
    help="A local sentence-transformers folder, or 'mpnet' for all-mpnet-base-v2 once 'make mpnet' installed it "
    "(default: the packaged all-MiniLM-L6-v2).",
)
@click.option("--batch-size", type=click.IntRange(1, 1024), default=64, show_default=True)
@backend_option
@click.option(
    "--learn",
    is_flag=True,
    help="Fit a learned run from the decisions so far, one per coder, and re-score (no model needed).",
)
@click.option(
    "--learner",
    type=click.Choice(["learned.v2", "learned.v1"]),
    default="learned.v2",
    show_default=True,
    help="With --learn: learned.v2 fits a logistic model per code anchored on the zero-shot score, with "
    "probabilities calibrated on your answers; learned.v1 (older) moves each code's prototype.",
)
@click.option(
    "--coder",
    default=None,
    metavar="NAME",
    help="With --learn: only this coder's run ('consensus': from the reconciled coding, to pre-code the rest).",
)
@click.pass_context
def suggest(
    ctx: click.Context,
    threshold: float | None,
    top_k: int | None,
    method: str | None,
    suggester: str,
    model: str | None,
    batch_size: int,
    backend: str,
    learn: bool,
    learner: str,
    coder: str | None,
) -> None:
    """Suggest codes for every participant segment by embedding similarity.

    Embeddings are cached in the project: after a codebook edit only the codes are embedded again.

    With --learn, each coder gets their own learned run (learned.v2 by default), fitted from the codebook and their own
    answers only: what one coder is suggested never depends on another's answers (blind double
    coding). 'coder review' and the page re-fit the answering coder's run as they go.

    \b
    Examples:
      coder suggest
      coder suggest --threshold 0.5 --top-k 2
      coder suggest --suggester similarity.v1   # the older zero-shot scoring
      coder suggest --model ~/models/my-sentence-model
      coder suggest --model mpnet --backend torch   # the optional stronger model (make mpnet)
      coder suggest --learn        # after some review: one learned run per coder
      coder suggest --learn --coder consensus   # after 'coder reconcile': pre-code the rest
      coder suggest --learn --learner learned.v1 --coder ana   # the older learner
    """
    from coder import suggest as sg

    t0 = time.perf_counter()  # the time reported is the whole command's, model loading included
    project = open_project(ctx)
    project.codebook()  # fail fast, before loading the model
    if learn:
        results = project.learn(coder=coder, learner=learner, top_k=top_k or sg.DEFAULT_TOP_K)
        for res in results:
            _echo_learned(res)
        click.echo(
            f"{plural(len(results), 'learned run')} in {time.perf_counter() - t0:.1f}s; each coder is suggested "
            "from their own run only."
        )
        return
    embedder = load_model(model, batch_size=batch_size, backend=backend)
    with progress("Embedding segments", project.to_embed(embedder.model_id)) as bar:
        r = project.suggest(
            embedder,
            threshold=sg.DEFAULT_THRESHOLD if threshold is None else threshold,
            top_k=top_k or sg.DEFAULT_TOP_K,
            method=method or sg.DEFAULT_METHOD,
            suggester=suggester,
            progress=bar,
        )
    _echo_suggested(r, time.perf_counter() - t0)


def _echo_suggested(r: SuggestResult, seconds: float) -> None:
    run = r.run
    rate = run.embedded / r.embed_seconds if run.embedded and r.embed_seconds else 0
    click.echo(
        f"Scored {run.segments} participant segments against the codebook ({run.suggester}, {run.method}, "
        f"threshold {run.threshold:.2f}, top {run.top_k})."
    )
    click.echo(
        f"Embedded {run.embedded} new segment texts"
        + (f" ({rate:.0f}/s)" if rate else "")
        + f"; {r.suggestions} suggestions in {seconds:.1f}s. Model: {run.model}."
    )
    for res in r.relearned:
        if isinstance(res, str):
            click.secho(res, fg="yellow")
        else:
            _echo_learned(res)
    click.echo("Next: coder show DOCUMENT, or coder export codings -o codings.csv")


def _echo_learned(res: LearnResult) -> None:
    click.echo(
        f"{res.learner} for {res.coder}: {res.models} codes learned from {plural(res.decisions, 'decision')}"
        f"{' (probabilities calibrated on them)' if res.prior_fitted else ''}; {res.suggestions} suggestions, "
        f"{res.new_segments} on sentences the zero-shot run did not suggest."
        + (carries(res.carry) if res.carry else "")
    )
    why = not_learned(res.why_not) if res.why_not is not None else ""
    if why:
        click.echo(why)


COMMANDS = (suggest,)
