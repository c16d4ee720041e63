from __future__ import annotations

import pytest

from coder.codebook import parse_codebook, read_codebook, to_dict, validate
from coder.errors import CodebookError, InputError

from .conftest import DATA, write


def test_mini_codebook_tree():
    book = read_codebook(DATA / "mini.yaml")
    assert book.name == "mini" and book.version == "0.1"
    paths = [c.path for c in book.codes]
    assert paths[:3] == [
        "Spirituality / faith",
        "Spirituality / faith > Reading scripture",
        "Spirituality / faith > Prayer and personal spiritual practices",
    ]
    scripture = book.by_path()[paths[1]]
    assert scripture.parent == "Spirituality / faith" and scripture.depth == 1 and scripture.line == 16
    assert [c.name for c in book.leaves()] == [
        "Reading scripture",
        "Prayer and personal spiritual practices",
        "Familial relationships",
        "Education and educational goals",
    ]
    assert to_dict(book)["codes"][0]["children"][0]["name"] == "Reading scripture"


def test_hash_changes_with_content_not_formatting():
    text = (DATA / "mini.yaml").read_text()
    a = parse_codebook(text)
    b = parse_codebook("# a comment\n" + text)
    c = parse_codebook(text.replace("Reading the Bible", "Reading the Bible or Quran"))
    assert a.hash == b.hash != c.hash


BAD = """name: bad
version: "1"
colour: blue
codes:
  - name: Faith
    definition: Faith.
    children:
      - name: Prayer
        definition: Praying.
      - name: prayer
        definition: Duplicate.
  - name: Family
  - name: ""
    definition: Empty name.
  - name: Hope
    definition: Hope.
    examples: "not a list"
    colour: red
  - name: A > B
    definition: Bad char.
"""


def test_every_problem_reported_with_lines():
    problems = validate(BAD, source="bad.yaml")
    assert [str(p) for p in problems] == [
        "bad.yaml:3: unknown key 'colour' (allowed: codes, description, name, references, version)",
        "bad.yaml:10: duplicate code name 'prayer' among siblings (first at line 8)",
        "bad.yaml:12: code 'Family' has no definition",
        "bad.yaml:13: empty 'name'",
        "bad.yaml:18: unknown key 'colour' (allowed: children, counterexamples, definition, examples, exclude, "
        "guid, include, name, source)",
        "bad.yaml:17: 'examples' must be a list of texts",
        "bad.yaml:19: code name 'A > B' contains '>', which separates codes in a path",
    ]


def test_bad_yaml_and_not_a_mapping():
    assert str(validate("name: x\ncodes: [\n", "c.yaml")[0]).startswith("c.yaml:3: bad YAML")
    assert str(validate("- a\n- b\n", "c.yaml")[0]) == (
        "c.yaml:1: a codebook is a YAML mapping with 'name', 'version' and 'codes'"
    )
    assert [str(p) for p in validate("name: x\nversion: 1\n", "c.yaml")] == ["c.yaml:1: missing 'codes' list"]


def test_cycles_via_alias_and_repeated_ancestor():
    cyc = "name: x\nversion: 1\ncodes: &top\n  - name: A\n    definition: a\n    children: *top\n"
    assert "contains itself" in str(validate(cyc)[0])
    rep = (
        "name: x\nversion: 1\ncodes:\n  - name: A\n    definition: a\n    children:\n"
        "      - name: A\n        definition: b\n"
    )
    assert "repeats an ancestor's name" in str(validate(rep)[0])


def test_duplicate_keys_reported():
    dup = "name: x\nversion: 1\ncodes:\n  - name: A\n    definition: a\n    definition: b\n"
    assert str(validate(dup, "d.yaml")[0]) == "d.yaml:6: duplicate key 'definition'"


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match="codebook file not found"):
        read_codebook(tmp_path / "none.yaml")
    p = write(tmp_path / "b.yaml", BAD)
    with pytest.raises(CodebookError) as e:
        read_codebook(p)
    assert str(e.value).startswith(f"{p}:3: unknown key 'colour'")
    assert "(and 6 more problems)" in str(e.value)
