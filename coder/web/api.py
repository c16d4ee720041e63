"""The page's JSON API: a document's state, the live status card, the codebook, and every review action.

Actions go through :class:`~coder.app.ReviewSession`, the rules ``coder review`` follows too. Each
answer is stored in its own transaction before the response says so, and the response carries the
document's state read afterwards, so the page shows only what was stored.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from flask import Blueprint, jsonify, request

from coder.app.review import REASONS
from coder.app.session import Answered
from coder.app.views import StatusRow
from coder.errors import InputError
from coder.types import PATH_SEP
from coder.web.context import body, coder, need, project, review, settings
from coder.web.errors import Failure

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_MEMO = 10_000
LIVE_CODES = 6


def codable(segment_id: int) -> Any:
    """The sentence an action names, if a coder may code it."""
    at = project().locate(segment_id)
    if at is None:
        raise Failure(404, f"no sentence {segment_id} in this project (reload the page)")
    if not at.coded:
        raise Failure(400, "interviewer speech is not coded")
    return at


def doc_state(name: str, document_id: int) -> dict[str, Any]:
    """A coder's chips, memos and progress on one document, as stored now."""
    chips = project().chips(name, document_id)
    flat = [c for cs in chips.values() for c in cs]
    suggested = [c for c in flat if c.suggested]
    return {
        "ok": True,
        "chips": {str(k): [asdict(c) for c in v] for k, v in chips.items()},
        "memos": {str(k): v for k, v in project().memos(name, document_id).items()},
        "progress": {
            "suggested": len(suggested),
            "answered": sum(c.state != "pending" for c in suggested),
            "pending": sum(c.state == "pending" for c in suggested),
            "accepted": sum(c.state == "accepted" for c in flat),
            "rejected": sum(c.state == "rejected" for c in flat),
        },
    }


def live_status(rows: list[StatusRow]) -> dict[str, Any]:
    """The status card: answers to suggestions, codes given by hand, codes rejected where nothing suggested them
    (near misses of ``--order uncertain``; not in the acceptance, which is about suggestions), the recall estimate."""
    accepted = sum(r.accepted for r in rows)
    rejected = sum(r.rejected for r in rows)
    top = [r for r in rows if PATH_SEP not in r.code and r.expected_unfound is not None]
    found = sum(r.found for r in top)
    unfound = sum(r.expected_unfound or 0.0 for r in top)
    busy = sorted(rows, key=lambda r: (-(r.pending + r.accepted + r.rejected + r.added), r.code))
    return {
        "accepted": accepted,
        "rejected": rejected,
        "added": sum(r.added for r in rows),
        "rejected_unsuggested": sum(r.rejected_unsuggested for r in rows),
        "pending": sum(r.pending for r in rows),
        "acceptance": accepted / (accepted + rejected) if accepted + rejected else None,
        "recall": found / (found + unfound) if top and found + unfound else None,
        "codes": [
            {
                "code": r.code,
                "accepted": r.accepted,
                "rejected": r.rejected,
                "added": r.added,
                "pending": r.pending,
                "recall": r.estimated_recall,
            }
            for r in busy[:LIVE_CODES]
            if r.pending + r.accepted + r.rejected + r.added
        ],
    }


@bp.get("/ping")
def ping() -> Any:
    return jsonify({"ok": True})


@bp.get("/doc/<int:document_id>")
def doc(document_id: int) -> Any:
    return jsonify(doc_state(coder(), document_id))


@bp.get("/status")
def status() -> Any:
    """Read when the page asks, never cached: the page asks after each save the server confirmed."""
    t0 = time.perf_counter()
    rows = project().status([coder()], all_codes=True)
    # the server's own time, so the page can pace its reads on a big project (not the network's)
    return jsonify({"ok": True, **live_status(rows), "seconds": round(time.perf_counter() - t0, 4)})


@bp.get("/codebook")
def codebook() -> Any:
    from coder.codebook import code_fields

    book = project().codebook()
    return jsonify({"ok": True, "codes": {c.path: {**code_fields(c), "name": c.name} for c in book.codes}})


