"""The pseudonymisation key: checking a researcher's edits, applying it exactly, adding rows."""

from __future__ import annotations

import pytest

from coder.pseudonym_key import Key, KeyEntry, KeyProblems, format_key, parse_key
from coder.pseudonym_names import FEMALE_FIRST, MALE_FIRST


def key_of(*rows: tuple[str, str, str]) -> Key:
    return Key(KeyEntry(o, p, t) for o, p, t in rows)


def csv_text(*rows: str) -> str:
    return "original,pseudonym,type,found\n" + "\n".join(rows) + "\n"


def test_a_good_key_reads_with_its_rows_and_own_columns_kept():
    text = "original,pseudonym,type,found,notes\nKaren,[Person 1],person,a.txt:3,caseworker\nKaz,[Person 1],person,,\n"
    key = parse_key(text, "key.csv")
    assert [(e.original, e.pseudonym, e.type, e.row) for e in key.entries] == [
        ("Karen", "[Person 1]", "person", 2),
        ("Kaz", "[Person 1]", "person", 3),
    ]
    assert format_key(key) == text  # the researcher's column and her rows come back as they were


@pytest.mark.parametrize(
    ("rows", "row", "words"),
    [
        (("Karen,[Person 1],person,", "Karen,[Person 2],person,"), 3, "already on row 2"),
        (("Karen,,person,",), 2, "empty pseudonym"),
        ((",[Person 1],person,",), 2, "empty original"),
        (("Karen,[Person 1],human,",), 2, "unknown type 'human'"),
        (("Karen,X,person,", "Leeds,X,place,"), 3, "stands for 'Leeds' (place) and for 'Karen' (person, row 2)"),
    ],
)
def test_a_key_that_cannot_be_applied_exactly_is_refused_with_the_row(rows, row, words):
    with pytest.raises(KeyProblems) as e:
        parse_key(csv_text(*rows), "key.csv")
    assert e.value.problems[0].line == row
    assert words in e.value.problems[0].message
    assert f"key.csv: row {row}: " in e.value.details()


def test_every_bad_row_is_listed_not_just_the_first():
    with pytest.raises(KeyProblems) as e:
        parse_key(csv_text("Karen,,person,", "Leeds,[Place 1],town,", "Amara,[Person 2],person,"), "k.csv")
    assert [p.line for p in e.value.problems] == [2, 3]
    assert "nothing was written" in e.value.headline()


def test_a_key_without_its_columns_is_refused_on_row_1():
    with pytest.raises(Exception, match=r"k.csv: row 1: no column 'pseudonym', 'type'"):
        parse_key("original,replacement\nKaren,X\n", "k.csv")


def test_one_pseudonym_for_spelling_variants_of_one_type_is_allowed():
    key = parse_key(csv_text("Karen,[Person 1],person,", "Karin,[Person 1],person,"), "k.csv")
    assert key.apply("Karin and Karen") == "[Person 1] and [Person 1]"


def test_semicolon_keys_as_excel_saves_them_read_too():
    key = parse_key("original;pseudonym;type;found\nKaren;[Person 1];person;\n", "k.csv")
    assert key.apply("Karen said") == "[Person 1] said"


def test_apply_replaces_the_longest_original_first_at_word_boundaries():
    key = key_of(
        ("Karen Whitfield", "[Person 1]", "person"),
        ("Karen", "[Person 1]", "person"),
        ("Whitfield", "[Person 1]", "person"),
        ("Leeds", "[Place 1]", "place"),
    )
    counts: dict[str, int] = {}
    out = key.apply("Karen Whitfield met Ms. Whitfield; Karen's flat in Leeds. Karenina, Leedsy, KAREN.", counts)
    assert out == "[Person 1] met Ms. [Person 1]; [Person 1]'s flat in [Place 1]. Karenina, Leedsy, [Person 1]."
    assert counts == {"Karen Whitfield": 1, "Whitfield": 1, "Karen": 2, "Leeds": 1}


def test_apply_matches_names_across_runs_of_spaces_and_emails_in_any_case():
    key = key_of(("Karen Whitfield", "[Person 1]", "person"), ("kw@mail.org", "[Email 1]", "email"))
    assert key.apply("Karen  Whitfield wrote from KW@Mail.org.") == "[Person 1] wrote from [Email 1]."


def test_apply_leaves_a_name_inside_an_email_or_handle_to_their_own_rows():
    key = key_of(("Karen", "[Person 1]", "person"))
    assert key.apply("karen@x.org @Karen Karen.") == "karen@x.org @Karen [Person 1]."


