"""REFI-QDA XML, pure: the Description layout, codebooks, namespaces, schema checks, hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from coder import refi
from coder.codebook import read_codebook
from coder.errors import InputError
from coder.types import Code

from .conftest import REPO

SHARED = REPO.parent / "shared" / "refi"


def code(**kw):
    return Code(path="x", name="x", definition=kw.pop("definition", "A definition."), **kw)


@pytest.mark.parametrize(
    "c",
    [
        code(),
        code(definition="Two\nlines", include="Use it.\nAlso here.", exclude="Not for food."),
        code(definition="Include: this is still the definition\n- not a list\n\\ backslash", source="Holt (2015)"),
        code(definition="", include="only include"),
        code(examples=("one", "two\nlines", "- dash"), counterexamples=("no",), source="S\nT"),
        code(definition="  indented first line", examples=("Examples:",)),
    ],
)
def test_description_layout_round_trips(c):
    text = refi.describe(c)
    back = refi.parse_description(text)
    assert back == {
        "definition": c.definition,
        "include": c.include,
        "exclude": c.exclude,
        "examples": list(c.examples),
        "counterexamples": list(c.counterexamples),
        "source": c.source,
    }


def test_description_layout_is_readable_and_lossless_on_the_shipped_codebook():
    book = read_codebook(REPO / "codebooks" / "resilience.yaml")
    for c in book.codes:
        back = refi.parse_description(refi.describe(c))
        assert back["definition"] == c.definition and back["examples"] == list(c.examples), c.path
        assert (back["include"], back["exclude"], back["source"]) == (c.include, c.exclude, c.source)
    sample = refi.describe(book.codes[1])
    assert sample.startswith(book.codes[1].definition) and "\nInclude: " in sample and "\nExamples:\n- " in sample
    # a description from another tool that does not follow the layout is kept whole as the definition
    assert (
        refi.parse_description("Good code.\nInclude: x\nrandom words")["definition"]
        == "Good code.\nInclude: x\nrandom words"
    )


def test_qdc_validates_reads_back_and_keeps_guids():
    book = read_codebook(REPO / "codebooks" / "resilience.yaml")
    data = refi.codebook_xml(book)
    assert data == refi.codebook_xml(book)  # same GUIDs on every export
    root = refi.parse_xml(data, "x.qdc")
    refi.validate_codebook(root, "x.qdc")
    codes, origin = refi.read_qdc(data, "x.qdc")
    assert refi.codebook_name(origin) == (book.name, book.version, False)
    flat = []

    def walk(cs, parent=None):
        for c in cs:
            path = c.name if parent is None else f"{parent} > {c.name}"
            flat.append((path, c.guid, c.fields["definition"]))
            walk(c.children, path)

    walk(codes)
    assert [p for p, _, _ in flat] == [c.path for c in book.codes]
    assert [g for _, g, _ in flat] == [refi.code_guid(c) for c in book.codes]
    assert len({g for _, g, _ in flat}) == len(book.codes)


ATLAS_LIKE = b"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:QDA-XML:codebook:0:4 Codebook.xsd"
  origin="Some tool" xmlns="urn:QDA-XML:codebook:1:0">
  <Codes>
    <Code guid="{1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294}" name="hope" color="#46AA00" isCodable="true">
      <Description>Hope for the future.</Description>
      <Code guid="2FF58B12-6F6F-4B0C-8BE5-BBDC91F55294" name="plans" isCodable="true"/>
    </Code>
  </Codes>
  <Sets><Set name="group" guid="ECA18D76-2B8B-4F26-BC1D-19ECA19FB3F0">
    <MemberCode guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294"/></Set></Sets>
</CodeBook>"""


