"""REFI-QDA exchange with a project: export, import, round trips, positions, hostile archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from coder import refi
from coder.app import Project
from coder.app.refi_import import NO_DEFINITION
from coder.cli import main
from coder.errors import CoderError, ProjectError
from coder.store import Store

from .conftest import DATA, write

PRAYER = "Spirituality / faith > Prayer and personal spiritual practices"
SCRIPTURE = "Spirituality / faith > Reading scripture"
FAMILY = "Familial relationships"

# accents, emoji (one code point outside the BMP), CRLF line ends in the file
ACCENTED = (
    "# participant: P77\r\nInterviewer: ¿Cómo está?\r\n"
    "P77: Rezo cada mañana 🙏 con mi abuela. Leo la Biblia.\r\n"
    "Interviewer: Gracias.\r\nP77: Mi hermana me llama — siempre. Fin.\r\n"
)


def fresh_import(db, archive, splitter=None):
    """Import a .qdpx or .qdc into a new project file; the project is closed again."""
    with Project(db, create=True) as p:
        return p.import_refi(archive, splitter=splitter)


def decisions_in(project):
    """Standing decisions with their sentence's text, read from the file (no Project method returns the text)."""
    with Store(project.path) as s:
        return s.decisions()


def attributes_in(project):
    with Store(project.path) as s:
        return s.attributes()


def document_text(project, name):
    with Store(project.path) as s:
        return s.document_text(project.document(name).id)


def coded_sentences(project, name):
    return [s for t in project.document_view(project.document(name).id).turns for s in t.segments if s.coded]


@pytest.fixture
def study(tmp_path, blank_splitter):
    (tmp_path / "a").mkdir()
    p = Project(tmp_path / "a" / "study.db", create=True)
    files = [DATA / "sample.txt", write(tmp_path / "in" / "acentos.txt", ACCENTED)]
    attrs = write(tmp_path / "in" / "people.csv", "participant,age_group,setting\nP90,25-34,street\nP77,35-44,indoor\n")
    p.import_files(files, splitter=lambda: blank_splitter, attributes=attrs)
    p.load_codebook(DATA / "mini.yaml")
    for coder, doc, n, code in (
        ("ana", "sample.txt", 8, PRAYER),
        ("ben", "sample.txt", 8, PRAYER),
        ("ana", "sample.txt", 9, SCRIPTURE),
        ("ana", "acentos.txt", 2, PRAYER),
        ("ben", "acentos.txt", 5, FAMILY),
    ):
        p.code_sentence(coder, p.sentence(doc, n), code, memo="con fe 🙏" if n == 2 and doc == "acentos.txt" else None)
    p.review("ben").memo(p.sentence("acentos.txt", 5).id, "hermana = apoyo")
    p.code_sentence("ana", p.sentence("sample.txt", 5), FAMILY)
    p.review("ana").undo()  # an undone coding is not exported
    yield p
    p.close()


def read_qdpx(path: Path):
    with zipfile.ZipFile(path) as z:
        qde = z.read("project.qde")
        sources = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("sources/")}
    return qde, sources


def test_export_validates_and_every_selection_is_its_sentence(study, tmp_path):
    out = tmp_path / "study.qdpx"
    r = study.export_qdpx(out)
    assert (r.documents, r.selections, r.codings, r.users, r.notes, r.cases) == (2, 4, 5, ["ana", "ben"], 2, 2)
    qde, sources = read_qdpx(out)
    root = refi.parse_xml(qde, "project.qde")
    refi.validate_project(root, "project.qde")  # the official Project.xsd
    proj = refi.read_project_xml(root)
    texts = {s.guid: sources[f"sources/{s.guid}.txt"] for s in proj.sources}
    seen = set()
    with Store(study.path) as store:  # offsets are stored, not shown: read them from the file
        for s in proj.sources:
            doc = store.document_by_name(s.name)
            assert texts[s.guid] == doc.text
            for sel in s.selections:
                stored = [x for x in store.segments(doc.id) if (x.start, x.end) == (sel.start, sel.end)]
                assert len(stored) == 1 and texts[s.guid][sel.start : sel.end] == stored[0].text
                seen.add(stored[0].text)
    assert "Rezo cada mañana 🙏 con mi abuela." in seen and "Mi hermana me llama — siempre." in seen
    users = {g: n for g, n in proj.users.items()}
    codings = {
        (users[c.user_guid], s.name, c.code_guid) for s in proj.sources for sel in s.selections for c in sel.codings
    }
    assert len(codings) == 5
    cases = {c.name: c.values for c in proj.cases}
    assert cases == {
        "P77": {"age_group": "35-44", "setting": "indoor"},
        "P90": {"age_group": "25-34", "setting": "street"},
    }
    notes = sorted(n.text for n in proj.notes.values())
    assert notes == ["con fe 🙏", "hermana = apoyo"]


