"""coder report methods: every number in the paragraph is the project's, checked against independent reads."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from click.testing import CliRunner

from coder import __version__
from coder import methods_render as mrender
from coder import methods_report as mr
from coder.app import Project
from coder.app import review as rv
from coder.cli import main
from coder.embed import HashEmbedder
from coder.store import Store
from coder.suggest import CONTRAST

from .conftest import DATA, write

WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
NUMBER_WORD = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine)\b", re.I)


def spoken(n: int) -> str:
    """A count as the paragraph writes it: words under ten."""
    return WORDS[n] if n < 10 else f"{n:,}"


def numbers_in(text: str, *, strip: list[str]) -> list[str]:
    """Every number written in ``text`` (digits and number words), after removing names that contain digits."""
    for s in sorted(strip, key=len, reverse=True):
        text = text.replace(s, " ")
    return NUMBER.findall(text) + [str(WORDS.index(w.lower())) for w in NUMBER_WORD.findall(text)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, blank_splitter):
    """The demo corpus, suggested with the fake embedder; ana and ben review the same transcript (ben also
    codes one sentence by hand), then chloe records a reconciliation of part of their disagreements."""
    path = tmp_path_factory.mktemp("methods") / "demo.db"
    files, participants, codebook = Project.demo_inputs()
    p = Project(path, create=True)
    p.import_files(files, splitter=blank_splitter, attributes=participants)
    p.load_codebook(codebook)
    suggested = p.suggest(HashEmbedder())
    doc = p.documents()[0].name
    answered: dict[str, Counter[str]] = {}
    for who, accepts in (("ana", lambda i: i.segment_id % 2 == 0), ("ben", lambda i: i.segment_id % 3 != 0)):
        session = p.review(who, document=doc, learn_every=0)
        answered[who] = Counter()
        for _ in range(30):
            item = session.next()
            assert item is not None
            (session.accept if accepts(item) else session.reject)(item)
            answered[who]["accept" if accepts(item) else "reject"] += 1
    # a code the suggester did not propose for this sentence, applied by hand
    shown = p.show(doc)
    sentence = next(s for t in shown.turns for s in t.segments if s.coded)
    offered = {path for path, *_ in sentence.suggestions}
    by_hand = next(c.path for c in p.codebook().codes if c.path not in offered)
    p.code_sentence("ben", p.sentence(doc, sentence.index + 1), by_hand)
    plan = p.reconcile_plan(["ana", "ben"])
    copied = p.record_agreed(plan, ["ana", "ben"], by="chloe")
    for item, answer in zip(plan.items[:3], ("accept", "reject", "accept"), strict=True):
        p.reconcile(item, answer, by="chloe")
    yield {"project": p, "run": suggested.run, "answered": answered, "copied": copied}
    p.close()


@pytest.fixture(scope="module")
def report(demo):
    return demo["project"].methods(n_boot=200, seed=3)


def test_every_number_in_the_paragraph_is_the_projects(demo, report):
    p: Project = demo["project"]
    text = "\n\n".join(mr.paragraphs(report))
    docs = p.documents()
    book = p.codebook()
    run = demo["run"]
    answers = demo["answered"]
    agreement = p.agree(["ana", "ben"], n_boot=200, seed=3)
    left = p.reconcile_plan(["ana", "ben"])
    formats = Counter(d.format for d in docs)
    pending = {who: sum(d.pending for d in p.documents_progress(who)) for who in ("ana", "ben")}

    def fixed(x: float) -> str:
        return f"{x:.3f}"

    expected = {
        f"{len(docs):,}",
        f"{len({d.participant for d in docs}):,}",
        f"{sum(d.turns for d in docs):,}",
        f"{sum(d.coded_segments for d in docs):,}",
        f"{sum(d.segments - d.coded_segments for d in docs):,}",
        *(str(n) for n in formats.values()),
        f"{len(book.codes):,}",
        str(len(book.children(None))),
        f"{CONTRAST:g}",  # similarity.v2's pull-away, named in the paragraph
        str(run.id),
        str(run.top_k),
        f"{run.threshold:g}",
        *(f"{n:,}" for c in answers.values() for n in (c["accept"], c["reject"], c.total())),
        "0",  # ana added no code by hand
        "1",  # ben added one (and: "each sentence–code pair one rating")
        *(f"{n:,}" for n in pending.values()),
        f"{agreement.units_included:,}",
        f"{agreement.units_total:,}",
        f"{len(agreement.rows):,}",
        "95",  # the interval's level
        "200",
        "3",
    }
    for s in (agreement.pooled.summary, agreement.exact.summary):
        expected |= {f"{100 * s.percent:.1f}", fixed(s.kappa), fixed(s.alpha), fixed(s.ac1), *map(fixed, s.alpha_ci)}
    expected |= {f"{c.pending:,}" for c in agreement.codings if c.pending}
    with Store(p.path) as store:  # the audit trail, read through a second connection
        consensus = store.decisions(coder="consensus")
    accepted = sum(d.reason == "reconciled" and d.answer == "accept" for d in consensus)
    rejected = sum(d.reason == "reconciled" and d.answer == "reject" for d in consensus)
    assert (accepted, rejected) == (2, 1)
    expected |= {f"{demo['copied']:,}", "2", "1", str(accepted + rejected), f"{len(left.items):,}"}

    found = numbers_in(text, strip=[book.hash[:12], book.version, run.model, __version__])
    assert found and set(found) <= expected, sorted(set(found) - expected)

    # and each where it belongs
    n_docs, people = len(docs), len({d.participant for d in docs})
    assert f"The corpus comprised {spoken(n_docs)} transcripts from {spoken(people)} participants" in text
    kinds = {"txt": "plain-text", "docx": "Word", "vtt": "WebVTT", "md": "Markdown"}
    for fmt, n in formats.items():
        assert f"{spoken(n)} {kinds[fmt]}" in text
    assert f"{sum(d.turns for d in docs):,} speaker turns in all" in text
    assert "split into sentences with spaCy's rule-based sentencizer" in text
    assert f"The {sum(d.coded_segments for d in docs):,} participant sentences were the units of coding" in text
    assert (
        f"the codebook “{book.name}”, version {book.version} (hash {book.hash[:12]}), with {len(book.codes)} codes "
        f"({spoken(len(book.children(None)))} top-level themes" in text
    )
    assert f"coder {__version__}" in text
    assert (
        f"zero-shot suggester (similarity.v2, run {run.id}) embedded every participant sentence and each code's "
        f"name, definition and examples with the sentence-embedding model {run.model}" in text
    )
    assert f"suggested up to {spoken(run.top_k)} codes per sentence scoring at least {run.threshold:g}" in text
    assert f"less {CONTRAST:g} times its cosine similarity to the mean of the code's embedded exclusion" in text
    assert "Two coders, ana and ben, reviewed the suggestions independently" in text
    ana, ben = answers["ana"], answers["ben"]
    assert (
        f"ana answered {ana.total()} suggestions ({spoken(ana['accept'])} accepted, {spoken(ana['reject'])} "
        f"rejected), added no codes by hand and left {spoken(pending['ana'])} unanswered" in text
    )
    assert (
        f"ben answered {ben.total()} suggestions ({spoken(ben['accept'])} accepted, {spoken(ben['reject'])} "
        f"rejected), added one code by hand and left {spoken(pending['ben'])} unanswered" in text
    )
    assert "Coding was blind: each coder was shown only the zero-shot suggestions" in text
    assert (
        f"over the {agreement.units_included} of {agreement.units_total:,} sentences that both coders had reviewed"
        in text
    )
    pooled, exact = agreement.pooled.summary, agreement.exact.summary
    lo, hi = pooled.alpha_ci
    assert (
        f"Pooled over the {len(agreement.rows)} codes either coder gave (each participant sentence–code pair one "
        f"rating), percent agreement was {100 * pooled.percent:.1f}%, Cohen's κ was {pooled.kappa:.3f}, "
        f"Krippendorff's α (nominal) was {pooled.alpha:.3f} (95% bootstrap interval {lo:.3f} to {hi:.3f}; "
        f"200 resamples of the sentences, seed 3) and Gwet's AC1 was {pooled.ac1:.3f}." in text
    )
    assert f"matched exactly in {100 * exact.percent:.1f}% of sentences (Cohen's κ {exact.kappa:.3f}" in text
    assert (
        f"recorded by chloe as a consensus coding: the {spoken(demo['copied'])} codings both coders had accepted "
        "were carried over and three disagreements were decided (two applying the code, one not)" in text
    )
    assert f"{spoken(len(left.items))} disagreements were still undecided" in text


def test_the_figures_list_each_number(demo, report):
    out = mrender.render(report, "md")
    assert out.startswith("## Methods\n\n" + mr.paragraphs(report)[0])
    book = demo["project"].codebook()
    assert f"- Codebook: {book.name}, version {book.version}, hash {book.hash}" in out
    ana = demo["answered"]["ana"]
    assert f"| ana | {ana.total()} | {ana['accept']} | {ana['reject']} | 0 |" in out
    assert "| code set, exact match |" in out and "κ (Cohen)" in out
    assert "- Consensus recorded by: chloe" in out
    text = mrender.render(report, "text")
    assert text.startswith("Methods\n\n") and "Answers per coder" in text
    with pytest.raises(ValueError, match="format"):
        mrender.render(report, "html")


def test_the_word_file_holds_the_paragraphs(report, tmp_path):
    import docx

    mrender.write_docx(report, str(tmp_path / "methods.docx"))
    document = docx.Document(str(tmp_path / "methods.docx"))
    texts = [x.text for x in document.paragraphs]
    for paragraph in mr.paragraphs(report):
        assert paragraph in texts
    assert len(document.tables) == 2
    assert document.tables[0].rows[0].cells[0].text == "Coder"


# -- blind or not, one coder, and no shared units ------------------------------------------------------------


@pytest.fixture
def two(project, tmp_path, blank_splitter, embedder):
    """sample.txt and two one-line transcripts; ana and ben code sample.txt by hand; zero-shot suggestions."""
    other = write(tmp_path / "other.txt", "# participant: P91\nInterviewer: Hi.\nP91: I read the Bible.\n")
    third = write(tmp_path / "third.txt", "# participant: P92\nInterviewer: Hi.\nP92: I pray a lot.\n")
    project.import_files([DATA / "sample.txt", other, third], splitter=lambda: blank_splitter)
    project.load_codebook(DATA / "mini.yaml")
    for coder, n in (("ana", 5), ("ana", 8), ("ben", 5), ("ben", 9)):
        project.code_sentence(coder, project.sentence("sample.txt", n), "Familial relationships")
    project.suggest(embedder, threshold=0.1)
    return project


def test_coding_is_blind_until_someone_answers_another_coders_model(two, stored):
    [learned] = two.learn(coder="ana")
    report = two.methods(n_boot=0)
    assert report.not_blind == ()
    text = " ".join(mr.paragraphs(report))
    assert (
        "Coding was blind: each coder was shown only the zero-shot suggestions and the suggestions of a model "
        "learned from their own decisions, never another coder's answers." in text
    )
    assert f"learned from ana's {spoken(learned.decisions)} decisions" in text
    assert "one learned run was active" in text
    assert "no bootstrap interval" in text
    theirs = next(i for i in rv.queue(stored, "ana") if i.suggester == "learned.v2")
    rv.answer(stored, "ben", theirs, "accept")  # e.g. a shared screen, or a project from an older version
    report = two.methods(n_boot=0)
    text = " ".join(mr.paragraphs(report))
    assert "Coding was blind" not in text
    assert (
        "Coding was not fully blind: ben answered 1 suggestion(s) of learned.v2 learned from ana's decisions: "
        "ben's coding was not blind to them." in text
    )
    assert "Disagreements between coders have not been reconciled." in text
    assert dict(mr.figures(report))["Not blind"] == report.not_blind[0]


def test_one_coder_is_compared_with_the_zero_shot_run(precoded):
    session = precoded.review("ana", learn_every=0)
    for _ in range(3):
        session.accept(session.next())
    report = precoded.methods(n_boot=0)
    text = " ".join(mr.paragraphs(report))
    agreement = precoded.agree(["ana", "machine"], n_boot=0)
    assert report.agreement is not None and report.agreement.machine == agreement.machines["machine"]
    assert text.count("A single coder, ana, reviewed the suggestions, accepting") == 1
    assert (
        f"As only ana coded, agreement was measured between ana and the zero-shot suggester "
        f"({agreement.machines['machine']}) on whether each code was present in each participant sentence, over all "
        f"{spoken(agreement.units_total)} sentences that ana had reviewed" in text
    )
    assert agreement.units_included == agreement.units_total  # the machine scored every sentence ana reviewed
    assert "reconciled" not in text and "Coding was blind" not in text


def test_agreement_not_computed_says_why(two):
    report = two.methods(unit="participant", n_boot=0)  # ana and ben coded only P90, but both did
    assert report.agreement is not None and report.agreement.units_counted == 1
    two.code_sentence("zoe", two.sentence("other.txt", 2), "Familial relationships")
    two.code_sentence("yan", two.sentence("third.txt", 2), "Familial relationships")
    report = two.methods(unit="participant", n_boot=0)
    assert report.agreement is None
    assert "Agreement was not computed: no participant was reviewed by every coder." in mr.paragraphs(report)[-1]


def test_no_decisions_yet(precoded):
    report = precoded.methods()
    assert report.coders == () and report.agreement is None and report.consensus is None
    text = " ".join(mr.paragraphs(report))
    assert "No coder had recorded a decision at the time of this report." in text
    assert "agreement" not in text.lower()
    with pytest.raises(ValueError, match="unit"):
        precoded.methods(unit="word")


# -- the command ------------------------------------------------------------------------------------------------


def test_cli_writes_markdown_text_and_word(precoded, tmp_path):
    session = precoded.review("ana", learn_every=0)
    session.accept(session.next())
    runner = CliRunner()

    def run(*args: str, code: int = 0, stderr: str | None = None) -> str:
        r = runner.invoke(main, ["-p", str(precoded.path), "report", "methods", *args], catch_exceptions=False)
        assert r.exit_code == code, r.output
        if stderr is not None:
            assert r.stderr == stderr
        return r.stdout if code == 0 else r.output

    # ana answered one suggestion of the transcript: the rest count as "not given", and it says so
    note = (
        "Note: 16 suggestion(s) left unanswered in the transcripts counted are counted as codes not given (their "
        "sentences count as not coded); finish those transcripts, or pass --coverage decided.\n"
    )
    wrote = run("-o", "methods.md", "--bootstrap", "50", stderr=note)
    assert wrote == "Wrote the methods paragraph and its figures to methods.md.\n"
    decided = run("--coverage", "decided", "--bootstrap", "0", stderr="")
    assert "(a participant sentence counted only where each coder had answered on it)" in decided
    assert (tmp_path / "methods.md").read_text(encoding="utf-8") == mrender.render(precoded.methods(n_boot=50), "md")
    assert run().startswith("Methods\n\nThe corpus comprised one transcript from one participant")
    assert run("--format", "md", "--unit", "turn", "--seed", "4").startswith("## Methods\n")
    run("-o", "methods.docx")
    assert (tmp_path / "methods.docx").stat().st_size > 0
    assert "cannot tell the format from 'methods.pdf'" in run("-o", "methods.pdf", code=2)
    assert "a Word file needs -o FILE.docx" in run("--format", "docx", code=2)


def test_cli_help():
    out = CliRunner().invoke(main, ["report", "methods", "--help"]).output
    assert "Examples:" in out and "coder report methods -o methods.md" in out
    for option in ("--unit", "--coverage", "--bootstrap", "--seed", "--format", "--output"):
        assert option in out
    assert "methods" in CliRunner().invoke(main, ["report", "--help"]).output


def test_a_reconciliation_with_nothing_to_decide_says_so(report):
    from dataclasses import replace

    from coder.methods_report import Consensus, paragraphs

    nothing = replace(report, consensus=Consensus(16, 0, 0, 0, ("ana",), 0))
    text = paragraphs(nothing)[-1]
    assert "the 16 codings both coders had accepted were carried over." in text
    assert "decided (" not in text and "No disagreement was left undecided." in text
    empty = paragraphs(replace(report, consensus=Consensus(0, 0, 0, 0, (), None)))[-1]
    assert "consensus coding: no disagreement was decided." in empty


def test_the_disagreements_left_are_counted_in_the_units_the_report_counts(two):
    plan = two.reconcile_plan(["ana", "ben"])  # sentences 8 (ana's) and 9 (ben's): coded by one coder each
    two.reconcile(plan.items[0], "accept", by="chloe")
    left = {c: len(two.reconcile_plan(["ana", "ben"], coverage=c).items) for c in ("documents", "decided")}
    assert left == {"documents": 1, "decided": 0}  # neither sentence was decided by both
    for coverage, n in left.items():
        assert two.methods(n_boot=0, coverage=coverage).consensus.remaining == n


def test_a_code_rejected_where_nothing_suggested_it_is_counted_on_its_own(precoded):
    from coder.store import Store

    session = precoded.review("ana", learn_every=0)
    session.accept(session.next())
    with Store(precoded.path) as store:
        offered = {(r.segment_id, r.code_path) for r in store.suggestions(for_coders=["ana"])}
        seg, path = next(
            (s.id, c.path)
            for s in store.segment_keys()
            for c in precoded.codebook().codes
            if (s.id, c.path) not in offered
        )
        store.decide(segment_id=seg, code_path=path, coder="ana", answer="reject")  # e.g. a near miss, or imported
    [ana] = precoded.methods(n_boot=0).coders
    assert (ana.accepted, ana.rejected, ana.rejected_unsuggested) == (1, 0, 1)
    report = precoded.methods(n_boot=0)
    assert "added no codes by hand, rejected one code no suggestion had proposed and left" in " ".join(
        mr.paragraphs(report)
    )
    [(_, header, [row])] = [t for t in mr.tables(report) if t[0] == "Answers per coder"]
    assert dict(zip(header, row, strict=True))["Rejected, not suggested"] == "1"


def test_the_paragraph_says_how_the_answers_were_reached(demo, report):
    text = " ".join(mr.paragraphs(report))
    assert (
        "How the answers were reached: ana answered 30 reading through the transcripts (in document order, or on a "
        "transcript's page); ben answered 30 reading through the transcripts (in document order, or on a transcript's "
        "page) and picked one from the codebook themselves."
    ) in text
    assert [c.via for c in report.coders] == [(("document", 30),), (("document", 30), ("hand", 1))]


def test_answers_whose_route_was_not_recorded_are_said_so(precoded):
    session = precoded.review("ana", order="uncertain", learn_every=0)
    session.accept(session.next())
    with Store(precoded.path) as store:  # as imported from a file without the column
        seg = next(s.id for s in store.segment_keys())
        store.decide(segment_id=seg, code_path=precoded.codebook().codes[0].path, coder="ana", answer="reject")
    text = " ".join(mr.paragraphs(precoded.methods(n_boot=0)))
    assert (
        "How the answers were reached: ana answered one in the order of the learned model's uncertainty and had one "
        "whose route was not recorded (given before the project kept it, or imported)."
    ) in text
