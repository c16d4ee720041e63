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
        "bad.yaml:3: unknown key 'colour' (allowed: codes, description, exclusive, name, references, version)",
        "bad.yaml:10: duplicate code name 'prayer' among siblings (first at line 8)",
        "bad.yaml:12: code 'Family' has no definition",
        "bad.yaml:13: empty 'name'",
        "bad.yaml:18: unknown key 'colour' (allowed: children, counterexamples, definition, examples, exclude, "
        "exclusive, formerly, guid, include, name, source)",
        "bad.yaml:17: 'examples' must be a list of texts",
        "bad.yaml:19: code name 'A > B' contains '>', which separates codes in a path",
    ]


YAML_MISTAKES = [
    # (codebook text, the line and plain words a researcher is shown)
    (
        "name: x\ncodes:\n  - name: A\n    definition: a\n   include: b\n",
        5,
        "indented differently from the lines above it; start its key in the same column as the keys of the same code",
    ),
    ("name: x\ncodes:\n  - name: A\n    definition: a\n      examples: [x]\n", 5, "indented more than the line above"),
    (
        "name: x\ncodes:\n  - name: A\n    definition: a\n - name: B\n",
        5,
        "list item ('-') is indented differently from the items above it; start it in the same column as theirs",
    ),
    ("name: x\ncodes:\n\t- name: A\n", 3, "a tab character; indent with spaces"),
    ("name: x\ncodes:\n  - name: A\n    definition: Faith: prayer\n", 4, "a second ': ' on this line; put the text"),
    ('name: x\ncodes:\n  - name: "A\n    definition: a\n', 3, "a quote opened on this line is never closed"),
    (  # the string runs on into the next lines: the parser trips two lines further down
        'name: x\ncodes:\n  - name: A\n    examples:\n      - "one\n      - "two"\n    source: b\n  - name: B\n',
        5,
        "a quote opened on this line is never closed",
    ),
    ('name: x\nversion: "1.0\ndescription: "d"\ncodes:\n  - name: A\n', 2, "a quote opened on this line is never"),
    ("name: x\ncodes: [\n", 2, "a '[' opened on this line is never closed with ']'"),
    ("name: x\ncodes:\n  - name: A\n    examples: [one, two\n    source: b\n", 4, "a '[' opened on this line"),
    ("name: x\ncodes: {a: 1\n", 2, "a '{' opened on this line is never closed with '}'"),
    ("name: x\ncodes\n  - name: A\n", 2, "this line has no ':' after its key"),
    ("name: x\ndescription: *everyone\ncodes: []\n", 2, "a value starting with '*'"),
    ('name: x\ndescription: "a \\q b"\ncodes: []\n', 2, "a backslash inside double quotes"),
    ("name: x\ndescription: `a`\ncodes: []\n", 2, "a value cannot start with '`'; put the text in quotes"),
]


def test_an_unknown_key_names_the_one_it_looks_like():
    problem, _ = validate("name: x\nversion: '1'\ncodes:\n  - name: A\n    defintion: a\n", "c.yaml")  # no definition
    assert str(problem).startswith("c.yaml:5: unknown key 'defintion' (did you mean 'definition'? allowed: children,")


@pytest.mark.parametrize(("text", "line", "words"), YAML_MISTAKES)
def test_yaml_mistakes_are_said_in_plain_words_with_their_line(text, line, words):
    [problem] = validate(text, "c.yaml")
    assert str(problem).startswith(f"c.yaml:{line}: ") and words in str(problem), str(problem)
    assert "<block" not in str(problem) and "expected" not in str(problem)  # no parser jargon


def test_bad_yaml_and_not_a_mapping():
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


# -- exclusive: true ---------------------------------------------------------------------------------------------


def test_exclusive_parsed_with_its_groups_and_kept_by_dict_and_yaml():
    from coder.codebook import code_fields, to_yaml

    book = read_codebook(DATA / "exclusive.yaml")
    by = book.by_path()
    assert by["Client talk"].exclusive and not by["Support"].exclusive
    assert not by["Client talk > Change talk"].exclusive  # not inherited by the children
    assert book.exclusive_groups() == [
        ("Client talk", ("Client talk > Change talk", "Client talk > Sustain talk", "Client talk > Neutral"))
    ]
    assert read_codebook(DATA / "mini.yaml").exclusive_groups() == []
    assert code_fields(by["Client talk"])["exclusive"] is True and code_fields(by["Support"])["exclusive"] is False
    d = to_dict(book)
    assert d["codes"][0]["exclusive"] is True and "exclusive" not in d["codes"][1]
    back = parse_codebook(to_yaml(book))
    assert back.hash == book.hash and back.exclusive_groups() == book.exclusive_groups()


