"""Blind double coding: what a coder sees never depends on what another coder decided or learned.

Two copies of one pre-coded demo project. In copy A, ana reviews, codes by hand and learns (her own
re-fits and ``coder suggest --learn``); in copy B nobody else did anything. Ben then does exactly the
same in both, in the terminal and on the page, and everything he is shown must be identical: his
queue, its order, probabilities and "why", his chips, documents list, status, tally (also with the
unreviewed suggestions) and his agreement with the machine.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from coder import web as sv
from coder.app import Project
from coder.cli import main
from coder.store import Store

TOKEN = "blind-token-0123456789"
# each answer is followed by Enter: it goes on at "No more suggestions on this sentence", where no other key is
# taken, and is an unknown key (asked again) elsewhere
BEN_KEYS = "".join(["a\n\n", "r\n2\n\n", "a\n\n", "a\n\n", "r\n1\n\n", "s\n"] * 6) + "q\n"


@pytest.fixture
def copies(tmp_path, embedder, blank_splitter):
    """(A, B): the same pre-coded demo project; in A ana has reviewed and learned, in B nobody has."""
    files, participants, codebook = Project.demo_inputs()
    base = tmp_path / "base" / "study.db"
    base.parent.mkdir()
    with Project(base, create=True) as p:
        p.import_files(files[:4], splitter=blank_splitter)
        ids = {d.participant for d in p.documents()}  # attributes only for the participants imported
        lines = participants.read_text(encoding="utf-8").splitlines()
        mine = tmp_path / "participants.csv"
        mine.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if ln.split(",")[0] in ids)]) + "\n")
        p.import_files([], attributes=mine)
        p.load_codebook(codebook)
        p.suggest(embedder, threshold=0.25)
    paths = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        paths.append(Path(shutil.copy(base, tmp_path / name / "study.db")))
    a, b = paths
    with Project(a) as p:
        ana = p.review("ana", learn_every=5)
        for n, item in enumerate(ana.pending()[:60]):
            answered = ana.reject(item, reason="wrong code") if n % 3 == 0 else ana.accept(item)
            if answered.learn_due:
                ana.learn()
        first = p.documents()[0]
        ana.apply_code(p.sentence(first.name, 2).id, "Economic necessity")
        [learned] = p.learn()  # 'coder suggest --learn': everyone with answers, i.e. ana
        assert learned.coder == "ana" and learned.decisions > 50
    with Store(a) as s:  # the copies really differ: ana's run suggests what ben must not see
        everything = {(r.segment_id, r.code_path, r.learned_from) for r in s.suggestions()}
        bens = {(r.segment_id, r.code_path, r.learned_from) for r in s.suggestions(for_coders=["ben"])}
        assert any(w == "ana" for _, _, w in everything - bens) and all(w is None for _, _, w in bens)
    return a, b


def _terminal(path: Path, *args: str, input: str | None = None) -> str:
    r = CliRunner().invoke(main, ["-p", str(path), *args], input=input, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def _ben_in_the_terminal(path: Path) -> list[str]:
    review = _terminal(path, "review", "--coder", "ben", "--learn-every", "4", "--order", "uncertain", input=BEN_KEYS)
    with Project(path) as p:
        first = p.documents()[0].name
    return [
        review,
        _terminal(path, "show", first, "--coder", "ben"),
        _terminal(path, "status", "--coder", "ben", "--all"),
        _terminal(path, "tally", "--coder", "ben"),
        _terminal(path, "tally", "--coder", "ben", "--include-suggested"),
        _terminal(path, "tally", "--presence", "--coder", "ben", "--include-suggested"),
        _terminal(path, "agree", "--coder", "ben", "--coder", "machine", "--bootstrap", "200"),
        _terminal(path, "review", "--coder", "ben", "--learn-every", "0", input="q\n"),
    ]


def _no_row_ids(data: object) -> object:
    """Decision ids are row numbers of the whole project (never shown on screen): not part of what ben sees."""
    if isinstance(data, dict):
        return {k: _no_row_ids(v) for k, v in data.items() if k not in ("decision_id", "seconds")}
    if isinstance(data, list):
        return [_no_row_ids(v) for v in data]
    return data


def _ben_on_the_page(path: Path) -> list[object]:
    app = sv.create_app(path, token=TOKEN, learn_every=3)
    c = app.test_client()
    assert c.get(f"/?token={TOKEN}&coder=ben").status_code == 303
    headers = {"X-CSRF-Token": sv.csrf_token(TOKEN)}
    seen: list[object] = [c.get("/?coder=ben").get_data(as_text=True)]
    with Project(path) as p:
        docs = [d.id for d in p.documents()]
    for doc in docs[:2]:
        seen.append(c.get(f"/doc/{doc}?coder=ben").get_data(as_text=True))
        state = c.get(f"/api/doc/{doc}?coder=ben").get_json()
        seen.append(_no_row_ids(state))
        pending = [
            (int(seg), chip["code_path"]) for seg, chips in state["chips"].items() for chip in chips
        ]  # every chip ben has on the document, each explained
        for n, (seg, code) in enumerate(pending[:12]):
            why = c.get("/api/explain", query_string={"coder": "ben", "segment_id": seg, "code": code})
            seen.append(why.get_json())
            body = {"coder": "ben", "segment_id": seg, "code_path": code, "answer": "reject" if n % 4 else "accept"}
            r = c.post("/api/answer", data=json.dumps(body), content_type="application/json", headers=headers)
            app.extensions["coder_web"].reviews.join(timeout=60)  # the re-fit, before the next screen
            seen.append(_no_row_ids(r.get_json()))
    for page, query in [("/status", {}), ("/api/status", {}), ("/tally", {}), ("/tally", {"scope": "suggested"})]:
        r = c.get(page, query_string={"coder": "ben", **query})
        seen.append(_no_row_ids(r.get_json()) if r.is_json else r.get_data(as_text=True))
    seen += [c.get("/agree?coder=ben").get_data(as_text=True), c.get("/?coder=ben").get_data(as_text=True)]
    return seen


def _ben_in_reports(path: Path) -> list[object]:
    with Project(path) as p:
        agree = p.agree(["ben", "machine"], n_boot=200)
        own = p.agree(["ben", "machine:learned.v2:ben"], n_boot=200)
        return [
            p.status(["ben"], all_codes=True),
            p.tally(coders=["ben"], include_suggested=True),
            p.presence(coders=["ben"], include_suggested=True, unit="participant"),
            p.cooccurrence(coders=["ben"], include_suggested=True),
            p.saturation(coders=["ben"], include_suggested=True),
            (agree.rows, agree.pooled, agree.exact, agree.machines, agree.warnings),
            (own.rows, own.pooled, own.exact, own.warnings),  # own.machines names the run by its number
            [(s.segment_id, s.code_path, s.probability, s.score) for s in p.review("ben").pending()],
        ]


def test_the_second_coder_sees_the_same_whatever_the_first_did(copies):
    a, b = copies
    terminal = [_ben_in_the_terminal(a), _ben_in_the_terminal(b)]
    page = [_ben_on_the_page(a), _ben_on_the_page(b)]
    reports = [_ben_in_reports(a), _ben_in_reports(b)]
    for x, y in zip(*terminal, strict=True):
        assert x == y
    for x, y in zip(*page, strict=True):
        assert x == y
    for x, y in zip(*reports, strict=True):
        assert x == y
    # and ben did work that learning used: his answers in both, his own runs fitted from them only
    with Store(a) as sa, Store(b) as sb:
        assert len(sa.decisions(coder="ben")) == len(sb.decisions(coder="ben")) > 20
        ra, rb = sa.active_run("learned.v2", "ben"), sb.active_run("learned.v2", "ben")
        assert ra is not None and rb is not None and ra.decisions == rb.decisions
        assert sa.active_run("learned.v2", "ana") is not None and sb.active_run("learned.v2", "ana") is None
    assert "Why: " in terminal[0][0] and "learned.v2" in terminal[0][0]  # ben was shown his own learned run


def test_the_same_decisions_give_the_same_run(copies):
    """Determinism: ben's run fitted from the same answers in two projects is the same run, score for score."""
    a, b = copies
    for path in (a, b):
        _terminal(path, "review", "--coder", "ben", "--learn-every", "0", input=BEN_KEYS)
        _terminal(path, "suggest", "--learn", "--coder", "ben")

    def run_of(path: Path) -> tuple[object, ...]:
        with Store(path) as s:
            run = s.active_run("learned.v2", "ben")
            assert run is not None
            _, scores = s.active_scores("learned.v2", learned_from="ben")
            suggestions = sorted(
                (r.segment_id, r.code_path, round(r.score, 6), r.rank, r.evidence)
                for r in s.suggestions(for_coders=["ben"])
                if r.learned_from == "ben"
            )
            return (
                run.decisions,
                run.code_paths,
                run.method,
                {seg: v.tobytes() for seg, v in scores},
                suggestions,
            )

    assert run_of(a) == run_of(b)
