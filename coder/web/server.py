"""``make_server``: the app on a socket bound to 127.0.0.1 only, with a fresh access token per run."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coder.app.learning import LEARN_EVERY
from coder.errors import CoderError
from coder.web.app import create_app
from coder.web.security import new_token

HOST = "127.0.0.1"
HEADLESS_CHROMIUM_FLAGS = (  # for driving the page in tests and screenshots: no calls home, no sandbox as root
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


class Server:
    """A running ``coder serve``: the bound server and its URL (with the token)."""

    def __init__(self, http: Any, token: str) -> None:
        self.http = http
        self.app = http.app
        self.token = token
        self.port = int(http.port)
        self.base = f"http://{HOST}:{self.port}"
        self.url = f"{self.base}/?token={token}"

    def serve_forever(self) -> None:
        self.http.serve_forever()

    def shutdown(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def make_server(
    project: str | Path,
    *,
    port: int = 0,
    default_coder: str | None = None,
    learn_every: int = LEARN_EVERY,
    token: str | None = None,
    on_error: Callable[[str], None] | None = None,
) -> Server:
    """Bind 127.0.0.1:``port`` (0: any free port) and build the app; call ``serve_forever`` to run."""
    from werkzeug.serving import make_server as werkzeug_server

    token = token or new_token()
    app = create_app(project, token=token, default_coder=default_coder, learn_every=learn_every)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # its access log would print the token
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:  # bound here, not by werkzeug, whose bind error exits the process
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as e:
        sock.close()
        raise CoderError(
            f"cannot listen on {HOST}:{port} ({e.strerror or e})",
            hint="another program uses that port: pass --port with another number, or --port 0 for any free one",
        ) from None
    try:
        http = werkzeug_server(HOST, port, app, threaded=True, fd=sock.fileno())
    finally:
        sock.close()  # werkzeug holds its own duplicate of the socket
    app.config["CODER_PORT"] = int(http.port)
    return Server(http, token)
