"""The review server through Flask's test client and a real socket: access token, CSRF, escaping,
and that every API call goes through the Project and its ReviewSession (same answers as ``coder review``)."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request
from http.cookiejar import CookieJar

import pytest
from click.testing import CliRunner

from coder import web as sv
from coder.app import Project
from coder.cli import main
from coder.errors import CoderError, InputError
from coder.store import Store

from .conftest import DATA, write

TOKEN = "test-token-0123456789"
HOSTILE = """# SYNTHETIC TRANSCRIPT written for coder's tests. Not real interview data.
# participant: P66

Interviewer: Tell me about church.

P66: I pray every night <script>window.__xss = 1; alert("x")</script> and my faith keeps me going.
P66: My grandmother <img src=x onerror="window.__xss=2"> always believed in me & said "go back to school".
"""


@pytest.fixture
def project(tmp_path, embedder, blank_splitter):
    path = tmp_path / "web.db"
    hostile = write(tmp_path / "P66.txt", HOSTILE)
    with Project(path, create=True) as p:
        p.import_files([DATA / "sample.txt", hostile], splitter=blank_splitter)
        p.load_codebook(DATA / "mini.yaml")
        p.suggest(embedder, threshold=0.2)
    return path


@pytest.fixture
def app(project):
    return sv.create_app(project, token=TOKEN, learn_every=0)


@pytest.fixture
def client(app):
    c = app.test_client()
    r = c.get(f"/?token={TOKEN}&coder=ana")
    assert r.status_code == 303
    return c


def post(client, path, body, **headers):
    h = {"X-CSRF-Token": sv.csrf_token(TOKEN), **headers}
    return client.post(path, data=json.dumps({"coder": "ana", **body}), content_type="application/json", headers=h)


def doc_id(project, name):
    with Project(project) as p:
        return p.document(name).id


def pending(project, coder="ana", document=None):
    with Project(project) as p:
        return p.review(coder, document=document).pending()


def first_pending(project, coder="ana", document="sample.txt"):
    return pending(project, coder, document)[0]


# -- access ----------------------------------------------------------------------------------


def test_every_request_needs_the_token(app):
    c = app.test_client()
    for path in ("/", "/doc/1?coder=ana", "/status?coder=ana", "/static/app.js"):
        r = c.get(path)
        assert r.status_code == 403, path
        assert b"open the link" in r.data
    r = c.get("/api/doc/1?coder=ana")
    assert r.status_code == 403 and r.get_json()["ok"] is False
    assert c.get("/?token=wrong").status_code == 403
    r = c.get(f"/?token={TOKEN}&coder=ana")
    assert r.status_code == 303 and r.headers["Location"] == "/?coder=ana"  # the token leaves the address bar
    cookie = r.headers["Set-Cookie"]
    assert TOKEN in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert c.get("/?coder=ana").status_code == 200
    assert c.get("/static/app.js").status_code == 200


def test_state_changes_need_csrf_same_origin_and_a_loopback_host(client, project):
    item = first_pending(project)
    body = {"coder": "ana", "segment_id": item.segment_id, "code_path": item.code_path, "answer": "accept"}
    no_csrf = client.post("/api/answer", data=json.dumps(body), content_type="application/json")
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.get_json()["error"]
    assert post(client, "/api/answer", body, **{"X-CSRF-Token": "nope"}).status_code == 403
    assert post(client, "/api/answer", body, Origin="http://evil.example").status_code == 403
    assert post(client, "/api/answer", body, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    # DNS rebinding: a page on another name that resolves to 127.0.0.1
    assert client.get("/?coder=ana", headers={"Host": "evil.example"}).status_code == 403
    assert post(client, "/api/answer", body, Host="evil.example").status_code == 403
    with Store(project) as s:
        assert s.decisions() == []  # nothing refused was stored
    ok = post(client, "/api/answer", body, Origin="http://localhost")
    assert ok.status_code == 200, ok.get_json()
    with Store(project) as s:
        assert [(d.coder, d.answer) for d in s.decisions()] == [("ana", "accept")]


def test_headers_forbid_remote_assets_and_inline_script(client, project):
    for path in ("/?coder=ana", f"/doc/{doc_id(project, 'sample.txt')}?coder=ana", "/status?coder=ana"):
        r = client.get(path)
        assert r.status_code == 200
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "no-referrer"
        page = r.get_data(as_text=True)
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page), path  # nothing off this server
        assert "<script>" not in page  # only <script src=...> of our own file
        assert "<style" not in page and "style=" not in page  # the CSP would block them anyway


def test_transcript_text_is_escaped(client, project):
    page = client.get(f"/doc/{doc_id(project, 'P66.txt')}?coder=ana").get_data(as_text=True)
    assert "<script>window.__xss" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__xss = 1; alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;window.__xss=2&#34;&gt;" in page
    assert "believed in me &amp; said" in page


def test_coder_names(client):
    assert sv.coder_name("  ana ") == "ana"
    assert sv.coder_name("") is None
    for bad in ("machine", "Consensus", "machine:learned.v1", "a\x00b", "x" * 65):
        with pytest.raises(InputError):
            sv.coder_name(bad)
    r = client.get("/status?coder=machine")
    assert r.status_code == 400 and b"role" in r.data
    who = client.get("/?coder=").get_data(as_text=True)
    assert "Who is coding?" in who
    app = sv.create_app(client.application.config["CODER_PROJECT"], token=TOKEN, default_coder="ana")
    c = app.test_client()
    c.get(f"/?token={TOKEN}")
    assert "Coding as <strong" in c.get("/").get_data(as_text=True)  # the --coder default
    assert "Who is coding?" in c.get("/?coder=").get_data(as_text=True)  # "change" still asks


# -- the API goes through coder.review -----------------------------------------------------


def test_answers_are_the_review_functions_answers(client, project):
    did = doc_id(project, "sample.txt")
    items = pending(project, document="sample.txt")
    a, b = items[0], items[1]
    r = post(client, "/api/answer", {"segment_id": a.segment_id, "code_path": a.code_path, "answer": "accept"})
    assert r.status_code == 200
    state = r.get_json()
    chip = next(c for c in state["chips"][str(a.segment_id)] if c["code_path"] == a.code_path)
    assert chip["state"] == "accepted" and chip["suggested"] is True
    assert state["progress"]["answered"] == 1 and state["progress"]["pending"] == len(items) - 1
    r = post(
        client,
        "/api/answer",
        {"segment_id": b.segment_id, "code_path": b.code_path, "answer": "reject", "reason": "other", "note": " why "},
    )
    assert r.status_code == 200
    with Store(project) as s:
        rows = s.decisions(coder="ana")
        assert [(d.segment_id, d.code_path, d.answer, d.reason, d.memo) for d in rows] == [
            (a.segment_id, a.code_path, "accept", None, None),
            (b.segment_id, b.code_path, "reject", "other", "why"),
        ]
        assert rows[0].suggestion_id == a.suggestion_id  # answered the suggestion the queue shows
    assert len(pending(project, "ana", "sample.txt")) == len(items) - 2
    assert len(pending(project, "ben", "sample.txt")) == len(items)  # blind: ben's queue is whole
    # a change of mind replaces the standing answer; undo withdraws the latest one
    post(client, "/api/answer", {"segment_id": b.segment_id, "code_path": b.code_path, "answer": "accept"})
    r = post(client, "/api/undo", {"document_id": did})
    undone = r.get_json()["undone"]
    assert (undone["segment_id"], undone["code_path"], undone["answer"]) == (b.segment_id, b.code_path, "accept")
    assert undone["document_id"] == did and undone["document"] == "sample.txt"
    with Store(project) as s:
        standing = {(d.code_path, d.answer) for d in s.decisions(coder="ana")}
        assert standing == {(a.code_path, "accept")}
        assert len(s.decisions(coder="ana", include_undone=True)) == 3  # the trail keeps everything
    assert post(client, "/api/undo", {"document_id": did}).get_json()["undone"]["code_path"] == a.code_path
    assert post(client, "/api/undo", {"document_id": did}).get_json()["undone"] is None


def test_a_carried_code_shows_as_a_chip_and_is_answered_like_a_suggestion(client, project):
    from coder.carry import CarryModel

    with Project(project) as p:
        ana = p.review("ana", document="sample.txt")
        for item in ana.pending()[:3]:
            ana.reject(item, reason="wrong code")
        p.learn(coder="ana", learner="learned.v2")
    with Store(project) as s:
        run = s.learned_run("ana")
        s.db.execute(
            "UPDATE suggestion_runs SET carry = ? WHERE id = ?",
            (CarryModel(0.0, 2.0, 10, 5, 8, 0.2, 0.05).to_json(), run.id),
        )
        first, second = s.segment_keys()[:2]
    with Project(project) as p:
        on_second = {i.code_path for i in p.review("ana").pending() if i.segment_id == second.id}
        code = next(c.path for c in p.codebook().codes if c.path not in on_second)
    r = post(client, "/api/code", {"segment_id": first.id, "code_path": code})
    chips = r.get_json()["chips"][str(second.id)]
    carried = [c for c in chips if c["carried"]]
    assert [(c["code_path"], c["state"], c["suggested"]) for c in carried] == [(code, "pending", True)]
    r = post(client, "/api/answer", {"segment_id": second.id, "code_path": code, "answer": "reject", "reason": "other"})
    assert r.status_code == 200
    chip = next(c for c in r.get_json()["chips"][str(second.id)] if c["code_path"] == code)
    assert (chip["state"], chip["suggested"], chip["carried"]) == ("rejected", True, True)  # can be changed
    r = post(client, "/api/answer", {"segment_id": second.id, "code_path": code, "answer": "accept"})
    assert r.status_code == 200  # a change of mind, as for a suggestion
    chip = next(c for c in r.get_json()["chips"][str(second.id)] if c["code_path"] == code)
    assert chip["state"] == "accepted"
    why = client.get(f"/api/explain?coder=ana&segment_id={second.id}&code={code}").get_json()
    assert why["kind"] == "carried"
    post(client, "/api/answer", {"segment_id": second.id, "code_path": code, "answer": "reject", "reason": "other"})
    with Store(project) as s:
        (d,) = [d for d in s.decisions(coder="ana") if d.segment_id == second.id and d.code_path == code]
        assert (d.answer, d.suggestion_id) == ("reject", None)


def test_code_by_hand_memo_and_bad_requests(client, project):
    with Store(project) as s:
        segs = s.segments(coded_only=True)
        interviewer = next(x for x in s.segments() if not x.coded)
    seg = segs[0]
    r = post(client, "/api/code", {"segment_id": seg.id, "code_path": "Familial relationships"})
    assert r.status_code == 200
    chip = next(c for c in r.get_json()["chips"][str(seg.id)] if c["code_path"] == "Familial relationships")
    assert chip["state"] == "accepted" and (chip["suggested"] or chip["score"] is not None) == chip["suggested"]
    r = post(client, "/api/memo", {"segment_id": seg.id, "text": "  ask about <b>school</b>  "})
    assert r.get_json()["memos"][str(seg.id)] == ["ask about <b>school</b>"]
    assert post(client, "/api/memo", {"segment_id": seg.id, "text": "   "}).status_code == 400
    assert post(client, "/api/code", {"segment_id": seg.id, "code_path": "Nope"}).status_code == 400
    assert (
        post(client, "/api/code", {"segment_id": interviewer.id, "code_path": "Familial relationships"}).status_code
        == 400
    )
    assert post(client, "/api/code", {"segment_id": 10**9, "code_path": "Familial relationships"}).status_code == 404
    assert post(client, "/api/code", {"segment_id": "1", "code_path": "x"}).status_code == 400
    assert post(client, "/api/code", {"segment_id": True, "code_path": "x"}).status_code == 400
    bad = post(client, "/api/answer", {"segment_id": seg.id, "code_path": "Familial relationships", "answer": "maybe"})
    assert bad.status_code == 400
    bad = client.post(
        "/api/answer", data="not json", content_type="application/json", headers={"X-CSRF-Token": sv.csrf_token(TOKEN)}
    )
    assert bad.status_code == 400 and bad.get_json()["error"] == "expected a JSON object"
    huge = post(client, "/api/memo", {"segment_id": seg.id, "text": "x" * (sv.MAX_BODY + 10)})
    assert huge.status_code == 413
    with Project(project) as p:
        session = p.review("ana")
        not_suggested = next(c.path for c in p.codebook().codes if not session.item_for(segs[-1].id, c.path))
    gone = post(client, "/api/answer", {"segment_id": segs[-1].id, "code_path": not_suggested, "answer": "accept"})
    assert gone.status_code == 409 and "reload" in gone.get_json()["error"]
    with Store(project) as s:
        assert [(d.code_path, d.suggestion_id) for d in s.decisions()] == [("Familial relationships", None)]
        assert [m.text for m in s.all_memos()] == ["ask about <b>school</b>"]


def test_codebook_search_and_explain(client, project):
    book = client.get("/api/codebook?coder=ana").get_json()["codes"]
    assert "Spirituality / faith" in book and book["Spirituality / faith"]["definition"]
    hits = client.get("/api/codes?coder=ana&q=faith").get_json()["codes"]
    with Project(project) as p:
        assert hits == p.review("ana").search_codes("faith", limit=12)
    item = first_pending(project)
    e = client.get(f"/api/explain?coder=ana&segment_id={item.segment_id}&code={item.code_path}").get_json()
    assert e["kind"] == "example" and e["text"] == item.evidence
    assert client.get("/api/explain?coder=ana&segment_id=x&code=y").status_code == 400


def test_learning_every_n_answers(project):
    app = sv.create_app(project, token=TOKEN, learn_every=2)
    c = app.test_client()
    c.get(f"/?token={TOKEN}")
    items = pending(project)
    out = []
    for it in items[:3]:
        r = post(c, "/api/answer", {"segment_id": it.segment_id, "code_path": it.code_path, "answer": "accept"})
        out.append(r.get_json()["learned"])
        if len(out) == 2:  # the re-fit runs beside the requests, so the page never waits for it
            app.extensions["coder_web"].reviews.join(timeout=60)
    assert out[0] is None and out[1] == "re-fitting your learned model from your answers"
    assert out[2].startswith("your learned.v2 updated from 2 decisions")  # told with the next answer
    with Store(project) as s:
        assert s.learned_run("ana") is not None


def test_documents_status_tally_and_agreement_pages(client, project):
    items = pending(project, document="sample.txt")
    for it in items[:3]:
        post(client, "/api/answer", {"segment_id": it.segment_id, "code_path": it.code_path, "answer": "accept"})
    page = client.get("/?coder=ana").get_data(as_text=True)
    with Project(project) as p:
        prog = {d.name: d for d in p.documents_progress("ana")}
    assert prog["sample.txt"].reviewed == 3 and prog["sample.txt"].pending == len(items) - 3
    row = re.search(r'<tr data-doc="\d+">\s*<td><a class="doc-link"[^>]*>sample.txt</a>.*?</tr>', page, re.S).group(0)
    assert f'<td class="n">{prog["sample.txt"].suggested}</td>' in row and '<td class="n answered">3</td>' in row
    status = " ".join(client.get("/status?coder=ana").get_data(as_text=True).split())
    assert "3 suggestions answered (3 accepted, 0 rejected, 100% accepted)" in status
    tally = client.get("/tally?coder=ana").get_data(as_text=True)
    with Project(project) as p:
        t = p.tally(coders=["ana"])
    top = next(r for r in t.rows if r.mentions)
    assert f"<td>{top.name}</td>" in tally or f'<td class="d{top.depth}">{top.name}</td>' in tally
    assert client.get("/tally?coder=ana&scope=bogus").status_code == 400
    assert "has not answered any suggestions yet" in client.get("/tally?coder=zoe").get_data(as_text=True)
    agree = client.get("/agree?coder=ana").get_data(as_text=True)
    assert "Agreement" in agree and "machine" in agree and "<table>" in agree


# -- a real socket: loopback only, several coders at once ------------------------------------


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def test_server_binds_loopback_and_keeps_every_answer_of_two_coders(project):
    server = sv.make_server(project, port=0, token=TOKEN, learn_every=0)
    assert server.http.server_address[0] == "127.0.0.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        items = pending(project)
        errors: list[str] = []

        def answer_all(name: str) -> None:
            op = _opener()
            op.open(f"{server.base}/?token={TOKEN}").read()
            for it in items:
                req = urllib.request.Request(
                    f"{server.base}/api/answer",
                    data=json.dumps(
                        {"coder": name, "segment_id": it.segment_id, "code_path": it.code_path, "answer": "accept"}
                    ).encode(),
                    headers={"Content-Type": "application/json", "X-CSRF-Token": sv.csrf_token(TOKEN)},
                )
                with op.open(req) as resp:
                    if json.load(resp)["ok"] is not True:
                        errors.append(name)

        threads = [threading.Thread(target=answer_all, args=(n,)) for n in ("ana", "ben")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with Store(project) as s:
            for name in ("ana", "ben"):
                assert len(s.decisions(coder=name)) == len(items)
        assert pending(project, "ana") == pending(project, "ben") == []
        # the Host check uses the bound port
        req = urllib.request.Request(f"{server.base}/?token={TOKEN}", headers={"Host": "127.0.0.1:1"})
        with pytest.raises(urllib.error.HTTPError) as e:
            _opener().open(req)
        assert e.value.code == 403
    finally:
        server.shutdown()


def test_port_in_use_is_one_line(project):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with pytest.raises(CoderError, match=f"cannot listen on 127.0.0.1:{port}"):
            sv.make_server(project, port=port)
        r = CliRunner().invoke(main, ["-p", str(project), "serve", "--port", str(port), "--no-open"])
        assert r.exit_code == 1
        assert r.output.startswith(f"Error: cannot listen on 127.0.0.1:{port}") and "--port" in r.output
    finally:
        busy.close()


def test_serve_help_and_missing_project(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--help"])
    assert r.exit_code == 0 and "coder serve --coder ana" in r.output and "127.0.0.1" in r.output
    r = CliRunner().invoke(main, ["-p", str(tmp_path / "none.db"), "serve", "--no-open"])
    assert r.exit_code == 1 and "no project file here" in r.output
    r = CliRunner().invoke(main, ["-p", str(tmp_path / "none.db"), "serve", "--coder", "machine"])
    assert r.exit_code == 1 and "is a role" in r.output


def test_learning_waits_for_nobody_and_stays_blind(project):
    app = sv.create_app(project, token=TOKEN, learn_every=1)
    c = app.test_client()
    c.get(f"/?token={TOKEN}")
    items = pending(project)

    def answer(coder, it):
        body = {"coder": coder, "segment_id": it.segment_id, "code_path": it.code_path, "answer": "accept"}
        r = post(c, "/api/answer", body)
        app.extensions["coder_web"].reviews.join(timeout=60)
        return r.get_json()["learned"]

    assert answer("ana", items[0]) == "re-fitting your learned model from your answers"
    assert answer("ben", items[1]).startswith("re-fitting")
    told = answer("ben", items[2])  # the outcome of ben's first re-fit comes with his next answer
    assert told.startswith(
        "your learned.v2 updated from 1 decision (0 codes learned);"
    )  # ana's answers never count for ben
    with Store(project) as s:
        ana, ben = s.learned_run("ana"), s.learned_run("ben")
        assert (ana.decisions, ben.decisions) == (1, 2) and ana.id < ben.id


def test_unknown_documents_are_404_and_undo_changes_nothing(client, project):
    item = first_pending(project)
    post(client, "/api/answer", {"segment_id": item.segment_id, "code_path": item.code_path, "answer": "accept"})
    assert client.get("/api/doc/999?coder=ana").status_code == 400
    assert client.get("/doc/999?coder=ana").status_code == 400
    r = post(client, "/api/undo", {"document_id": 999})
    assert r.status_code == 404 and r.get_json()["ok"] is False
    with Store(project) as s:
        assert len(s.decisions(coder="ana")) == 1  # the refused undo undid nothing


def test_live_status_is_coder_review_status(client, project):
    items = pending(project)
    post(
        client, "/api/answer", {"segment_id": items[0].segment_id, "code_path": items[0].code_path, "answer": "accept"}
    )
    post(
        client,
        "/api/answer",
        {"segment_id": items[1].segment_id, "code_path": items[1].code_path, "answer": "reject", "reason": "too vague"},
    )
    st = client.get("/api/status?coder=ana").get_json()
    with Project(project) as p:
        rows = p.status(["ana"], all_codes=True)
    assert (st["accepted"], st["rejected"], st["acceptance"]) == (1, 1, 0.5)
    assert st["pending"] == sum(r.pending for r in rows) == len(pending(project))
    assert st["recall"] is None  # no learned.v1 run yet: no estimate, not a made-up one
    assert {c["code"] for c in st["codes"]} <= {r.code for r in rows} and st["codes"][0]["pending"] >= 0
    assert items[0].code_path in {c["code"] for c in st["codes"]} or len(st["codes"]) == 6


def test_status_counts_the_answer_just_saved_and_codes_by_hand(client, project):
    """The status card's read after a confirmed save shows that save; a code given by hand is 'by hand'."""
    before = client.get("/api/status?coder=ana").get_json()
    assert (before["accepted"], before["rejected"], before["added"]) == (0, 0, 0)
    items = pending(project)
    a = items[0]
    post(client, "/api/answer", {"segment_id": a.segment_id, "code_path": a.code_path, "answer": "accept"})
    after = client.get("/api/status?coder=ana").get_json()
    assert (after["accepted"], after["pending"]) == (1, before["pending"] - 1)
    assert after["seconds"] >= 0  # the server's own time, which paces the page's reads
    with Project(project) as p:
        segment = next(s for s in p.review("ana").pending() if s.segment_id != a.segment_id).segment_id
        session = p.review("ana")
        by_hand = next(c.path for c in p.codebook().codes if session.item_for(segment, c.path) is None)
    r = post(client, "/api/code", {"segment_id": segment, "code_path": by_hand.upper()})  # a name in any case
    assert r.status_code == 200 and r.get_json()["code_path"] == by_hand
    st = client.get("/api/status?coder=ana").get_json()
    assert (st["accepted"], st["rejected"], st["added"]) == (1, 0, 1)  # accepted: suggestions only
    assert next(c for c in st["codes"] if c["code"] == by_hand)["added"] == 1
    with Project(project) as p:
        rows = p.status(["ana"], all_codes=True)
    assert sum(r.added for r in rows) == 1 and sum(r.accepted for r in rows) == 1
    page = " ".join(client.get("/status?coder=ana").get_data(as_text=True).split())
    assert "1 suggestions answered (1 accepted, 0 rejected, 100% accepted) · 1 coded by hand" in page
    assert '<th class="n">By hand</th>' in page