def test_round_trip_gives_the_same_project(study, tmp_path, blank_splitter):
    first = tmp_path / "one" / "study.qdpx"
    first.parent.mkdir()
    study.export_qdpx(first)
    (tmp_path / "b").mkdir()
    with Project(tmp_path / "b" / "study.db", create=True) as fresh:
        r = fresh.import_refi(first, splitter=lambda: blank_splitter)
        assert (len(r.documents), r.decisions, r.memos, r.coders) == (2, 5, 1, ["ana", "ben"])
        assert r.codebook.hash == study.codebook().hash  # the codebook came back unchanged
        second = tmp_path / "two" / "study.qdpx"
        second.parent.mkdir()
        fresh.export_qdpx(second)
        assert read_qdpx(first) == read_qdpx(second)
        assert attributes_in(fresh) == attributes_in(study)
        again = fresh.import_refi(first, splitter=lambda: blank_splitter)  # importing twice adds nothing
        assert (again.documents, again.decisions, again.memos) == ([], 0, 0)


def test_a_note_on_a_rejected_code_goes_out_as_a_note_on_its_sentence(study, tmp_path, blank_splitter):
    sentence = study.sentence("sample.txt", 3)
    with Store(study.path) as store:  # a rejection with a note, as review's reason 4 or a reconciliation records it
        store.decide(segment_id=sentence.id, code_path=FAMILY, coder="ana", answer="reject", memo="a friend, not kin")
    first = tmp_path / "one" / "study.qdpx"
    first.parent.mkdir()
    r = study.export_qdpx(first)
    assert (r.notes, r.rejection_notes) == (3, 1)
    proj = refi.read_project_xml(refi.parse_xml(read_qdpx(first)[0], "project.qde"))
    assert f"Rejected {FAMILY}: a friend, not kin" in {n.text for n in proj.notes.values()}
    (tmp_path / "b").mkdir()
    with Project(tmp_path / "b" / "study.db", create=True) as fresh:  # back in: a memo on that sentence, the same file
        assert fresh.import_refi(first, splitter=lambda: blank_splitter).memos == 2
        second = tmp_path / "two" / "study.qdpx"
        second.parent.mkdir()
        fresh.export_qdpx(second)
        assert read_qdpx(first) == read_qdpx(second)
    study.import_refi(first, splitter=lambda: blank_splitter)  # back into the project it came from: a memo too
    assert study.export_qdpx(tmp_path / "three.qdpx").notes == 3  # the note once, not a GUID twice


def test_export_options_coder_and_suggestions(study, tmp_path, embedder):
    r = study.export_qdpx(tmp_path / "ana.qdpx", coders=["ana"])
    assert (r.users, r.codings) == (["ana", "ben"], 3)  # ben still appears: he wrote a memo
    study.suggest(embedder, threshold=-1.0, top_k=1)
    r = study.export_qdpx(tmp_path / "all.qdpx", include_suggested=True)
    assert "coder-machine" in r.users and r.codings > 5
    with pytest.raises(CoderError, match="no decisions by zoe"):
        study.export_qdpx(tmp_path / "z.qdpx", coders=["zoe"])


def test_unreviewed_suggestions_are_those_the_exported_coders_did_not_answer(study, tmp_path, embedder):
    study.suggest(embedder, threshold=-1.0, top_k=1)

    def machine_codings(name: str, coders: list[str]) -> int:
        r = study.export_qdpx(tmp_path / f"{name}.qdpx", coders=coders, include_suggested=True)
        return r.codings

    before = {who: machine_codings(f"{who}-before", [who]) for who in ("ana", "ben")}
    ana_open = {(i.segment_id, i.code_path) for i in study.review("ana").pending()}
    ben = study.review("ben")
    item = next(i for i in ben.pending() if (i.segment_id, i.code_path) in ana_open)
    ben.reject(item)
    assert machine_codings("ana-after", ["ana"]) == before["ana"]  # ben's answer is not ana's
    assert machine_codings("ben-after", ["ben"]) == before["ben"] - 1  # ben's rejection is not exported as a coding


def test_qdc_round_trip_through_the_cli(study, tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["-p", str(study.path), "export", "qdc", "-o", str(tmp_path / "mini.qdc")])
    assert r.exit_code == 0 and "Wrote the codebook" in r.output
    fresh = tmp_path / "c.db"
    assert runner.invoke(main, ["-p", str(fresh), "init"]).exit_code == 0
    r = runner.invoke(main, ["-p", str(fresh), "import", str(tmp_path / "mini.qdc")])
    assert r.exit_code == 0, r.output
    assert "codebook  mini 0.1: 5 codes (now the current codebook)" in r.output
    with Project(fresh) as p:
        assert p.codebook().hash == study.codebook().hash
    r = runner.invoke(main, ["-p", str(fresh), "import", str(tmp_path / "mini.qdc"), str(DATA / "sample.txt")])
    assert r.exit_code == 2 and "import a .qdc or .qdpx file on its own" in r.output


