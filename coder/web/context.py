"""What every view starts from: the app's settings, this request's project, the coder and the JSON body.

Each request opens its own :class:`~coder.app.Project` (on first use, closed at teardown), so several
coders can answer at once and every answer is its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, request

from coder.app import Project, ReviewSession
from coder.app.common import CONSENSUS, MACHINE
from coder.errors import InputError
from coder.web.errors import Failure
from coder.web.reviews import Reviews

MAX_NAME = 64
RESERVED = (MACHINE, CONSENSUS)  # roles, not people
KEY = "coder_web"


@dataclass(frozen=True)
class Settings:
    """One app's fixed settings and its per-coder review state."""

    project: Path
    csrf: str
    default_coder: str | None
    learn_every: int
    reviews: Reviews


def settings(app: Flask | None = None) -> Settings:
    s: Settings = (app or current_app).extensions[KEY]
    return s


def install(app: Flask, s: Settings) -> None:
    app.extensions[KEY] = s

    @app.teardown_request
    def close(_exc: BaseException | None) -> None:
        project = g.pop("project", None)
        if project is not None:
            project.close()


def project() -> Project:
    """This request's project, opened on first use."""
    if "project" not in g:
        g.project = Project(settings().project)
    p: Project = g.project
    return p


def review(coder: str, document_id: int | None = None) -> ReviewSession:
    """A review session over the coder's state kept between requests."""
    s = settings()
    return project().review(coder, document_id=document_id, learn_every=s.learn_every, state=s.reviews.state(coder))


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


def current_coder(required: bool = True) -> str | None:
    """The coder named in the URL (GET) or the body, else the server's ``--coder``."""
    raw = request.args.get("coder") if request.method == "GET" else body().get("coder")
    try:
        name = coder_name(raw if isinstance(raw, str) else None) or settings().default_coder
    except InputError as e:
        raise Failure(400, str(e)) from None
    if name is None and required:
        raise Failure(400, "no coder name: open the documents page and say who is coding")
    return name


def coder() -> str:
    name = current_coder()
    assert name is not None
    return name


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Failure(400, "expected a JSON object")
    return data


def need(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise Failure(400, f"'{key}' missing or not a {kind.__name__}")
    return value