def test_an_accept_takes_no_reason_and_answers_name_a_suggestion(client, project):
    a = first_pending(project)
    body = {"segment_id": a.segment_id, "code_path": a.code_path, "answer": "accept", "reason": "too vague"}
    r = post(client, "/api/answer", body)
    assert r.status_code == 400 and "reject" in r.get_json()["error"]
    assert post(client, "/api/answer", {**body, "reason": "because", "answer": "reject"}).status_code == 400
    with Store(project) as s:
        assert s.decisions() == []


def test_no_code_on_the_page_rejects_the_sentence_and_one_undo_takes_it_back(client, project):
    did = doc_id(project, "sample.txt")
    items = pending(project, document="sample.txt")
    seg = next(s for s in {i.segment_id for i in items} if sum(i.segment_id == s for i in items) >= 2)
    on = sorted(i.code_path for i in items if i.segment_id == seg)
    r = post(client, "/api/no-code", {"segment_id": seg})
    assert r.status_code == 200 and r.get_json()["rejected"] == len(on)
    assert {c["state"] for c in r.get_json()["chips"][str(seg)] if c["suggested"]} == {"rejected"}
    with Store(project) as s:
        assert sorted((d.code_path, d.reason) for d in s.decisions(coder="ana")) == [(c, "no code applies") for c in on]
    assert post(client, "/api/no-code", {"segment_id": seg}).status_code == 409  # nothing left pending on it
    undone = post(client, "/api/undo", {"document_id": did}).get_json()["undone"]
    assert undone["segment_id"] == seg and 1 + len(undone["also"]) == len(on)
    assert len(pending(project, "ana", "sample.txt")) == len(items)