def test_exclusive_accepts_yaml_booleans():
    head = "name: x\nversion: 1\ncodes:\n  - name: A\n    definition: a\n    exclusive: {}\n"
    kids = "    children:\n      - name: B\n        definition: b\n      - name: C\n        definition: c\n"
    for value, want in (("true", True), ("True", True), ("yes", True), ("false", False), ("no", False)):
        assert parse_codebook(head.format(value) + kids).codes[0].exclusive is want, value
    assert not parse_codebook(head.replace("    exclusive: {}\n", "") + kids).codes[0].exclusive


def test_exclusive_problems_reported_with_lines():
    text = """name: x
version: "1"
codes:
  - name: Talk
    definition: Client talk.
    exclusive: true
    children:
      - name: Change
        definition: For change.
        exclusive: "yes"
      - name: Sustain
        definition: Against change.
        exclusive: yes
        children:
          - name: Only
            definition: The one child.
  - name: Leaf
    definition: No children.
    exclusive: true
  - name: List
    definition: A list.
    exclusive: [true]
  - name: Empty
    definition: No value.
    exclusive:
  - name: Number
    definition: A number.
    exclusive: 1
    children: []
"""
    assert [str(p) for p in validate(text, "x.yaml")] == [
        "x.yaml:10: 'exclusive' must be true or false (not 'yes')",
        "x.yaml:13: code 'Sustain' is exclusive but has only one subcode; "
        "'exclusive: true' needs at least two children to choose between",
        "x.yaml:19: code 'Leaf' is exclusive but has no subcodes; "
        "'exclusive: true' needs at least two children to choose between",
        "x.yaml:22: 'exclusive' must be true or false",
        "x.yaml:25: 'exclusive' must be true or false",
        "x.yaml:28: 'exclusive' must be true or false (not '1')",
    ]


