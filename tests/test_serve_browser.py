"""End to end: Debian's Chromium, headless, driven by Playwright against a running ``coder serve``.

Playwright never downloads a browser here: it launches /usr/bin/chromium (``apt-get install
chromium``; `.ci/run` does it). Without that browser these tests skip, unless
CODER_REQUIRE_BROWSER=1 (set by `.ci/run`), where they fail instead. Screenshots land in
``test-artifacts/`` (or $CODER_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from coder import web as sv
from coder.app import Project
from coder.embed import HashEmbedder
from coder.store import Store

from .conftest import REPO
from .test_serve import HOSTILE

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CODER_CHROMIUM", "/usr/bin/chromium"))
FLAGS = list(sv.HEADLESS_CHROMIUM_FLAGS)
ARTIFACTS = Path(os.environ.get("CODER_TEST_ARTIFACTS", REPO / "test-artifacts"))
TIMEOUT = 15_000

if not CHROMIUM.exists():
    if os.environ.get("CODER_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (CODER_REQUIRE_BROWSER=1)")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from coder.segment import load_splitter

    folder = tmp_path_factory.mktemp("browser")
    files, participants, codebook = Project.demo_inputs()
    hostile = folder / "P66.txt"
    hostile.write_text(HOSTILE, encoding="utf-8")
    path = folder / "demo.db"
    with Project(path, create=True) as p:
        p.import_files([*files, hostile], splitter=lambda: load_splitter("blank"), attributes=participants)
        p.load_codebook(codebook)
        p.suggest(HashEmbedder(), threshold=0.25)
    return path


@pytest.fixture(scope="module")
def server(project):
    srv = sv.make_server(project, port=0, learn_every=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.requests = []  # type: ignore[attr-defined]
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("dialog", lambda d: (pg.errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield pg
    context.close()
    assert pg.errors == []  # no script error, no alert() from a transcript


def open_doc(page, server, name: str, coder: str = "ana") -> int:
    page.goto(f"{server.url}&coder={coder}")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_selector("body[data-ready='1']")
    return int(page.get_attribute("#doc", "data-doc"))


def focused(page) -> tuple[int, str]:
    chip = page.locator(".chip.focus")
    seg = chip.locator("xpath=ancestor::div[contains(@class,'row')]").get_attribute("data-seg")
    return int(seg), chip.get_attribute("data-code")


def status_says(page, text: str) -> None:
    # expect() polls from Playwright's own world: wait_for_function would eval in the page, which its CSP forbids
    expect(page.locator("#status")).to_contain_text(text, timeout=TIMEOUT)


def standing(project, coder: str, doc: int) -> dict[tuple[int, str], tuple[str, str | None, str | None]]:
    with Store(project) as s:
        name = next(d.name for d in s.documents() if d.id == doc)
        return {
            (d.segment_id, d.code_path): (d.answer, d.reason, d.memo)
            for d in s.decisions(coder=coder)
            if d.document == name
        }


def test_keyboard_review_is_stored_and_survives_a_reload(page, server, project):
    doc = open_doc(page, server, "P02.txt")
    with Project(project) as p:
        pending = p.review("ana", document_id=doc).pending()
    assert page.locator(".chip.pending").count() == len(pending) > 5

    page.keyboard.press("j")
    first = focused(page)
    assert first == (pending[0].segment_id, pending[0].code_path)  # document order, like `coder review`
    page.keyboard.press("a")
    status_says(page, "Saved: accepted")
    assert standing(project, "ana", doc)[first] == ("accept", None, None)

    second = focused(page)  # focus moved on to the next pending suggestion
    assert second != first
    page.keyboard.press("r")
    page.keyboard.press("2")
    status_says(page, "Saved: rejected")
    assert standing(project, "ana", doc)[second] == ("reject", "wrong code", None)

    third = focused(page)
    page.keyboard.press("r")
    page.keyboard.press("4")
    page.keyboard.type("about her cousin, not her mother")
    page.keyboard.press("Enter")
    status_says(page, "Saved: rejected")
    assert standing(project, "ana", doc)[third] == ("reject", "other", "about her cousin, not her mother")

    page.keyboard.press("u")
    status_says(page, "Undone: reject")
    assert third not in standing(project, "ana", doc)
    assert focused(page) == third and page.locator(".chip.focus.pending").count() == 1

    page.keyboard.press("c")
    page.keyboard.type("faith")
    page.wait_for_selector("#search-results li")
    chosen = page.locator("#search-results li.chosen").inner_text()
    page.keyboard.press("Enter")
    status_says(page, "Coded:")
    assert standing(project, "ana", doc)[(third[0], chosen)] == ("accept", None, None)

    page.keyboard.press("m")
    page.keyboard.type("ask in the follow-up interview")
    page.keyboard.press("Control+Enter")
    status_says(page, "Memo saved.")
    with Store(project) as s:
        assert [m.text for m in s.memos(third[0])] == ["ask in the follow-up interview"]

    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    stored = standing(project, "ana", doc)
    accepted = {k for k, v in stored.items() if v[0] == "accept"}
    rejected = {k for k, v in stored.items() if v[0] == "reject"}
    shown = {
        state: {
            (
                int(c.locator("xpath=ancestor::div[contains(@class,'row')]").get_attribute("data-seg")),
                c.get_attribute("data-code"),
            )
            for c in page.locator(f".chip.{state}").all()
        }
        for state in ("accepted", "rejected")
    }
    assert shown == {"accepted": accepted, "rejected": rejected} and len(accepted) == 2 and len(rejected) == 1
    assert page.locator(f"#s{third[0]} .memo-mark").inner_text() == "✎1"
    # the code chosen with c was not suggested there: it counts as by hand, not as an accepted suggestion
    expect(page.locator("#live-summary")).to_contain_text(
        "2 answered (1 accepted, 1 rejected, 50% accepted) · 1 coded by hand"
    )
    assert page.locator("#progress-text").inner_text().startswith(f"2 of {len(pending)} suggestions answered")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.keyboard.press("j")
    shot = ARTIFACTS / "review-page.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000


def test_no_code_key_rejects_the_sentence_and_undo_brings_it_back(page, server, project):
    doc = open_doc(page, server, "P06.txt")
    with Project(project) as p:
        pending = p.review("ana", document_id=doc).pending()
    seg = next(s for s in dict.fromkeys(i.segment_id for i in pending) if sum(i.segment_id == s for i in pending) >= 2)
    on = {(seg, i.code_path) for i in pending if i.segment_id == seg}
    page.locator(f"#s{seg} .chip").first.click()
    page.keyboard.press("x")
    status_says(page, f"Saved: no code on this sentence ({len(on)} suggestions rejected)")
    stored = standing(project, "ana", doc)
    assert {k for k in stored if k[0] == seg} == on and {v for v in stored.values()} == {
        ("reject", "no code applies", None)
    }
    assert page.locator(f"#s{seg} .chip.rejected").count() == len(on)
    page.keyboard.press("u")
    status_says(page, f"Undone: no code ({len(on)} rejections)")
    assert standing(project, "ana", doc) == {}
    assert page.locator(f"#s{seg} .chip.pending").count() == len(on)


def test_a_transcript_cannot_run_script(page, server):
    open_doc(page, server, "P66.txt")
    text = page.locator("#transcript").inner_text()
    assert '<script>window.__xss = 1; alert("x")</script>' in text
    assert '<img src=x onerror="window.__xss=2">' in text
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#transcript script, #transcript img").count() == 0


def test_every_request_stays_on_this_computer(page, server):
    open_doc(page, server, "P01.txt")
    for path in ("/status?coder=ana", "/tally?coder=ana&scope=suggested", "/agree?coder=ana", "/?coder=ana"):
        page.goto(server.base + path)
        assert page.locator("h1").count() == 1
    assert page.requests and all(u.startswith(server.base + "/") for u in page.requests), page.requests
    assert "Theme frequencies" in page.goto(server.base + "/tally?coder=ana&scope=suggested").text()


def test_a_lost_connection_is_said_and_nothing_pretends(page, server, project):
    doc = open_doc(page, server, "P03.docx")
    page.keyboard.press("j")
    target = focused(page)
    page.route("**/api/answer", lambda route: route.abort("connectionrefused"))
    page.keyboard.press("a")
    expect(page.locator("#banner")).to_be_visible(timeout=TIMEOUT)
    assert "Connection lost" in page.locator("#banner").inner_text()
    assert "may not be saved" in page.locator("#banner").inner_text()
    assert page.locator(".chip.focus").get_attribute("class").split()[:2] == ["chip", "pending"]
    assert target not in standing(project, "ana", doc)

    page.unroute("**/api/answer")
    page.route(
        "**/api/answer",
        lambda route: route.fulfill(status=503, content_type="application/json", body='{"ok": false, "error": "busy"}'),
    )
    page.keyboard.press("a")
    expect(page.locator("#banner")).to_contain_text("Not saved: busy", timeout=TIMEOUT)
    assert target not in standing(project, "ana", doc)

    page.unroute("**/api/answer")
    page.keyboard.press("a")
    status_says(page, "Saved: accepted")
    assert page.locator("#banner").is_hidden()
    assert standing(project, "ana", doc)[target] == ("accept", None, None)

    # a memo that could not be saved is still there to send again
    page.route("**/api/memo", lambda route: route.abort("connectionrefused"))
    page.keyboard.press("m")
    page.keyboard.type("her words about the shelter")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#banner")).to_contain_text("Connection lost", timeout=TIMEOUT)
    assert page.locator("#memo").is_visible()
    assert page.locator("#memo-text").input_value() == "her words about the shelter"
    page.unroute("**/api/memo")
    page.keyboard.press("Control+Enter")
    status_says(page, "Memo saved.")
    with Store(project) as s:
        assert [m.text for m in s.all_memos() if m.coder == "ana"][-1] == "her words about the shelter"


PING = re.compile(r"/api/ping\?")  # the heartbeat's GET carries ?coder=…, which a glob would have to spell out


def beat(page) -> None:
    """Run the page's clock to its next heartbeat and wait until that beat has done what it does."""
    done = lambda: int(page.get_attribute("body", "data-beats") or 0)  # noqa: E731
    before = done()
    page.clock.run_for(10_000)
    for _ in range(TIMEOUT // 50):
        if done() > before:
            return
        page.wait_for_timeout(50)
    raise AssertionError("the heartbeat did not finish")


def _gate(down: dict[str, bool]):
    """A route handler that refuses the connection while ``down["on"]``: registered once, before the page loads,
    and switched by a flag, because routes added and removed mid-test once let an answer through unrouted."""
    return lambda route: route.abort("connectionrefused") if down["on"] else route.continue_()


def test_the_heartbeat_clears_only_the_banner_it_can_vouch_for(page, server, project):
    ping_down, answer_down = {"on": False}, {"on": False}
    page.route(PING, _gate(ping_down))
    page.route("**/api/answer", _gate(answer_down))
    page.clock.install()  # time flows, and the 10 s heartbeat can be run at once
    doc = open_doc(page, server, "P07.docx", coder="gil")
    page.keyboard.press("j")
    target = focused(page)

    ping_down["on"] = True
    beat(page)
    expect(page.locator("#banner")).to_contain_text("the server does not answer")
    ping_down["on"] = False
    beat(page)
    expect(page.locator("#banner")).to_be_hidden()  # the server answers again

    # an answer the server never confirmed stays unsaved, whatever the heartbeat hears after it
    answer_down["on"] = True
    page.keyboard.press("a")
    expect(page.locator("#banner")).to_contain_text("may not be saved", timeout=TIMEOUT)
    ping_down["on"] = True
    beat(page)  # the server is gone too: the bar still says what was not saved
    assert "may not be saved" in page.locator("#banner").inner_text()
    ping_down["on"] = False
    beat(page)  # and back
    assert page.locator("#banner").is_visible() and "may not be saved" in page.locator("#banner").inner_text()
    assert target not in standing(project, "gil", doc)
    answer_down["on"] = False
    page.keyboard.press("a")
    status_says(page, "Saved: accepted")
    expect(page.locator("#banner")).to_be_hidden(timeout=TIMEOUT)


def test_two_coders_at_once_each_see_their_own_answers(browser, server, project):
    pages = {}
    for name in ("cora", "dev"):
        ctx = browser.new_context()
        pg = ctx.new_page()
        pg.set_default_timeout(TIMEOUT)
        doc = open_doc(pg, server, "P04.vtt", coder=name)
        pages[name] = pg
    pg_c, pg_d = pages["cora"], pages["dev"]
    pg_c.keyboard.press("j")
    pg_d.keyboard.press("j")
    assert focused(pg_c) == focused(pg_d)
    target = focused(pg_c)
    pg_c.locator("#btn-accept").click()  # every key has a button
    pg_d.locator("#btn-reject").click()
    pg_d.get_by_role("button", name="too vague").click()
    status_says(pg_c, "Saved: accepted")
    status_says(pg_d, "Saved: rejected")
    for pg in (pg_c, pg_d):  # a clicked button keeps no focus: Space and Enter do not answer again
        pg.keyboard.press("Space")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(500)
    assert standing(project, "cora", doc) == {target: ("accept", None, None)}
    assert standing(project, "dev", doc) == {target: ("reject", "too vague", None)}
    pg_d.reload()
    pg_d.wait_for_selector("body[data-ready='1']")
    assert pg_d.locator(".chip.rejected").count() == 1  # dev's own answer is shown …
    assert pg_d.locator(".chip.accepted").count() == 0  # … cora's acceptance is not (blind)
    pg_d.goto(f"{server.base}/?coder=dev")
    row = pg_d.locator("tr", has=pg_d.get_by_role("link", name="P04.vtt", exact=True))
    assert "cora" not in row.inner_text() and "\t1\t" in row.inner_text()  # dev's own count only
    for pg in pages.values():
        pg.context.close()


def test_the_status_card_shows_the_answer_just_saved(page, server):
    """A status read that began before a save never overwrites the card after it (it lagged one action behind)."""
    held = []

    def hold_first(route):
        if held:
            route.continue_()
        else:  # the page's first read: answered by the server now, handed to the page only later
            held.append((route, route.fetch()))

    page.route(lambda url: "/api/status" in url, hold_first)
    open_doc(page, server, "P05.txt", coder="fay")
    while not held:
        page.wait_for_timeout(50)
    page.keyboard.press("j")
    page.keyboard.press("a")
    status_says(page, "Saved: accepted")
    page.wait_for_timeout(2000)  # room for any read the page makes after the save
    route, stale = held[0]
    route.fulfill(response=stale)  # the read from before the save arrives last
    page.wait_for_timeout(500)
    expect(page.locator("#live-summary")).to_contain_text("1 answered (1 accepted, 0 rejected, 100% accepted)")
    expect(page.locator("#live")).not_to_have_class(re.compile(r"\bstale\b"))
    page.keyboard.press("r")
    page.keyboard.press("3")
    status_says(page, "Saved: rejected")
    expect(page.locator("#live-summary")).to_contain_text("2 answered (1 accepted, 1 rejected, 50% accepted)")