def test_real_world_codebook_variations():
    codes, origin = refi.read_qdc(ATLAS_LIKE, "a.qdc")  # ':1:0' namespace, schemaLocation 0:4, braces, Sets
    assert origin == "Some tool"
    assert [(c.name, c.guid, c.fields["definition"]) for c in codes] == [
        ("hope", "1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294", "Hope for the future.")
    ]
    assert codes[0].children[0].name == "plans" and codes[0].children[0].fields["definition"] == ""
    bare = (
        b'<CodeBook><Codes><Code guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="people" isCodable="true"/>'
        b"</Codes></CodeBook>"
    )
    assert refi.read_qdc(bare, "b.qdc")[0][0].name == "people"  # no namespace at all


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/refi is not next to this checkout")
def test_shared_real_codebooks_read():
    for f in sorted(SHARED.glob("*.qdc")):
        codes, _ = refi.read_qdc(f.read_bytes(), str(f))
        assert codes, f


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (
            b"<CodeBook><Codes><Code name='x' isCodable='true'/></Codes></CodeBook>",
            "does not follow the REFI-QDA schema",
            1,
        ),
        (b"<CodeBook>\n<Codes>\n<Code guid='nope' name='x' isCodable='true'/></Codes></CodeBook>", "schema", 3),
        (b"<CodeBook><Codes></CodeBook>", "not well-formed XML", 1),
        (b"<Project name='p'/>", "the root element is <Project>, not <CodeBook>", 1),
        (b"<CodeBook/>", "no <Codes> in the codebook", None),
    ],
)
def test_bad_codebooks_are_one_line_errors(data, message, line):
    with pytest.raises(InputError) as e:
        refi.read_qdc(data, "bad.qdc")
    assert message in str(e.value) and e.value.line == line and "\n" not in str(e.value)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CodeBook><Codes>
