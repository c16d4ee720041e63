"""coder serve: the review page in a browser, on 127.0.0.1 only."""

from __future__ import annotations

import sys
from urllib.parse import quote

import click

from coder.cli._common import coder_option, learn_every_option


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0 = any free port).",
)
@coder_option(
    help="Open the page as this coder (env CODER_NAME); otherwise the page asks. Others can open it under their names."
)
@learn_every_option(
    "Re-fit the answering coder's own learned model in the background after every N of their answers "
    "(0 = never; other coders' runs are untouched)."
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
    from coder.web import coder_name, make_server

    project = ctx.obj["project"]
    name = coder_name(coder)
    server = make_server(project, port=port, default_coder=name, learn_every=learn_every)
    url = server.url + (f"&coder={quote(name)}" if name else "")
    click.echo(f"coder is serving {project} on {server.base} (this computer only).")
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


COMMANDS = (serve,)
