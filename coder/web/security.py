"""Who may talk to the page, and what the browser may do with its answers.

Every request must carry the per-run access token: in the first URL (which then sets an HttpOnly,
SameSite=Strict cookie and redirects the token out of the address bar), then in that cookie. Every
state-changing request must also carry the page's CSRF token in a header, come from this origin
(``Origin``, ``Sec-Fetch-Site``) and name a loopback host on the bound port (so a DNS-rebinding page
on another name gets nothing). Every response forbids remote assets, inline script, framing and
caching. Bodies are capped by Flask's ``MAX_CONTENT_LENGTH``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, redirect, request

from coder.web.errors import fail

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MAX_BODY = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SAFE_METHODS = ("GET", "HEAD")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(token: str) -> str:
    """The CSRF token pages carry: derived from the access token, so a restart changes both."""
    return hmac.new(token.encode(), b"coder-csrf", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def cookie_name() -> str:
    """One cookie per port, so two servers on one machine do not overwrite each other's token."""
    return f"coder_token_{current_app.config['CODER_PORT'] or 'test'}"


def _loopback_host() -> bool:
    host, _, port = request.host.rpartition(":") if ":" in request.host else (request.host, "", "")
    want = current_app.config["CODER_PORT"]
    return host in LOOPBACK_NAMES and (want is None or port == str(want))


def _token_link(token: str) -> Any:
    """The link 'coder serve' printed: set the cookie and send the browser on without the token."""
    given = request.args.get("token", "")
    if request.method != "GET" or not _same(given, token):
        return fail(403, "this link's token is not this server's: open the link 'coder serve' printed")
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    path = "/" + request.path.lstrip("/\\")  # always this site, whatever the path looks like
    resp = redirect(path + ("?" + urlencode(rest) if rest else ""), code=303)
    resp.set_cookie(cookie_name(), token, httponly=True, samesite="Strict", path="/")
    return resp


def _same_site_write(csrf: str) -> Any:
    if not _same(request.headers.get("X-CSRF-Token", ""), csrf):
        return fail(403, "missing or wrong CSRF token: reload the page")
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        return fail(403, "request from another site refused")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return fail(403, "request from another site refused")
    return None


def install(app: Flask, token: str) -> None:
    """Check every request before any view runs, and add the security headers to every response."""
    csrf = csrf_token(token)

    @app.before_request
    def guard() -> Any:
        if not _loopback_host():
            return fail(403, "this server answers only on 127.0.0.1 (check the address you opened)")
        if request.args.get("token") is not None:
            return _token_link(token)
        if not _same(request.cookies.get(cookie_name(), ""), token):
            return fail(
                403,
                "no access token: open the link that 'coder serve' printed (if it restarted, the old link is void)",
            )
        if request.method not in SAFE_METHODS:
            return _same_site_write(csrf)
        return None

    @app.after_request
    def headers(resp: Any) -> Any:
        resp.headers.update(HEADERS)
        return resp