def test_codebook_validate_cli_reports_exclusive_problems(tmp_path):
    from click.testing import CliRunner

    from coder.cli import main

    bad = write(tmp_path / "b.yaml", "name: x\nversion: 1\ncodes:\n  - name: A\n    definition: a\n    exclusive: on\n")
    r = CliRunner().invoke(main, ["codebook", "validate", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}:6: code 'A' is exclusive but has no subcodes;" in r.output
    ok = CliRunner().invoke(main, ["codebook", "validate", str(DATA / "exclusive.yaml")])
    assert ok.exit_code == 0 and "9 codes" in ok.output
    shown = CliRunner().invoke(main, ["codebook", "show", "--file", str(DATA / "exclusive.yaml")]).output
    assert "  Client talk  (exclusive: one subcode per unit)\n    Change talk\n" in shown
    assert "  Support\n" in shown


def test_hash_covers_exclusive_and_is_unchanged_without_it():
    text = (DATA / "exclusive.yaml").read_text()
    on = parse_codebook(text)
    off = parse_codebook(text.replace("    exclusive: true\n", ""))
    explicit_off = parse_codebook(text.replace("exclusive: true", "exclusive: false"))
    assert on.hash != off.hash == explicit_off.hash
    # a codebook that never says 'exclusive' keeps the hash it had before the key existed
    assert read_codebook(DATA / "mini.yaml").hash == "bbd2cc811268619b"


def test_exclusive_codebook_key_is_validated_hashed_and_written_back():
    from coder.codebook import to_dict, to_yaml

    head = 'name: t\nversion: "1"\nexclusive: {}\ncodes:\n'
    two = "  - {name: A, definition: a.}\n  - {name: B, definition: b.}\n"
    book = parse_codebook(head.format("true") + two)
    assert book.exclusive and not book.codes[0].exclusive
    again = parse_codebook(to_yaml(book))  # written back and read again: the same codebook (lines aside)
    assert again.exclusive and again.hash == book.hash
    assert to_dict(book)["exclusive"] is True
    plain = parse_codebook(head.replace("exclusive: {}\n", "") + two)
    assert not plain.exclusive and "exclusive" not in to_yaml(plain) and "exclusive" not in to_dict(plain)
    assert parse_codebook(head.format("false") + two).hash == plain.hash != book.hash  # hashed only when used
    problems = validate(head.format("true") + "  - {name: A, definition: a.}\n", source="one.yaml")
    assert [str(p) for p in problems] == [
        "one.yaml:3: the codebook is exclusive but has only one top-level code; "
        "'exclusive: true' needs at least two codes to choose between"
    ]
    assert [str(p) for p in validate(head.format("maybe") + two, source="m.yaml")] == [
        "m.yaml:3: 'exclusive' must be true or false (not 'maybe')"
    ]


# -- formerly: codebook evolution ------------------------------------------------------------------------------

EVOLVED = """name: t
version: "2"
codes:
  - name: Faith
    definition: f.
    formerly: Spirituality
    children:
      - name: Praying
        definition: p.
        formerly: [Prayer, Old > Meditation]
  - name: Kin
    definition: k.
    formerly: [Family, Relatives]
"""


def test_formerly_is_read_as_full_old_paths_and_written_back():
    from coder.codebook import to_dict, to_yaml

    book = parse_codebook(EVOLVED)
    by = book.by_path()
    assert by["Faith"].formerly == ("Spirituality",)
    assert by["Faith > Praying"].formerly == ("Faith > Prayer", "Old > Meditation")  # a bare name: same parent
    assert by["Kin"].formerly == ("Family", "Relatives")
    again = parse_codebook(to_yaml(book))
    assert again.hash == book.hash and [c.formerly for c in again.codes] == [c.formerly for c in book.codes]
    assert "formerly:\n    - Prayer\n    - Old > Meditation\n" in to_yaml(book)
    assert to_dict(book)["codes"][1]["formerly"] == ["Family", "Relatives"]
    assert parse_codebook(EVOLVED.replace("Old > Meditation", "Old>Meditation")).hash == book.hash
    # under a subcode, an old top-level code is written '> Name' (a bare name would mean a sibling)
    top = parse_codebook(EVOLVED.replace("[Prayer, Old > Meditation]", "['> Prayer']"))
    assert top.by_path()["Faith > Praying"].formerly == ("Prayer",)
    assert "formerly:\n    - '> Prayer'\n" in to_yaml(top) and parse_codebook(to_yaml(top)).hash == top.hash


def test_formerly_is_hashed_only_when_used():
    plain = parse_codebook('name: t\nversion: "1"\ncodes:\n  - {name: A, definition: a.}\n')
    empty = parse_codebook('name: t\nversion: "1"\ncodes:\n  - {name: A, definition: a., formerly: []}\n')
    used = parse_codebook('name: t\nversion: "1"\ncodes:\n  - {name: A, definition: a., formerly: B}\n')
    assert plain.hash == empty.hash != used.hash
    assert read_codebook(DATA / "mini.yaml").hash == "bbd2cc811268619b"  # codebooks without the key keep theirs


def test_formerly_problems_name_both_codes_and_lines():
    text = """name: t
version: "1"
codes:
  - name: A
    definition: a.
    formerly: [X, ""]
  - name: B
    definition: b.
    formerly: X
  - name: C
    definition: c.
    formerly: [A, Q > ]
  - name: D
    definition: d.
    formerly:
  - name: E
    definition: e.
    formerly: [Z, Z]
"""
    assert [str(p) for p in validate(text, source="f.yaml")] == [
        "f.yaml:6: empty entry in 'formerly'; write the code's old name (or old path 'Parent > Name'), or remove it",
        "f.yaml:12: 'formerly' entry 'Q >' has an empty name in its path",
        "f.yaml:15: empty entry in 'formerly'; write the code's old name (or old path 'Parent > Name'), or remove it",
        "f.yaml:9: two codes claim the old path 'X': 'A' (line 6) and 'B' (line 9); keep it under one code "
        "(to split a code, give it to neither and recode its codings)",
        "f.yaml:12: 'formerly' of 'C' names 'A', which is still a code in this codebook (line 4); "
        "remove it from 'formerly', or remove or rename that code",
        "f.yaml:18: 'formerly' of 'E' lists 'Z' twice; keep one",
    ]


def test_moves_follow_renamed_parents_and_leave_orphans():
    from coder.codebook_evolution import moves

    book = parse_codebook(EVOLVED)
    assert moves(book, ["Spirituality", "Spirituality > Prayer", "Old > Meditation", "Family", "Gone", "Kin"]) == {
        "Spirituality": "Faith",
        "Spirituality > Prayer": "Faith > Praying",  # the parent's rename, then the child's
        "Old > Meditation": "Faith > Praying",
        "Family": "Kin",
    }
    assert moves(book, ["Spirituality > Unknown"]) == {}  # would land on no code: not moved, orphaned


def test_diff_lists_added_renamed_merged_dropped_and_changed():
    from coder.codebook_evolution import diff

    old = parse_codebook(
        """name: t
version: "1"
codes:
  - name: Spirituality
    definition: f.
    children:
      - {name: Prayer, definition: p.}
  - {name: Family, definition: k.}
  - {name: Relatives, definition: r.}
  - {name: School, definition: s.}
"""
    )
    d = diff(old, parse_codebook(EVOLVED + "  - {name: Work, definition: w.}\n"), also=["Gone"])
    assert d.added == ("Work",)
    assert d.renamed == (("Spirituality", "Faith"), ("Spirituality > Prayer", "Faith > Praying"))
    assert d.merged == ((("Family", "Relatives"), "Kin"),)
    assert d.dropped == ("School", "Gone")
    assert d.changed == ()
    assert d.moved() == {
        "Spirituality": "Faith",
        "Spirituality > Prayer": "Faith > Praying",
        "Family": "Kin",
        "Relatives": "Kin",
    }
    edited = diff(old, parse_codebook(EVOLVED.replace("definition: p.", "definition: praying.")))
    assert edited.changed == (("Faith > Praying", ("definition",)),)
    assert diff(old, old) == diff(old, old, also=()) and diff(old, old).added == ()
