"""``coder serve``: the review page in a browser, on the same functions as ``coder review``.

A Flask app bound to 127.0.0.1 only. Every request must carry the per-run access token (in the
first URL, then in an HttpOnly, SameSite=Strict cookie); every state-changing request must also
carry the page's CSRF token in a header, come from this origin and name a loopback host. Pages
escape all transcript text (Jinja autoescaping; the script builds its DOM with ``textContent``)
and a Content-Security-Policy allows nothing but this server's own files.

Each request opens its own :class:`~coder.store.Store`, so several coders (each naming
themselves in the URL) can answer at once; every answer is its own transaction, and the page
shows it as done only after the server said it was stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from coder import review as rv
from coder.errors import CoderError, InputError
from coder.reliability import CONSENSUS, MACHINE
from coder.store import Store
from coder.types import PATH_SEP

WEB = Path(__file__).parent / "web"
HOST = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
MAX_BODY = 64 * 1024
MAX_NAME = 64
MAX_MEMO = 10_000
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
RESERVED = (MACHINE, CONSENSUS)  # roles, not people
HEADLESS_CHROMIUM_FLAGS = (  # for driving the page in tests and screenshots: no calls home, no sandbox as root
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(token: str) -> str:
    """The CSRF token pages carry: derived from the access token, so a restart changes both."""
    return hmac.new(token.encode(), b"coder-csrf", hashlib.sha256).hexdigest()


def coder_name(raw: str | None) -> str | None:
    """A coder's name from a form or URL: trimmed, printable, not a role name; None when empty."""
    name = (raw or "").strip()
    if not name:
        return None
    if len(name) > MAX_NAME or not name.isprintable():
        raise InputError(f"a coder name must be printable and at most {MAX_NAME} characters", hint="try your initials")
    if name.lower() in RESERVED or name.lower().startswith(MACHINE + ":"):
        raise InputError(f"'{name}' is a role, not a person", hint="review under your own name")
    return name