<Code guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="&lol3;" isCodable="true"/></Codes></CodeBook>"""


def test_entities_and_doctypes_are_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<CodeBook><Codes><Code guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="&x;" isCodable="true"/>'
        "</Codes></CodeBook>"
    ).encode()
    for data in (BOMB, xxe):
        with pytest.raises(InputError, match="declares a DOCTYPE"):
            refi.read_qdc(data, "evil.qdc")
    # and the parser itself never expands one, even where a DOCTYPE got through
    in_text = xxe.replace(
        b'name="&x;" isCodable="true"/>', b'name="x" isCodable="true"><Description>&x;</Description></Code>'
    )
    root = etree.fromstring(in_text, refi._parser())
    assert "TOP SECRET" not in etree.tostring(root).decode()


def test_project_namespace_spellings_validate():
    for ns in ("urn:QDA-XML:project:1.0", "urn:QDA-XML:project:1:0", None):
        xmlns = f' xmlns="{ns}"' if ns else ""
        root = refi.parse_xml(
            f'<Project{xmlns} name="p"><Users><User guid="0D62985D-B147-5D01-A9B5-CAE5DCD98342" name="a"/>'
            "</Users></Project>".encode(),
            "p.qde",
        )
        refi.validate_project(root, "p.qde")
        assert root.tag == f"{{{refi.PROJECT_NS}}}Project"


def test_guids_are_stable_and_valid():
    g = refi.guid("code", "A > B")
    assert g == refi.guid("code", "A > B") != refi.guid("code", "A > C")
    assert g == g.upper() and len(g) == 36
    assert Path(refi.SCHEMA).exists()


# -- exclusive: true ---------------------------------------------------------------------------------------------


def test_description_layout_carries_exclusive():
    c = code(definition="Client talk.\nExclusive: in a definition line", examples=("one",), exclusive=True)
    text = refi.describe(c)
    assert text.endswith("\nExamples:\n- one\nExclusive: yes (exactly one subcode applies per unit)")
    assert "\n\\Exclusive: in a definition line\n" in text  # a definition line that reads as the heading
    assert refi.parse_description(text) == {
        "definition": c.definition,
        "include": "",
        "exclude": "",
        "examples": ["one"],
        "counterexamples": [],
        "source": "",
        "exclusive": True,
    }
    assert refi.parse_description(refi.describe(code(exclusive=True))) == {
        **refi.parse_description("A definition."),
        "exclusive": True,
    }
    assert "Exclusive" not in refi.describe(code()) and "exclusive" not in refi.parse_description(refi.describe(code()))
    # another tool's text that merely starts a line with the word stays the definition
    other = "Pick one.\nExclusive: maybe, ask the team"
    assert refi.parse_description(other) == {**refi.parse_description(""), "definition": other}


def test_qdc_round_trip_keeps_exclusive():
    book = read_codebook(REPO / "tests" / "data" / "exclusive.yaml")
    data = refi.codebook_xml(book)  # validated against the schema as it is written
    codes, _ = refi.read_qdc(data, "talk.qdc")
    flat = {}

    def walk(cs, parent=None):
        for c in cs:
            path = c.name if parent is None else f"{parent} > {c.name}"
            flat[path] = c.fields
            walk(c.children, path)

    walk(codes)
    assert list(flat) == [c.path for c in book.codes]
    assert {p for p, f in flat.items() if f.get("exclusive")} == {"Client talk"}
    for c in book.codes:
        assert flat[c.path]["definition"] == c.definition and flat[c.path]["examples"] == list(c.examples)


def test_qdc_project_round_trip_keeps_exclusive(tmp_path):
    from coder.app import Project

    with Project(tmp_path / "a.db", create=True) as a:
        a.load_codebook(REPO / "tests" / "data" / "exclusive.yaml")
        qdc = tmp_path / "talk.qdc"
        qdc.write_bytes(a.export_qdc())
        before = a.codebook()
    with Project(tmp_path / "b.db", create=True) as b:
        b.import_refi(qdc)
        after = b.codebook()
    assert after.exclusive_groups() == before.exclusive_groups() != []
    assert after.hash == before.hash  # GUIDs, added on export, are not part of the hash


def through_a_qdc(tmp_path, yaml_text: str):
    """(codebook loaded from ``yaml_text``, the same after a .qdc export and an import into a new project, the .qdc)."""
    from coder.app import Project

    src = tmp_path / "book.yaml"
    src.write_text(yaml_text, encoding="utf-8")
    qdc = tmp_path / "book.qdc"
    with Project(tmp_path / "a.db", create=True) as a:
        a.load_codebook(src)
        before = a.codebook()
        qdc.write_bytes(a.export_qdc())
    with Project(tmp_path / "b.db", create=True) as b:
        b.import_refi(qdc)
        return before, b.codebook(), qdc


def test_qdc_project_round_trip_keeps_an_exclusive_codebook(tmp_path):
    before, after, qdc = through_a_qdc(
        tmp_path,
        'name: whole\nversion: "1"\nexclusive: true\ncodes:\n'
        "  - {name: Change, definition: For change.}\n  - {name: Sustain, definition: Against.}\n",
    )
    assert refi.codebook_name(refi.read_qdc(qdc.read_bytes(), "whole.qdc")[1]) == ("whole", "1", True)
    assert after.exclusive and after.exclusive_groups() == before.exclusive_groups() == [(None, ("Change", "Sustain"))]
    assert after.hash == before.hash


# -- formerly ---------------------------------------------------------------------------------------------------


def test_description_layout_carries_formerly():
    c = code(definition="Kin.\nFormerly: a definition line", formerly=("Family", "Old > Relatives"), exclusive=True)
    text = refi.describe(c)
    assert text.endswith("\nFormerly: Family; Old > Relatives")
    assert "\n\\Formerly: a definition line" in text  # a definition line that reads as the heading
    back = refi.parse_description(text)
    assert back["formerly"] == ["Family", "Old > Relatives"] and back["definition"] == c.definition
    assert back["exclusive"] is True
    assert "Formerly" not in refi.describe(code()) and "formerly" not in refi.parse_description(refi.describe(code()))
    child = Code(path="P > x", name="x", definition="d.", parent="P", formerly=("Top", "P > Old"))
    assert refi.parse_description(refi.describe(child))["formerly"] == ["> Top", "Old"]  # as the YAML writes them


def test_qdc_keeps_formerly_in_the_description():
    from coder.codebook import parse_codebook

    book = parse_codebook(
        'name: t\nversion: "2"\ncodes:\n  - name: Kin\n    definition: k.\n    formerly: [Family, Relatives]\n'
    )
    codes, _ = refi.read_qdc(refi.codebook_xml(book), "t.qdc")
    assert codes[0].fields["formerly"] == ["Family", "Relatives"]


def test_qdc_project_round_trip_keeps_formerly(tmp_path):
    before, after, _ = through_a_qdc(
        tmp_path,
        'name: r\nversion: "2"\ncodes:\n  - name: Kin\n    definition: Family.\n    formerly: [Family, Relatives]\n'
        "  - {name: Work, definition: Jobs.}\n",
    )
    assert after.by_path()["Kin"].formerly == before.by_path()["Kin"].formerly == ("Family", "Relatives")
    assert after.hash == before.hash
