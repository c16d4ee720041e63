"""Finding identifiers: the patterns, the clean-up of NER's entities, speaker labels, and how what is
found is added to the key (a full name brings its first name and surname with it)."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

from coder.pseudonym_key import Key, KeyEntry
from coder.pseudonymise import (
    Finding,
    Piece,
    _proper_nouns,
    clean,
    detect,
    extend_key,
    find_patterns,
    label_name,
    ordinary_words,
)


def found(text: str) -> list[tuple[str, str]]:
    return [(text[a:b], kind) for a, b, kind in find_patterns(text)]


def fake_ner(**labels: list[str]):
    """spaCy's blank English with an entity ruler: NER that finds exactly the names it is given."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": label, "pattern": p} for label, ps in labels.items() for p in ps])
    return nlp


@pytest.mark.parametrize(
    "phone",
    ["07700 900123", "+44 7700 900123", "(555) 123-4567", "555.123.4567", "555-123-4567", "0161 496 0000",
     "+1 416 555 0134", "07700900123", "020 7946 0018", "1-800-555-0166"],
)  # fmt: skip
def test_phone_numbers_in_the_usual_formats(phone):
    assert found(f"ring me on {phone}, ok?") == [(phone, "phone")]


@pytest.mark.parametrize(
    "text",
    ["at 00:01:23.5 she", "[00:12:03] Jane", "in 2019 or 2020", "between 1990 2000", "about 150 000 people",
     "#00:00:12-5#", "on 14/02/2019 we", "aged 23"],
)  # fmt: skip
def test_times_years_and_counts_are_not_phone_numbers(text):
    assert [k for _, k in found(text)] in ([], ["date_of_birth"])
    assert "phone" not in [k for _, k in found(text)]


def test_emails_handles_and_a_handle_named_after_its_platform():
    text = "mail kw.b@safe-harbour.org.uk or @kazzy_91; my snapchat is kaz.b91 and insta: kaz_b"
    assert found(text) == [
        ("kw.b@safe-harbour.org.uk", "email"),
        ("@kazzy_91", "handle"),
        ("kaz.b91", "handle"),
        ("kaz_b", "handle"),
    ]


def test_a_handle_after_ig_or_tiktok():
    assert found("my IG is kee.rises and her TikTok is j_m_2") == [("kee.rises", "handle"), ("j_m_2", "handle")]


def test_a_platform_with_no_handle_after_it_is_not_a_handle():
    assert found("I was on Instagram all day, snapchat is bad") == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("we lived at Flat 3, 22 Mill Road then", "Flat 3, 22 Mill Road"),
        ("on 1200 West Elm Avenue, by the park", "1200 West Elm Avenue"),
        ("at 14 Carver Street.", "14 Carver Street"),
        ("Apt 4B, 310 Queen St W in the city", "Apt 4B, 310 Queen St W"),
        ("postcode LS6 2QT", "LS6 2QT"),
    ],
)
def test_street_addresses_and_postcodes(text, address):
    assert found(text) == [(address, "address")]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("I was born on 3 March 1991.", "3 March 1991"),
        ("DOB 14/02/1988", "14/02/1988"),
        ("my birthday is June 5th 1990", "June 5th 1990"),
        ("she was born in March 2012", "March 2012"),
        ("date of birth: 5th of May, 1985", "5th of May, 1985"),
        ("I was born on the fifth of November, ninety-one, in Leeds", "fifth of November, ninety-one"),
        ("her date of birth is the twelfth of August, nineteen ninety-four", "twelfth of August, nineteen ninety-four"),
        ("my birthday is March the third, two thousand and one", "March the third, two thousand and one"),
        ("born on the twenty-first of June 2003", "twenty-first of June 2003"),
        ("born on the 9th of Feb '89 at home", "9th of Feb '89"),
        ("DOB 14.03.1992", "14.03.1992"),
    ],
)
def test_a_date_next_to_born_birthday_or_dob_is_a_date_of_birth(text, date):
    assert found(text) == [(date, "date_of_birth")]


def test_a_date_with_nothing_about_birth_before_it_stays():
    assert found("On 3 March 1991 we moved, and in June 2019 I left.") == []