class Failure(Exception):
    """An HTTP error with a one-line message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(
    project: str | Path,
    *,
    token: str,
    default_coder: str | None = None,
    learn_every: int = rv.LEARN_EVERY,
    port: int | None = None,
) -> Any:
    """The Flask app for one project. ``port``: the bound port, checked against the Host header."""
    from flask import Flask, g, jsonify, redirect, render_template, request

    project = Path(project)
    app = Flask("coder.web", template_folder=str(WEB / "templates"), static_folder=str(WEB / "static"))
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, CODER_PORT=port, CODER_PROJECT=project)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    csrf = csrf_token(token)
    learners: dict[str, rv.Learner] = {}
    count_lock = threading.Lock()
    learning: dict[str, Any] = {"thread": None, "message": {}}  # one re-fit at a time, off the request path
    app.extensions["coder_learning"] = learning
    with Store(project):  # fail now, with the usual message, not on the first page
        pass

    def cookie_name() -> str:
        return f"coder_token_{app.config['CODER_PORT'] or 'test'}"

    def is_api() -> bool:
        return request.path.startswith("/api/")

    def fail(status: int, message: str) -> Any:
        if is_api():
            return jsonify({"ok": False, "error": message}), status
        return render_template("message.html", title="Not available", message=message), status

    @app.before_request
    def guard() -> Any:
        host, _, port_text = request.host.rpartition(":") if ":" in request.host else (request.host, "", "")
        want = app.config["CODER_PORT"]
        if host not in LOOPBACK_NAMES or (want is not None and port_text != str(want)):
            return fail(403, "this server answers only on 127.0.0.1 (check the address you opened)")
        given = request.args.get("token")
        if given is not None:
            if request.method != "GET" or not hmac.compare_digest(given.encode(), token.encode()):
                return fail(403, "this link's token is not this server's: open the link 'coder serve' printed")
            rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
            path = "/" + request.path.lstrip("/\\")  # always this site, whatever the path looks like
            resp = redirect(path + ("?" + urlencode(rest) if rest else ""), code=303)
            resp.set_cookie(cookie_name(), token, httponly=True, samesite="Strict", path="/")
            return resp
        if not hmac.compare_digest(request.cookies.get(cookie_name(), "").encode(), token.encode()):
            return fail(
                403,
                "no access token: open the link that 'coder serve' printed (if it restarted, the old link is void)",
            )
        if request.method not in ("GET", "HEAD"):
            if not hmac.compare_digest(request.headers.get("X-CSRF-Token", "").encode(), csrf.encode()):
                return fail(403, "missing or wrong CSRF token: reload the page")
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"http://{request.host}":
                return fail(403, "request from another site refused")
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                return fail(403, "request from another site refused")
        g.store = Store(project)
        return None

    @app.teardown_request
    def close(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def headers(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return resp

    @app.errorhandler(Failure)
    def on_failure(e: Failure) -> Any:
        return fail(e.status, e.message)

    @app.errorhandler(CoderError)
    def on_coder_error(e: CoderError) -> Any:
        return fail(400, str(e))

    @app.errorhandler(sqlite3.OperationalError)
    def on_busy(e: sqlite3.OperationalError) -> Any:
        return fail(503, f"the project file is busy ({e}); try again, then reload the page to see what was stored")

    @app.errorhandler(Exception)
    def on_error(e: Exception) -> Any:
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return fail(e.code or 500, e.description or e.name)
        app.logger.exception("coder serve: %s", e)
        return fail(500, f"the server failed ({type(e).__name__}): reload the page to see what was stored")

    @app.errorhandler(413)
    def on_too_large(_e: Any) -> Any:
        return fail(413, f"request too large (over {MAX_BODY // 1024} KB); nothing was saved")

    def store() -> Store:
        store: Store = g.store
        return store

    def current_coder(required: bool = True) -> str | None:
        raw = request.args.get("coder") if request.method == "GET" else _body().get("coder")
        try:
            name = coder_name(raw if isinstance(raw, str) else None) or default_coder
        except InputError as e:
            raise Failure(400, str(e)) from None
        if name is None and required:
            raise Failure(400, "no coder name: open the documents page and say who is coding")
        return name

    def _body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise Failure(400, "expected a JSON object")
        return data

    def need(data: dict[str, Any], key: str, kind: type) -> Any:
        value = data.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise Failure(400, f"'{key}' missing or not a {kind.__name__}")
        return value

    def codable_segment(segment_id: int) -> Any:
        row = store().segment_row(segment_id)
        if row is None:
            raise Failure(404, f"no sentence {segment_id} in this project (reload the page)")
        if not row["coded"]:
            raise Failure(400, "interviewer speech is not coded")
        return row

    def doc_state(coder: str, document_id: int) -> dict[str, Any]:
        chips = rv.chips(store(), coder, document_id)
        flat = [c for cs in chips.values() for c in cs]
        suggested = [c for c in flat if c.suggested]
        memos: dict[int, list[str]] = {}
        for m in store().document_memos(document_id, coder):
            memos.setdefault(int(m["segment_id"]), []).append(m["text"])
        return {
            "ok": True,
            "chips": {str(k): [asdict(c) for c in v] for k, v in chips.items()},
            "memos": {str(k): v for k, v in memos.items()},
            "progress": {
                "suggested": len(suggested),
                "answered": sum(c.state != "pending" for c in suggested),
                "pending": sum(c.state == "pending" for c in suggested),
                "accepted": sum(c.state == "accepted" for c in flat),
                "rejected": sum(c.state == "rejected" for c in flat),
            },
        }

    def fit_in_background(coder: str) -> None:
        try:
            with Store(project) as own:
                res = rv.Learner.fit(own, coder)
        except CoderError as e:
            res = f"learning skipped: {e}"
        message = (
            res
            if isinstance(res, str)
            else (f"learned.v1 updated from {res.decisions} decisions; {res.new_segments} sentences newly suggested")
        )
        with count_lock:
            learning["message"][coder] = message

    def after_answer(coder: str) -> str | None:
        """Count the answer; every ``learn_every`` answers re-fit learned.v1 in a background thread.

        The answer is already stored and the page must not wait for the re-fit (seconds on a big
        project); its outcome comes back with this coder's next answer.
        """
        with count_lock:
            done = learning["message"].pop(coder, None)
            due = learners.setdefault(coder, rv.Learner(learn_every)).tick()
            busy = learning["thread"] is not None and learning["thread"].is_alive()
            if due and not busy:
                learning["thread"] = threading.Thread(target=fit_in_background, args=(coder,), daemon=True)
                learning["thread"].start()
        if due:
            started = "re-fitting learned.v1 from your answers" if not busy else "learned.v1 is already re-fitting"
            return f"{done} · {started}" if done else started
        return done

    def page(name: str, **kw: Any) -> Any:
        return render_template(
            name, csrf=csrf, coder=kw.pop("coder", None), project=project.name, learn_every=learn_every, **kw
        )

    # -- pages ------------------------------------------------------------------------------

    @app.get("/")
    def documents() -> Any:
        coder = current_coder(required=False)
        if coder is None or request.args.get("coder") == "":  # "change" asks again, whatever the default
            return page("who.html", title="Who is coding?", known=store().coders())
        docs = rv.documents_progress(store())
        others = sorted({c for d in docs for c in d.reviewed} - {coder, *RESERVED})
        has_runs = bool(store().active_runs())
        return page("documents.html", title="Documents", coder=coder, docs=docs, others=others, has_runs=has_runs)

    @app.get("/doc/<int:document_id>")
    def document(document_id: int) -> Any:
        coder = current_coder(required=False)
        if coder is None:
            return redirect("/")
        view = rv.document_view(store(), document_id)
        ids = [d.id for d in store().documents()]
        at = ids.index(document_id)
        prev_id = ids[at - 1] if at > 0 else None
        next_id = ids[at + 1] if at + 1 < len(ids) else None
        return page("document.html", title=view.name, coder=coder, doc=view, prev_id=prev_id, next_id=next_id)

    @app.get("/status")
    def status() -> Any:
        coder = current_coder()
        assert coder is not None
        rows = rv.status(store(), [coder])
        prog = rv.progress(store(), coder)
        return page("status.html", title="Status", coder=coder, rows=rows, prog=prog)

    @app.get("/tally")
    def tally() -> Any:
        from coder import report
        from coder import tally as tl
        from coder import workflows as wf

        coder = current_coder()
        scope = request.args.get("scope", "mine")
        if scope not in ("mine", "all", "suggested"):
            raise Failure(400, "scope must be mine, all or suggested")
        coders = [coder] if scope == "mine" and coder in store().coders() else []
        if scope == "mine" and not coders:
            body = None
        else:
            t = wf.tally_codings(store(), coders=coders, include_suggested=scope == "suggested")
            body = report.tally_html(t.rows, title=t.title, notes=[*t.notes, tl.RULES])
        return page("report.html", title="Theme frequencies", coder=coder, body=body, scope=scope, kind="tally")

    @app.get("/agree")
    def agree() -> Any:
        from coder import agreement_report as ar
        from coder import reliability as rl

        coder = current_coder()
        people = [c for c in store().coders() if c not in RESERVED]
        if len(people) >= 2:
            pair = people
        elif coder in people:
            pair = [coder, MACHINE]
        else:
            pair = []
        body = ar.html_fragment(rl.agree(store(), pair, n_boot=1000)) if pair else None
        return page("report.html", title="Agreement", coder=coder, body=body, scope=None, kind="agree")

    # -- the page's API -------------------------------------------------------------------

    @app.get("/favicon.ico")
    def favicon() -> Any:
        return "", 204

    @app.get("/api/ping")
    def ping() -> Any:
        return jsonify({"ok": True})

    @app.get("/api/doc/<int:document_id>")
    def api_doc(document_id: int) -> Any:
        coder = current_coder()
        assert coder is not None
        return jsonify(doc_state(coder, document_id))

    @app.get("/api/status")
    def api_status() -> Any:
        """The live status card: a coder's counts, acceptance and recall estimate (from coder.review.status)."""
        coder = current_coder()
        assert coder is not None
        rows = rv.status(store(), [coder])
        accepted = sum(r.accepted for r in rows)
        rejected = sum(r.rejected for r in rows)
        top = [r for r in rows if PATH_SEP not in r.code and r.expected_unfound is not None]
        found = sum(r.found for r in top)
        unfound = sum(r.expected_unfound or 0.0 for r in top)
        busy = sorted(rows, key=lambda r: (-(r.pending + r.accepted + r.rejected), r.code))
        return jsonify(
            {
                "ok": True,
                "accepted": accepted,
                "rejected": rejected,
                "pending": sum(r.pending for r in rows),
                "acceptance": accepted / (accepted + rejected) if accepted + rejected else None,
                "recall": found / (found + unfound) if top and found + unfound else None,
                "codes": [
                    {
                        "code": r.code,
                        "accepted": r.accepted,
                        "rejected": r.rejected,
                        "pending": r.pending,
                        "recall": r.estimated_recall,
                    }
                    for r in busy[:6]
                    if r.pending + r.accepted + r.rejected
                ],
            }
        )

    @app.get("/api/codebook")
    def api_codebook() -> Any:
        from coder import workflows as wf
        from coder.codebook import code_fields

        book = wf.current_codebook(store())
        return jsonify(
            {
                "ok": True,
                "codes": {c.path: {**code_fields(c), "name": c.name} for c in book.codes},
            }
        )

    @app.get("/api/codes")
    def api_codes() -> Any:
        from coder import workflows as wf

        book = wf.current_codebook(store())
        return jsonify({"ok": True, "codes": rv.search_codes(book, request.args.get("q", ""), limit=12)})

    @app.get("/api/explain")
    def api_explain() -> Any:
        coder = current_coder()
        try:
            segment_id = int(request.args.get("segment_id", ""))
        except ValueError:
            raise Failure(400, "segment_id must be a number") from None
        item = rv.item_for(store(), segment_id, request.args.get("code", ""))
        if item is None:
            return jsonify({"ok": True, "kind": None})
        e = rv.explain(store(), item, coder)
        return jsonify({"ok": True, **asdict(e), "suggester": item.suggester, "probability": item.probability})

    @app.post("/api/answer")
    def api_answer() -> Any:
        data = _body()
        coder = current_coder()
        assert coder is not None
        segment_id = need(data, "segment_id", int)
        code = need(data, "code_path", str)
        answer = need(data, "answer", str)
        if answer not in ("accept", "reject"):
            raise Failure(400, "answer must be accept or reject")
        reason = data.get("reason")
        if reason is not None and reason not in rv.REASONS.values():
            raise Failure(400, "unknown reason")
        note = data.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_MEMO):
            raise Failure(400, "note must be text")
        row = codable_segment(segment_id)
        item = rv.item_for(store(), segment_id, code)
        if item is None:
            raise Failure(409, f"'{code}' is no longer suggested for this sentence (suggestions were re-run): reload")
        decision = rv.answer(store(), coder, item, answer, reason=reason, note=(note or "").strip() or None)
        learned = after_answer(coder)
        return jsonify({**doc_state(coder, row["document_id"]), "decision_id": decision, "learned": learned})

    @app.post("/api/code")
    def api_code() -> Any:
        data = _body()
        coder = current_coder()
        assert coder is not None
        row = codable_segment(need(data, "segment_id", int))
        decision = rv.apply_code(store(), coder, row["id"], need(data, "code_path", str))
        return jsonify({**doc_state(coder, row["document_id"]), "decision_id": decision})

    @app.post("/api/undo")
    def api_undo() -> Any:
        data = _body()
        coder = current_coder()
        assert coder is not None
        document_id = need(data, "document_id", int)
        if document_id not in {d.id for d in store().documents()}:
            raise Failure(404, f"no document {document_id} in this project (reload the page)")
        undone = rv.undo(store(), coder)
        info = None
        if undone is not None:
            seg = store().segment_row(undone.segment_id)
            info = {**asdict(undone), "document_id": seg["document_id"], "document": seg["document"]}
        return jsonify({**doc_state(coder, document_id), "undone": info})

    @app.post("/api/memo")
    def api_memo() -> Any:
        data = _body()
        coder = current_coder()
        assert coder is not None
        row = codable_segment(need(data, "segment_id", int))
        text = need(data, "text", str)
        if len(text) > MAX_MEMO:
            raise Failure(400, f"memo longer than {MAX_MEMO} characters")
        memo_id = rv.memo(store(), coder, row["id"], text)
        return jsonify({**doc_state(coder, row["document_id"]), "memo_id": memo_id})

    return app


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
    learn_every: int = rv.LEARN_EVERY,
    token: str | None = None,
    on_error: Callable[[str], None] | None = None,
) -> Server:
    """Bind 127.0.0.1:``port`` (0: any free port) and build the app; call ``serve_forever`` to run."""
    import logging

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