@bp.get("/codes")
def codes() -> Any:
    coder()  # the page is open for a named coder
    return jsonify({"ok": True, "codes": project().search_codes(request.args.get("q", ""), limit=12)})


@bp.get("/explain")
def explain() -> Any:
    try:
        segment_id = int(request.args.get("segment_id", ""))
    except ValueError:
        raise Failure(400, "segment_id must be a number") from None
    session = review(coder())
    item = session.item_for(segment_id, request.args.get("code", ""))
    if item is None:
        return jsonify({"ok": True, "kind": None})
    e = session.explain(item)
    p = item.probability if item.calibrated else None  # a probability only once calibrated on the coder's answers
    return jsonify({"ok": True, **asdict(e), "suggester": item.suggester, "probability": p})


@bp.post("/answer")
def answer() -> Any:
    data = body()
    name = coder()
    segment_id = need(data, "segment_id", int)
    code = need(data, "code_path", str)
    kind = need(data, "answer", str)
    if kind not in ("accept", "reject"):
        raise Failure(400, "answer must be accept or reject")
    reason, note = data.get("reason"), data.get("note")
    if reason is not None and reason not in REASONS.values():
        raise Failure(400, "unknown reason")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_MEMO):
        raise Failure(400, "note must be text")
    if kind == "accept" and (reason is not None or note is not None):
        raise Failure(400, "a reason or note goes with a reject; write a memo on an accepted sentence")
    at = codable(segment_id)
    reviews = settings().reviews
    with reviews.answering(name):
        session = review(name, at.document_id)
        item = session.item_for(segment_id, code)
        if item is None:
            raise Failure(409, f"'{code}' is no longer suggested for this sentence (suggestions were re-run): reload")
        done: Answered = (
            session.accept(item)
            if kind == "accept"
            else session.reject(item, reason=reason, note=(note or "").strip() or None)
        )
    learned = reviews.after_answer(name, done.learn_due)
    return jsonify({**doc_state(name, at.document_id), "decision_id": done.decision_id, "learned": learned})


@bp.post("/no-code")
def no_code() -> Any:
    """No code applies to a sentence: every suggestion pending on it for this coder is rejected, in one step."""
    name = coder()
    at = codable(need(body(), "segment_id", int))
    reviews = settings().reviews
    with reviews.answering(name):
        session = review(name, at.document_id)
        item = next((i for i in session.pending() if i.segment_id == at.id and i.offered), None)
        if item is None:
            raise Failure(
                409, "no suggestion is pending on this sentence for you (answered already, or re-run): reload"
            )
        try:
            done = session.no_code(item)
        except InputError as e:
            raise Failure(409, str(e)) from None
    learned = reviews.after_answer(name, done.learn_due)
    state = doc_state(name, at.document_id)
    return jsonify({**state, "decision_id": done.decision_id, "learned": learned, "rejected": done.count})


@bp.post("/code")
def code() -> Any:
    data = body()
    name = coder()
    at = codable(need(data, "segment_id", int))
    with settings().reviews.answering(name):
        path = review(name, at.document_id).apply_code(at.id, need(data, "code_path", str))
    return jsonify({**doc_state(name, at.document_id), "code_path": path})


@bp.post("/undo")
def undo() -> Any:
    data = body()
    name = coder()
    document_id = need(data, "document_id", int)
    if document_id not in {d.id for d in project().documents()}:
        raise Failure(404, f"no document {document_id} in this project (reload the page)")
    with settings().reviews.answering(name):
        undone = review(name).undo()
    info = None
    if undone is not None:
        at = project().locate(undone.segment_id)
        where = {"document_id": at.document_id, "document": at.document} if at else {}
        info = {**asdict(undone), **where}
    return jsonify({**doc_state(name, document_id), "undone": info})


@bp.post("/memo")
def memo() -> Any:
    data = body()
    name = coder()
    at = codable(need(data, "segment_id", int))
    text = need(data, "text", str)
    if len(text) > MAX_MEMO:
        raise Failure(400, f"memo longer than {MAX_MEMO} characters")
    memo_id = review(name, at.document_id).memo(at.id, text)
    return jsonify({**doc_state(name, at.document_id), "memo_id": memo_id})