# -- files written by other tools, built here -----------------------------------------------------------------

GUIDS = [f"{i:08X}-0000-4000-8000-000000000000" for i in range(1, 40)]


def qdpx(path: Path, qde: str | bytes, sources: dict[str, bytes] | None = None, *, extra=None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", qde if isinstance(qde, bytes) else qde.encode("utf-8"))
        for name, data in (sources or {}).items():
            z.writestr(f"sources/{name}", data)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def project_xml(sources: str, *, codes: str | None = None, ns: str = "urn:QDA-XML:project:1:0", users: str = "") -> str:
    codes = codes or (
        f'<Code guid="{GUIDS[0]}" name="Faith" isCodable="true"><Description>Faith as strength.</Description>'
        f'<Code guid="{GUIDS[1]}" name="Prayer" isCodable="true"/></Code>'
        f'<Code guid="{GUIDS[2]}" name="Family" isCodable="true"/>'
    )
    users = users or f'<Users><User guid="{GUIDS[3]}" name="Rosa"/></Users>'
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{ns}" name="other" origin="Other tool 9">\n'
        f"{users}<CodeBook><Codes>{codes}</Codes></CodeBook>\n"
        + (f"<Sources>{sources}</Sources>\n" if sources else "")
        + "</Project>"
    )


CRLF_TEXT = "Q: How do you cope?\r\nA: I pray. Every night I pray.\r\nQ: Who helps?\r\nA: My sister, always.\r\n"


def selection(guid, start, end, code, user=GUIDS[3], when="2025-03-01T10:00:00Z"):
    return (
        f'<PlainTextSelection guid="{guid}" startPosition="{start}" endPosition="{end}">'
        f'<Coding guid="{GUIDS[30 + int(guid[7])]}" creatingUser="{user}" creationDateTime="{when}">'
        f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>'
    )


def test_import_another_tools_project_with_crlf_positions(tmp_path, blank_splitter):
    pray = CRLF_TEXT.index("I pray.")
    sister = CRLF_TEXT.index("My sister")
    src = (
        f'<TextSource guid="{GUIDS[5]}" name="Interview 1" plainTextPath="internal://{GUIDS[5]}.txt">'
        + selection(GUIDS[6], pray, pray + len("I pray. Every night I pray."), GUIDS[1])  # two sentences
        + selection(GUIDS[7], sister + 3, sister + 9, GUIDS[2])  # inside one sentence
        + "</TextSource>"
    )
    path = qdpx(tmp_path / "other.qdpx", project_xml(src), {f"{GUIDS[5]}.txt": CRLF_TEXT.encode("utf-8")})
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        rows = {(d.text, d.code_path, d.coder, d.decided_at) for d in decisions_in(project)}
        book = project.codebook()
    assert r.documents == ["Interview 1"] and r.decisions == 3 and r.coders == ["Rosa"]
    assert rows == {
        ("I pray.", "Faith > Prayer", "Rosa", "2025-03-01T10:00:00+00:00"),
        ("Every night I pray.", "Faith > Prayer", "Rosa", "2025-03-01T10:00:00+00:00"),
        ("My sister, always.", "Family", "Rosa", "2025-03-01T10:00:00+00:00"),
    }
    assert book.by_path()["Faith"].definition == "Faith as strength."
    assert book.by_path()["Family"].definition == NO_DEFINITION and book.by_path()["Family"].guid == GUIDS[2]
    assert any("no description" in w for w in r.warnings)


def test_import_inline_text_rich_text_only_and_unlabelled_sources(tmp_path, blank_splitter):
    import docx

    d = docx.Document()
    d.add_paragraph("Interviewer: Hello.")
    d.add_paragraph("P5: I read the Bible daily.")
    buf = io.BytesIO()
    d.save(buf)
    srcs = (
        f'<TextSource guid="{GUIDS[5]}" name="inline"><PlainTextContent>Just my own words about family.'
        "</PlainTextContent>" + selection(GUIDS[6], 0, 10, GUIDS[2]) + "</TextSource>"
        f'<TextSource guid="{GUIDS[8]}" name="rich.docx" richTextPath="internal://{GUIDS[8]}.docx"/>'
        f'<PDFSource guid="{GUIDS[9]}" name="scan.pdf"/>'
    )
    path = qdpx(
        tmp_path / "x.qdpx",
        project_xml(srcs, ns="urn:QDA-XML:project:1.0", users="<Users/>".replace("<Users/>", "")),
        {f"{GUIDS[8]}.docx": buf.getvalue()},
    )
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        assert sorted(r.documents) == ["inline", "rich.docx"]
        assert any("non-text source" in w for w in r.warnings)
        assert document_text(project, "rich.docx") == "Interviewer: Hello.\nP5: I read the Bible daily."
        inline = coded_sentences(project, "inline")
        assert [s.text for s in inline] == ["Just my own words about family."]  # no speaker labels: one turn
        assert r.decisions == 1