def test_spans_are_what_apply_replaces():
    key = key_of(("Leeds", "[Place 1]", "place"))
    assert key.spans("to Leeds, Leeds") == [(3, 8, "[Place 1]"), (10, 15, "[Place 1]")]


def test_tags_number_on_from_the_key_per_type():
    key = key_of(("Karen", "[Person 4]", "person"), ("Leeds", "[Place 1]", "place"))
    assert key.add("Amara", "person", "a.txt:2").pseudonym == "[Person 5]"
    assert key.add("Hull", "place", "a.txt:3").pseudonym == "[Place 2]"
    assert key.add("07700 900123", "phone", "").pseudonym == "[Phone 1]"


def test_a_first_name_and_surname_share_their_full_names_pseudonym():
    key = Key()
    full = key.add("Karen Whitfield", "person", "", style="name")
    first = key.add("Karen", "person", "", style="name", same_as="Karen Whitfield")
    last = key.add("Whitfield", "person", "", style="name", same_as="Karen Whitfield")
    fake_first, fake_last = full.pseudonym.split()
    assert (first.pseudonym, last.pseudonym) == (fake_first, fake_last)
    assert key.add("Karen Whitfield-Jones", "person", "", style="tag").pseudonym == "[Person 1]"


def test_substitute_names_never_reuse_an_original_or_another_pseudonym():
    key = Key()
    originals = ["Maria Lopez", "Joanne Harper", "Leanne Bennett", "Tanya Collins", "Dave", "Mike"]
    for name in originals:
        key.add(name, "person", "", style="name")
    fakes = [e.pseudonym for e in key.entries]
    assert len(set(fakes)) == len(fakes)
    words = {w for o in originals for w in o.split()}
    assert not words & {w for f in fakes for w in f.split()}
    assert fakes[4] in MALE_FIRST and fakes[5] in MALE_FIRST  # a man's name for Dave and Mike
    assert fakes[0].split()[0] in FEMALE_FIRST


def test_the_same_key_gives_the_same_substitutes():
    def build() -> list[str]:
        key = Key()
        for name, kind in (("Karen Whitfield", "person"), ("Leeds", "place"), ("Safe Harbour", "organisation")):
            key.add(name, kind, "", style="name")
        key.add("07700 900123", "phone", "", style="name")
        return [e.pseudonym for e in key.entries]

    assert build() == build()
    assert build()[3].startswith("555-01")


def test_covers_says_whether_the_key_leaves_nothing_of_a_text():
    key = key_of(("Carver Street", "[Place 1]", "place"), ("Leeds", "[Place 2]", "place"))
    assert key.covers("Leeds")
    assert key.covers("Carver Street, Leeds")
    assert not key.covers("14 Carver Street")


def test_an_original_with_commas_in_quotes_reads_whole():
    key = parse_key(
        'original,pseudonym,type,found\n"Flat 3, 22 Mill Road",[Address 1],address,"a.txt:4, b.txt:9"\n', "k"
    )
    assert [(e.original, e.found) for e in key.entries] == [("Flat 3, 22 Mill Road", "a.txt:4, b.txt:9")]
    assert format_key(key).splitlines()[1] == '"Flat 3, 22 Mill Road",[Address 1],address,"a.txt:4, b.txt:9"'


def test_unnamed_columns_a_bom_and_excels_semicolons_come_back_as_they_were():
    text = "\ufefforiginal;pseudonym;type;found;\nKaren;[Person 1];person;;my note;second note\n"
    key = parse_key(text, "k.csv")
    assert format_key(key) == "\ufefforiginal;pseudonym;type;found;;\nKaren;[Person 1];person;;my note;second note\n"


def test_an_original_typed_with_two_spaces_is_the_name_with_one():
    key = parse_key("original,pseudonym,type,found\nKaren  Whitfield,[Person 1],person,\n", "k.csv")
    assert key.apply("Karen Whitfield and Karen\u00a0Whitfield") == "[Person 1] and [Person 1]"


def test_a_number_in_the_key_is_never_replaced_inside_a_time_or_a_longer_number():
    key = key_of(("24", "[Handle 1]", "handle"), ("100", "[Phone 1]", "phone"))
    assert (
        key.apply("[00:24:10] at 24/7, 1000 or 100.5; 24 and 100")
        == "[00:24:10] at 24/7, 1000 or 100.5; [Handle 1] and [Phone 1]"
    )
