"""``coder serve``: the review page in a browser, on the same :class:`~coder.app.Project` as the CLI.

A Flask app bound to 127.0.0.1 only (``server``), guarded by a per-run token, a CSRF token and
Origin/Host checks (``security``); HTML pages (``pages``) and the JSON API the page's script calls
(``api``), both over one :class:`~coder.app.Project` per request (``context``); per-coder review
state and background re-fits (``reviews``). Pages escape all transcript text (Jinja autoescaping;
the script builds its DOM with ``textContent``) and a Content-Security-Policy allows nothing but
this server's own files.
"""

from coder.web.app import create_app
from coder.web.context import coder_name
from coder.web.security import MAX_BODY, csrf_token, new_token
from coder.web.server import HEADLESS_CHROMIUM_FLAGS, HOST, Server, make_server

__all__ = [
    "HEADLESS_CHROMIUM_FLAGS",
    "HOST",
    "MAX_BODY",
    "Server",
    "coder_name",
    "create_app",
    "csrf_token",
    "make_server",
    "new_token",
]