@pytest.mark.parametrize(
    ("raw", "kind", "clean_text"),
    [
        ("the Salvation Army", "organisation", "Salvation Army"),
        ("Karen's", "person", "Karen"),
        ("Ms. Whitfield", "person", "Whitfield"),
        ("Dr Okafor", "person", "Okafor"),
        ("God", "person", None),
        ("Mum", "person", None),
        ("the police", "organisation", None),
        ("Facebook", "organisation", None),
        ("Christmas", "person", None),
        ("Person 3", "person", None),
        ("Interviewer", "person", None),
        ("karen", "person", None),
        ("Leeds.", "place", "Leeds"),
    ],
)
def test_clean_keeps_identifiers_and_drops_what_identifies_no_one(raw, kind, clean_text):
    assert clean(raw, kind) == clean_text


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Karen Whitfield", "Karen Whitfield"),
        ("Jane Smith (Interviewer)", "Jane Smith"),
        ("Amara", "Amara"),
        ("Speaker 1", None),
        ("P03", None),
        ("Interviewer", None),
        ("Participant 2", None),
        ("[Person 3]", None),
        ("Int", None),
    ],
)
def test_a_speaker_label_is_a_name_unless_it_names_a_role_or_a_number(label, name):
    assert label_name(label) == name


def test_detect_finds_labels_patterns_titles_and_entities():
    nlp = fake_ner(PERSON=["Jane Okafor", "God"], GPE=["Leeds"], ORG=["Safe Harbour"])
    pieces = [Piece("a.txt:2", "Jane Okafor of Safe Harbour in Leeds; Officer Reyes; God; 07700 900123")]
    got = {(f.text, f.type) for f in detect(pieces, nlp, [("a.txt:1", "Karen Whitfield"), ("a.txt:2", "P01")])}
    assert got == {
        ("Karen Whitfield", "person"),
        ("Jane Okafor", "person"),
        ("Safe Harbour", "organisation"),
        ("Leeds", "place"),
        ("Reyes", "person"),
        ("07700 900123", "phone"),
    }


def test_an_entity_inside_an_email_is_left_to_the_email():
    nlp = fake_ner(PERSON=["karen"], ORG=["Safe"])
    got = detect([Piece("a:1", "write to Karen.W@Safe.org")], nlp)
    assert [(f.text, f.type) for f in got] == [("Karen.W@Safe.org", "email")]


def test_a_full_name_brings_its_first_name_and_surname_with_one_pseudonym():
    key = Key()
    findings = [Finding("Karen Whitfield", "person", "a:1"), Finding("Karen", "person", "b:4")]
    added, _ = extend_key(key, findings)
    assert {e.original: e.pseudonym for e in added} == {
        "Karen Whitfield": "[Person 1]",
        "Karen": "[Person 1]",
        "Whitfield": "[Person 1]",
    }
    assert key.get("Whitfield").found == "part of Karen Whitfield"
    assert key.get("Karen").found == "b:4"


def test_a_short_name_the_texts_use_as_an_ordinary_word_is_not_put_in_the_key_alone():
    findings = [
        Finding("Hope Clinic", "organisation", "a:1"),
        Finding("Redbrook House", "organisation", "a:2"),
        Finding("Rose Miller", "person", "a:3"),
    ]
    ordinary = ordinary_words(["I hope it works out.", "Prices rose again.", "Ask at Redbrook House."])
    added, _ = extend_key(Key(), findings, ordinary=ordinary)
    # a person's first name joins even when it is also a word: a name left in a copy is the worse mistake
    assert {e.original for e in added} == {"Hope Clinic", "Redbrook House", "Redbrook", "Rose Miller", "Rose", "Miller"}
    assert "Hope" in {e.original for e in extend_key(Key(), findings)[0]}  # without that evidence, as before
    once = ordinary_words(["I hope it works.", "Ask at redbrook house."])  # one stray lower case: a typo, not a word
    assert "Redbrook" in {e.original for e in extend_key(Key(), findings, ordinary=once)[0]}


