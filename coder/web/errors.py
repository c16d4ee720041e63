"""Every failure as one line for a person: JSON ``{"ok": false, "error": ...}`` for the page's script,
a short HTML page otherwise. Nothing a request refused was stored, and the message says what to do."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request

from coder.errors import CoderError


class Failure(Exception):
    """An HTTP error with a one-line message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def fail(status: int, message: str) -> Any:
    if request.path.startswith("/api/"):
        return jsonify({"ok": False, "error": message}), status
    return render_template("message.html", title="Not available", message=message), status


def install(app: Flask) -> None:
    """Turn every exception a view raises into :func:`fail`."""

    @app.errorhandler(Failure)
    def on_failure(e: Failure) -> Any:
        return fail(e.status, e.message)

    @app.errorhandler(CoderError)
    def on_coder_error(e: CoderError) -> Any:
        return fail(400, str(e))

    # the only sqlite3 name here: a writer that outlasted the busy timeout, said as such
    @app.errorhandler(sqlite3.OperationalError)
    def on_busy(e: sqlite3.OperationalError) -> Any:
        return fail(503, f"the project file is busy ({e}); try again, then reload the page to see what was stored")

    @app.errorhandler(413)
    def on_too_large(_e: Any) -> Any:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return fail(413, f"request too large (over {limit // 1024} KB); nothing was saved")

    @app.errorhandler(Exception)
    def on_error(e: Exception) -> Any:
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return fail(e.code or 500, e.description or e.name)
        current_app.logger.exception("coder serve: %s", e)
        return fail(500, f"the server failed ({type(e).__name__}): reload the page to see what was stored")
