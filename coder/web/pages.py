"""The HTML pages: who is coding, the documents list, a document, status, theme frequencies, agreement.

Transcript text reaches the page only through Jinja's autoescaping; the document page's chips and
panel are filled in by ``static/app.js`` from the JSON API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request

from coder.web.context import coder, current_coder, project, settings
from coder.web.errors import Failure

bp = Blueprint("pages", __name__)
TALLY_SCOPES = ("mine", "suggested")
"""The page is one coder's screen: their own codings, with or without the suggestions still pending for them.
Everyone's codings and agreement between people are reports for the terminal, so double coding stays blind."""


def page(name: str, **kw: Any) -> Any:
    s = settings()
    return render_template(
        name, csrf=s.csrf, coder=kw.pop("coder", None), project=s.project.name, learn_every=s.learn_every, **kw
    )


@bp.get("/")
def documents() -> Any:
    name = current_coder(required=False)
    p = project()
    if name is None or request.args.get("coder") == "":  # "change" asks again, whatever the default
        return page("who.html", title="Who is coding?", known=p.coders())
    docs = p.documents_progress(name)
    return page("documents.html", title="Documents", coder=name, docs=docs, has_runs=p.has_suggestions())


@bp.get("/doc/<int:document_id>")
def document(document_id: int) -> Any:
    name = current_coder(required=False)
    if name is None:
        return redirect("/")
    view = project().document_view(document_id)
    ids = [d.id for d in project().documents()]
    at = ids.index(document_id)
    prev_id = ids[at - 1] if at > 0 else None
    next_id = ids[at + 1] if at + 1 < len(ids) else None
    return page("document.html", title=view.name, coder=name, doc=view, prev_id=prev_id, next_id=next_id)


@bp.get("/status")
def status() -> Any:
    name = coder()
    rows = project().status([name], all_codes=True)
    prog = project().answer_counts(name)
    prog.remaining = sum(r.pending for r in rows)  # what the queue would list, counted by the rows
    added = sum(r.added for r in rows)
    return page("status.html", title="Status", coder=name, rows=rows, prog=prog, added=added)


@bp.get("/tally")
def tally() -> Any:
    from coder import report
    from coder import tally as tl

    name = coder()
    scope = request.args.get("scope", "mine")
    if scope not in TALLY_SCOPES:
        raise Failure(400, "scope must be mine or suggested")
    body = None
    if name in project().coders():
        t = project().tally(coders=[name], include_suggested=scope == "suggested")
        body = report.tally_html(t.rows, title=t.title, notes=[*t.notes, tl.RULES])
    return page("report.html", title="Theme frequencies", coder=name, body=body, scope=scope, kind="tally")


@bp.get("/agree")
def agree() -> Any:
    from coder import agreement_report as ar
    from coder.app.common import MACHINE

    name = coder()
    pair = [name, MACHINE] if name in project().coders() else []  # people with each other: 'coder agree'
    body = ar.html_fragment(project().agree(pair, n_boot=1000)) if pair else None
    return page("report.html", title="Agreement", coder=name, body=body, scope=None, kind="agree")


@bp.get("/favicon.ico")
def favicon() -> Any:
    return "", 204