def test_a_name_ending_in_a_street_word_is_a_place_with_no_parts():
    findings = [Finding("Maple Street", "person", "a:1"), Finding("Sarah Green", "person", "a:2")]
    added, _ = extend_key(Key(), findings)
    assert {(e.original, e.type) for e in added} == {
        ("Maple Street", "place"),
        ("Sarah Green", "person"),  # a surname that is also a place word: still a person, with her parts
        ("Sarah", "person"),
        ("Green", "person"),
    }


def test_a_surname_two_people_share_is_a_person_of_its_own():
    key = Key()
    findings = [Finding(n, "person", "a:1") for n in ("Amara Okafor", "Jane Okafor", "Okafor")]
    extend_key(key, findings)
    pseudonyms = {e.original: e.pseudonym for e in key.entries}
    assert pseudonyms["Amara Okafor"] != pseudonyms["Jane Okafor"]
    assert pseudonyms["Okafor"] not in (pseudonyms["Amara Okafor"], pseudonyms["Jane Okafor"])
    assert pseudonyms["Amara"] == pseudonyms["Amara Okafor"]


def test_a_first_name_joins_a_full_name_already_in_the_key():
    key = Key([KeyEntry("Karen Whitfield", "Tanya Marsh", "person")])
    added, _ = extend_key(key, [Finding("Karen", "person", "c:9")], style="name")
    assert [(e.original, e.pseudonym, e.found) for e in added] == [
        ("Karen", "Tanya", "c:9"),
        ("Whitfield", "Marsh", "part of Karen Whitfield"),
    ]


def test_what_the_key_covers_or_the_researcher_deleted_is_not_added():
    key = Key([KeyEntry("Leeds", "[Place 1]", "place")])
    findings = [Finding("Leeds", "place", "a:1"), Finding("God", "person", "a:2"), Finding("Hull", "place", "a:3")]
    added, left = extend_key(key, findings, deleted=lambda text: text == "God")
    assert [e.original for e in added] == ["Hull"]
    assert left == ["God"]
    assert added[0].pseudonym == "[Place 2]"


def test_a_text_found_as_two_types_takes_the_type_found_more_often():
    findings = [Finding("Manchester", "person", "a:1")] + [Finding("Manchester", "place", f"a:{i}") for i in (2, 3)]
    (entry,), _ = extend_key(Key(), findings)
    assert entry.type == "place"
    assert entry.found == "a:1, a:2, a:3"


def test_found_lists_five_places_and_counts_the_rest():
    findings = [Finding("Hull", "place", f"a.txt:{i}") for i in range(1, 9)]
    (entry,), _ = extend_key(Key(), findings)
    assert entry.found == "a.txt:1, a.txt:2, a.txt:3, a.txt:4, a.txt:5 (+3 more)"


def test_proper_nouns_ner_left_out_are_offered_as_people_but_not_a_capital_opening_a_sentence():
    words = ["Good", ".", "Gwen", "Marsh", "and", "I", "met", "Jade", "at", "Christmas", ".", "Hope", "so", "."]
    tags = ["NNP", ".", "NNP", "NNP", "CC", "PRP", "VBD", "NNP", "IN", "NNP", ".", "NNP", "RB", "."]
    doc = Doc(spacy.blank("en").vocab, words=words, tags=tags)
    assert _proper_nouns(doc) == ["Gwen Marsh", "Jade"]


def test_a_number_after_a_platform_is_not_a_handle():
    assert found("I was on snapchat 24/7 and insta - 100 followers") == []


def test_a_titled_name_is_one_word_so_the_next_capital_is_not_a_surname():
    nlp = fake_ner(PERSON=["Nobody Here"])
    assert [f.text for f in detect([Piece("a:1", "I saw Ms Whitfield And she left")], nlp)] == ["Whitfield"]


def test_a_name_in_capitals_is_the_same_person_as_the_name_in_the_speech():
    findings = [Finding("KAREN WHITFIELD", "person", "a:1"), Finding("Karen Whitfield", "person", "b:3")]
    key = Key()
    extend_key(key, findings)
    assert key.get("KAREN WHITFIELD") is None
    assert key.get("Karen Whitfield").found == "b:3, a:1"
    assert key.apply("KAREN WHITFIELD: hi, Karen.") == "[Person 1]: hi, [Person 1]."
