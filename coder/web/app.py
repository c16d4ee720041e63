"""The app factory: one Flask app per project, wired from the security guard, the pages and the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coder.app import Project
from coder.app.learning import LEARN_EVERY
from coder.web import api, context, errors, pages, security
from coder.web.reviews import Reviews

HERE = Path(__file__).parent


def create_app(
    project: str | Path,
    *,
    token: str,
    default_coder: str | None = None,
    learn_every: int = LEARN_EVERY,
    port: int | None = None,
) -> Any:
    """The Flask app for one project. ``port``: the bound port, checked against the Host header."""
    from flask import Flask

    project = Path(project)
    with Project(project):  # fail now, with the usual message, not on the first page
        pass
    app = Flask("coder.web", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(MAX_CONTENT_LENGTH=security.MAX_BODY, CODER_PORT=port, CODER_PROJECT=project)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    settings = context.Settings(project, security.csrf_token(token), default_coder, learn_every, Reviews(project))
    context.install(app, settings)
    security.install(app, token)
    errors.install(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    return app