# -- hostile and broken files: one line, non-zero exit, project unchanged ---------------------------------------


def _counts(path):
    with Project(path) as p:
        return p.counts(), p.coders(), p.codebook().hash


def broken_files(tmp_path: Path) -> list[tuple[str, Path, str]]:
    ok_src = f'<TextSource guid="{GUIDS[5]}" name="i1" plainTextPath="internal://{GUIDS[5]}.txt">'
    text = {f"{GUIDS[5]}.txt": CRLF_TEXT.encode("utf-8")}
    good = project_xml(ok_src + selection(GUIDS[6], 0, 5, GUIDS[1]) + "</TextSource>")
    f = tmp_path / "bad"
    f.mkdir()
    truncated = qdpx(f / "whole.qdpx", good, text).read_bytes()
    (f / "truncated.qdpx").write_bytes(truncated[: len(truncated) // 2])
    return [
        (
            "zip-slip",
            qdpx(f / "slip.qdpx", good, text, extra={"../../evil.txt": b"x"}),
            "archive entry '../../evil.txt' points outside the archive",
        ),
        (
            "absolute",
            qdpx(f / "abs.qdpx", good, text, extra={"/etc/evil": b"x"}),
            "archive entry '/etc/evil' points outside",
        ),
        ("truncated", f / "truncated.qdpx", "not a readable zip archive"),
        ("not a zip", write(f / "text.qdpx", "hello"), "not a readable zip archive"),
        (
            "no project.qde",
            qdpx(f / "noqde.qdpx", b"", extra={}) if False else _zip(f / "noqde.qdpx", {"other.xml": b"<x/>"}),
            "no project.qde in the archive",
        ),
        (
            "schema",
            qdpx(f / "schema.qdpx", good.replace('name="i1" ', 'name="i1" bogus="1" '), text),
            "project.qde:4: does not follow the REFI-QDA schema: Element 'TextSource', attribute 'bogus'",
        ),
        (
            "past the end",
            qdpx(f / "past.qdpx", project_xml(ok_src + selection(GUIDS[6], 0, 5000, GUIDS[1]) + "</TextSource>"), text),
            f"selection {GUIDS[6]} (0-5000) lies outside source 'i1' ({len(CRLF_TEXT)} characters)",
        ),
        (
            "unknown code",
            qdpx(f / "code.qdpx", project_xml(ok_src + selection(GUIDS[6], 0, 5, GUIDS[20]) + "</TextSource>"), text),
            f"refers to code {GUIDS[20]}, which is not in the codebook",
        ),
        ("missing text", qdpx(f / "notext.qdpx", good, {}), "source 'i1' has no plain text in the archive"),
        (
            "doctype",
            qdpx(f / "dtd.qdpx", good.replace("<Project", '<!DOCTYPE p [<!ENTITY e "x">]>\n<Project', 1), text),
            "declares a DOCTYPE",
        ),
        ("xml", qdpx(f / "xml.qdpx", good[:-20], text), "project.qde:4: not well-formed XML"),
    ]


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, d in entries.items():
            z.writestr(n, d)
    return path


def test_broken_and_hostile_archives(tmp_path):
    runner = CliRunner()
    proj = tmp_path / "p.db"
    for args in (
        ["init"],
        ["import", str(DATA / "sample.txt"), "--pipeline", "blank"],
        ["codebook", "load", str(DATA / "mini.yaml")],
    ):
        assert runner.invoke(main, ["-p", str(proj), *args]).exit_code == 0
    assert (
        runner.invoke(
            main, ["-p", str(proj), "code", "sample.txt", "--segment", "8", "--code", PRAYER, "--coder", "ana"]
        ).exit_code
        == 0
    )
    before = _counts(proj)
    for what, path, message in broken_files(tmp_path):
        r = runner.invoke(main, ["-p", str(proj), "import", str(path), "--pipeline", "blank"])
        assert r.exit_code == 1, (what, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}"), (what, r.output)
        assert message in lines[0], (what, lines[0])
        assert _counts(proj) == before, what
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_limits(tmp_path, monkeypatch):
    good = project_xml(
        f'<TextSource guid="{GUIDS[5]}" name="i1"><PlainTextContent>A: hi.</PlainTextContent></TextSource>'
    )
    many = qdpx(tmp_path / "many.qdpx", good, {f"{i}.txt": b"x" for i in range(30)})
    monkeypatch.setattr(refi, "MAX_ENTRIES", 20)
    with pytest.raises(CoderError, match="31 entries"):
        refi.Archive(many)
    monkeypatch.setattr(refi, "MAX_ENTRIES", 10_000)
    big = _zip(tmp_path / "big.qdpx", {"project.qde": good.encode(), "sources/zeros.txt": b"0" * 5_000_000})
    assert big.stat().st_size < 100_000  # compresses ~1000:1
    monkeypatch.setattr(refi, "MAX_TOTAL_BYTES", 1_000_000)
    with pytest.raises(CoderError, match="possible zip bomb"):
        refi.Archive(big)


def test_archive_reading_counts_real_bytes_not_headers(tmp_path, monkeypatch):
    path = _zip(tmp_path / "liar.qdpx", {"project.qde": b"<Project name='x'/>", "sources/a.txt": b"a" * 300_000})
    archive = refi.Archive(path)
    monkeypatch.setattr(refi, "MAX_TOTAL_BYTES", 100_000)  # as if the header had claimed less
    with pytest.raises(CoderError, match="unpacks to more than"):
        archive.read("sources/a.txt")


def test_minimal_project_without_optional_parts(tmp_path, blank_splitter):
    qde = (
        '<Project xmlns="urn:QDA-XML:project:1.0" name="bare"><Sources>'
        f'<TextSource guid="{GUIDS[5]}" name="note.txt"><PlainTextContent>Interviewer: Hi.\nP1: Hello there.'
        "</PlainTextContent></TextSource></Sources></Project>"
    )
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(qdpx(tmp_path / "bare.qdpx", qde), splitter=lambda: blank_splitter)
        assert (r.documents, r.codebook, r.decisions, r.attributes) == (["note.txt"], None, 0, 0)
        with pytest.raises(ProjectError, match="no codebook loaded"):
            project.codebook()


def test_qdpx_through_the_cli(study, tmp_path):
    runner = CliRunner()
    out = tmp_path / "study.qdpx"
    r = runner.invoke(main, ["-p", str(study.path), "export", "qdpx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output == (f"Wrote {out}: 2 documents, 4 coded sentences with 5 codings by ana, ben, 2 notes, 2 cases.\n")
    fresh = tmp_path / "fresh.db"
    assert runner.invoke(main, ["-p", str(fresh), "init"]).exit_code == 0
    r = runner.invoke(main, ["-p", str(fresh), "import", str(out), "--pipeline", "blank"])
    assert r.exit_code == 0, r.output
    assert "  imported  acentos.txt\n" in r.output and "  imported  sample.txt\n" in r.output
    assert "5 coding(s) as accepted decisions by ana, ben; 1 memo(s); 4 participant attribute value(s)" in r.output
    assert "codebook  mini 0.1: 5 codes (now the current codebook)" in r.output
    r = runner.invoke(main, ["-p", str(fresh), "tally", "--coder", "ana", "--format", "json"])
    assert r.exit_code == 0


# -- found in review: each of these once crashed, lost data or let a bad file through ---------------------------


def one_source(text_xml: str, *, codes: str | None = None, users: str = "") -> str:
    return project_xml(text_xml, codes=codes, users=users)


def test_source_encodings_and_bom(tmp_path, blank_splitter):
    src = f'<TextSource guid="{GUIDS[5]}" name="s" plainTextPath="internal://{GUIDS[5]}.txt">'
    sel = selection(GUIDS[6], 3, 10, GUIDS[1]) + "</TextSource>"
    latin = qdpx(
        tmp_path / "latin.qdpx", one_source(src + sel), {f"{GUIDS[5]}.txt": "P1: Café con leña.\n".encode("cp1252")}
    )
    with pytest.raises(CoderError, match=r"latin.qdpx/sources/.*\.txt:1: not UTF-8 text \(byte 0xe9"):
        fresh_import(tmp_path / "a.db", latin, splitter=lambda: blank_splitter)
    for name, data in (
        ("bom8", "\ufeffP1: I pray a lot.\n".encode()),
        ("bom16", "P1: I pray a lot.\n".encode("utf-16")),
    ):
        path = qdpx(tmp_path / f"{name}.qdpx", one_source(src + sel), {f"{GUIDS[5]}.txt": data})
        with Project(tmp_path / f"{name}.db", create=True) as project:
            project.import_refi(path, splitter=lambda: blank_splitter)
            assert [d.text for d in decisions_in(project)] == ["I pray a lot."], name  # 3-10 without the BOM


def test_export_survives_control_characters_and_odd_codebook_names(tmp_path, blank_splitter):
    with Project(tmp_path / "p.db", create=True) as project:
        project.import_files([write(tmp_path / "c.txt", "P1: I pray\x08 daily.\n")], splitter=lambda: blank_splitter)
        yaml_text = (DATA / "mini.yaml").read_text().replace("name: mini", 'name: My "best" \\\\ book', 1)
        yaml_text = yaml_text.replace('version: "0.1"', 'version: "2.0 \\"beta\\""', 1)
        book = write(tmp_path / "odd.yaml", yaml_text)
        project.load_codebook(book)
        sentence = project.sentence("c.txt", 1)
        project.code_sentence("ana", sentence, PRAYER)
        project.review("ana").memo(sentence.id, "arrow key \x1b[A pressed")
        project.export_qdpx(tmp_path / "c.qdpx")  # no ValueError from lxml
        qdc = tmp_path / "odd.qdc"
        qdc.write_bytes(project.export_qdc())
        original = project.codebook()
    r = fresh_import(tmp_path / "f.db", qdc)
    assert "\\" in original.name and '"' in original.version
    assert (r.codebook.name, r.codebook.version) == (original.name, original.version)
    assert r.codebook.hash == original.hash


def test_codebook_guids_are_checked(tmp_path):
    from coder.codebook import parse_codebook
    from coder.errors import CodebookError

    text = (DATA / "mini.yaml").read_text()
    bad = text.replace("  - name: Familial relationships\n", "  - name: Familial relationships\n    guid: not-a-guid\n")
    with pytest.raises(CodebookError, match="guid 'not-a-guid' is not a GUID"):
        parse_codebook(bad)
    g = "1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294"
    twice = text.replace("  - name: Familial relationships\n", f"  - name: Familial relationships\n    guid: {g}\n")
    twice = twice.replace(
        "  - name: Education and educational goals\n", f"  - name: Education and educational goals\n    guid: {g}\n"
    )
    with pytest.raises(CodebookError, match="is used twice"):
        parse_codebook(twice)


def test_foreign_codebook_oddities(tmp_path, blank_splitter):
    nested = (
        f'<Code guid="{GUIDS[0]}" name="Support" isCodable="true">'
        f'<Code guid="{GUIDS[1]}" name="support" isCodable="true"/></Code>'
    )
    r = fresh_import(tmp_path / "a.db", qdpx(tmp_path / "a.qdpx", project_xml("", codes=nested)))
    assert [c.path for c in r.codebook.codes] == ["Support", "Support > support (2)"]
    dup = (
        f'<Code guid="{GUIDS[0]}" name="Faith" isCodable="true"/>'
        f'<Code guid="{GUIDS[0]}" name="Family" isCodable="true"/>'
    )
    with pytest.raises(CoderError, match=f"GUID {GUIDS[0]} is used twice"):
        fresh_import(tmp_path / "b.db", qdpx(tmp_path / "b.qdpx", project_xml("", codes=dup)))
    deep = (
        "".join(f'<Code guid="{GUIDS[0][:-4]}{i:04d}" name="c{i}" isCodable="true">' for i in range(60))
        + "</Code>" * 60
    )
    with pytest.raises(CoderError, match="nested more than 50 levels"):
        fresh_import(tmp_path / "c.db", qdpx(tmp_path / "c.qdpx", project_xml("", codes=deep)))


def test_foreign_sources_users_and_dates(tmp_path, blank_splitter):
    text = "P1: I pray. My sister helps."
    users = f'<Users><User guid="{GUIDS[3]}" name="Rosa"/><User guid="{GUIDS[4]}" name="Rosa"/></Users>'
    srcs = (
        f'<TextSource guid="{GUIDS[5]}" name="a"><PlainTextContent>{text}</PlainTextContent>'
        + selection(GUIDS[6], 4, 11, GUIDS[1], user=GUIDS[3], when="0001-01-01T00:00:00+01:00")
        + "</TextSource>"
        f'<TextSource guid="{GUIDS[8]}" name="b"><PlainTextContent>{text}</PlainTextContent>'
        + selection(GUIDS[7], 4, 11, GUIDS[1], user=GUIDS[4])
        + "</TextSource>"
        f'<TextSource guid="{GUIDS[9]}" name="guide">'
        "<PlainTextContent>Q: How do you cope?\nQ: Who helps?</PlainTextContent>"
        "</TextSource>"
    )
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(
            qdpx(tmp_path / "x.qdpx", project_xml(srcs, users=users)), splitter=lambda: blank_splitter
        )
        assert r.documents == ["a", "guide"]  # 'b' has a's text: its coding goes to 'a'
        assert any("same text as document 'a'" in w for w in r.warnings)
        assert any("'guide' has no participant speech" in w for w in r.warnings)
        assert sorted(d.coder for d in decisions_in(project)) == ["Rosa", "Rosa (2)"]  # two users, two coders
        project.export_qdpx(tmp_path / "again.qdpx")  # unique GUIDs, schema-valid


def test_docx_sources_count_against_the_size_limit(tmp_path, monkeypatch, blank_splitter):
    import docx

    d = docx.Document()
    for _ in range(300):
        d.add_paragraph("P5: " + "word " * 400)
    buf = io.BytesIO()
    d.save(buf)
    srcs = f'<TextSource guid="{GUIDS[8]}" name="rich.docx" richTextPath="internal://{GUIDS[8]}.docx"/>'
    path = qdpx(tmp_path / "x.qdpx", project_xml(srcs), {f"{GUIDS[8]}.docx": buf.getvalue()})
    monkeypatch.setattr(refi, "MAX_TOTAL_BYTES", 200_000)  # the docx is small; its document.xml is not
    with pytest.raises(CoderError, match="possible zip bomb"):
        fresh_import(tmp_path / "p.db", path, splitter=lambda: blank_splitter)


def test_unreviewed_suggestions_do_not_come_back_as_decisions(study, tmp_path, embedder, blank_splitter):
    study.suggest(embedder, threshold=-1.0, top_k=1)
    out = tmp_path / "pre.qdpx"
    study.export_qdpx(out, include_suggested=True)
    with Project(tmp_path / "f.db", create=True) as fresh:
        r = fresh.import_refi(out, splitter=lambda: blank_splitter)
        assert r.unreviewed > 0 and "coder-machine" not in fresh.coders()


# -- a REFI import never drops a coding ---------------------------------------------------------------------------

COMMENTS = (  # an exported comment table: one line reads like a speaker label, the rest do not
    "Comments exported from survey\n"
    "10:14 AM, Ward 7: The staff were kind and listened to me.\n"
    "Staff response: Thank you for the feedback.\n"
    "10:20 AM, Ward 7: Parking was impossible and nobody helped.\n"
    "Reviewer: escalate to estates\n"
)


def _source(name: str, guid: str, text: str, picks: list[tuple[str, str, str]]) -> tuple[str, dict[str, bytes]]:
    """A TextSource with one selection per (guid, exact text, code guid)."""
    sels = "".join(selection(g, text.index(part), text.index(part) + len(part), code) for g, part, code in picks)
    src = f'<TextSource guid="{guid}" name="{name}" plainTextPath="internal://{guid}.txt">{sels}</TextSource>'
    return src, {f"{guid}.txt": text.encode("utf-8")}


def test_a_source_without_interview_structure_keeps_every_coding(tmp_path, blank_splitter):
    picks = [
        (GUIDS[6], "The staff were kind and listened to me.", GUIDS[2]),
        (GUIDS[7], "Parking was impossible and nobody helped.", GUIDS[0]),
        (GUIDS[4], "Thank you for the feedback.", GUIDS[1]),
    ]
    src, files = _source("comments", GUIDS[5], COMMENTS, picks)
    path = qdpx(tmp_path / "nvivo.qdpx", project_xml(src), files)
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        rows = {(d.text, d.code_path) for d in decisions_in(project)}
    assert (r.codings_found, r.codings_kept) == (3, 3)
    assert (r.codings_found, r.codings_kept, r.on_context) == (3, 3, 0)
    assert {(t.split(": ")[-1], c) for t, c in rows} == {
        ("The staff were kind and listened to me.", "Family"),
        ("Parking was impossible and nobody helped.", "Faith"),
        ("Thank you for the feedback.", "Faith > Prayer"),
    }
    assert any("comments': its speaker labels did not fit its codings" in w and "line by line" in w for w in r.warnings)


INTERVIEW = "Interviewer: How do you cope with the nights?\nP1: I pray. My sister calls.\n"


def coded_question_qdpx(tmp_path: Path, name: str) -> Path:
    """A .qdpx whose one interview has a coding on the interviewer's question and one on the answer."""
    picks = [(GUIDS[6], "How do you cope with the nights?", GUIDS[0]), (GUIDS[7], "I pray.", GUIDS[1])]
    src, files = _source(name, GUIDS[5], INTERVIEW, picks)
    return qdpx(tmp_path / f"{name}.qdpx", project_xml(src), files)


def test_codings_on_interviewer_speech_are_kept_and_counted(tmp_path, blank_splitter):
    path = coded_question_qdpx(tmp_path, "Interview 1")
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        rows = {(d.text, d.code_path) for d in decisions_in(project)}
        roles = {
            s.text: s.coded for t in project.document_view(project.document("Interview 1").id).turns for s in t.segments
        }
    assert (r.codings_found, r.codings_kept, r.on_context) == (2, 2, 1)
    assert rows == {("How do you cope with the nights?", "Faith"), ("I pray.", "Faith > Prayer")}
    assert roles["How do you cope with the nights?"] is False  # still the interviewer's: kept as it was coded
    assert not any("line by line" in w for w in r.warnings)  # most codings are on participant speech


def test_a_coding_no_unit_can_hold_refuses_the_import_with_the_list(tmp_path, blank_splitter):
    text = "Interviewer: Hello.\n\n\n\nP1: I pray every night.\n"
    gap = text.index("\n\n\n") + 1
    src = (
        f'<TextSource guid="{GUIDS[5]}" name="gappy" plainTextPath="internal://{GUIDS[5]}.txt">'
        + selection(GUIDS[6], gap, gap + 2, GUIDS[2])  # only blank lines
        + "</TextSource>"
    )
    path = qdpx(tmp_path / "g.qdpx", project_xml(src), {f"{GUIDS[5]}.txt": text.encode("utf-8")})
    with Project(tmp_path / "p.db", create=True) as project:
        before = project.counts()
        with pytest.raises(CoderError, match=r"1 coding\(s\) would be lost") as e:
            project.import_refi(path, splitter=lambda: blank_splitter)
        assert f"source 'gappy' characters {gap}–{gap + 2}" in str(e.value) and "nothing was imported" in str(e.value)
        assert project.counts() == before


def test_a_real_interview_keeps_its_structure_when_only_a_question_is_coded(tmp_path, blank_splitter):
    text = "Interviewer: How do you cope with the nights?\nP1: I pray. My sister calls.\n"
    src, files = _source("Interview 2", GUIDS[5], text, [(GUIDS[6], "How do you cope with the nights?", GUIDS[0])])
    path = qdpx(tmp_path / "q.qdpx", project_xml(src), files)
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        coded = [s.text for s in coded_sentences(project, "Interview 2")]
    assert (r.codings_found, r.codings_kept, r.on_context) == (1, 1, 1)
    assert coded == ["I pray.", "My sister calls."]  # the question is still the interviewer's
    assert not any("line by line" in w for w in r.warnings)


def test_a_source_whose_codings_mostly_fall_on_interviewer_speech_is_read_line_by_line(tmp_path, blank_splitter):
    comments = [f"Comment number {i} says the ward was cold at night." for i in range(12)]
    text = "".join(f"Q: {c}\n" for c in comments) + "A: noted\n"  # 'Q:' read as the interviewer's label
    sels = "".join(
        f'<PlainTextSelection guid="{i:08X}-1111-4000-8000-000000000000" startPosition="{text.index(c)}" '
        f'endPosition="{text.index(c) + len(c)}"><Coding guid="{i:08X}-2222-4000-8000-000000000000" '
        f'creatingUser="{GUIDS[3]}" creationDateTime="2025-03-01T10:00:00Z"><CodeRef targetGUID="{GUIDS[2]}"/>'
        "</Coding></PlainTextSelection>"
        for i, c in enumerate(comments)
    )
    src = f'<TextSource guid="{GUIDS[5]}" name="table" plainTextPath="internal://{GUIDS[5]}.txt">{sels}</TextSource>'
    path = qdpx(tmp_path / "t.qdpx", project_xml(src), {f"{GUIDS[5]}.txt": text.encode("utf-8")})
    with Project(tmp_path / "p.db", create=True) as project:
        r = project.import_refi(path, splitter=lambda: blank_splitter)
        coded = {s.text for s in coded_sentences(project, "table")}
    assert (r.codings_found, r.codings_kept, r.on_context) == (12, 12, 0)
    assert all(any(c in t for t in coded) for c in comments)  # every coded comment is participant speech now
    assert any(
        "table': its speaker labels did not fit its codings (12 of 12 on interviewer speech" in w for w in r.warnings
    )


def test_agreement_says_when_imported_codings_on_interviewer_speech_are_left_out(tmp_path, blank_splitter):
    path = coded_question_qdpx(tmp_path, "Interview 3")
    with Project(tmp_path / "p.db", create=True) as project:
        project.import_refi(path, splitter=lambda: blank_splitter)
        p1 = coded_sentences(project, "Interview 3")[0]
        project.review("ben").apply_code(p1.id, "Faith > Prayer")
        result = project.agree(["Rosa", "ben"])
    assert any("Rosa has 1 coding(s) on interviewer speech" in w and "left out" in w for w in result.warnings)
    assert not any(w.startswith("ben has") for w in result.warnings)
