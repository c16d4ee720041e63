"""Pseudonymised copies keep their format: captions their timings, Word files their runs and styles,
CSV files their header and separator, text files their line endings; and each reads as the same turns."""

from __future__ import annotations

import io
from pathlib import Path

import docx

from coder.pseudo_formats import pieces, rewrite
from coder.pseudonym_key import Key, KeyEntry
from coder.transcripts import read_file

KEY = Key(
    [
        KeyEntry("Karen Whitfield", "[Person 1]", "person"),
        KeyEntry("Karen", "[Person 1]", "person"),
        KeyEntry("Whitfield", "[Person 1]", "person"),
        KeyEntry("Leeds", "[Place 1]", "place"),
        KeyEntry("07700 900123", "[Phone 1]", "phone"),
        KeyEntry("12", "[Phone 2]", "phone"),  # digits that also sit in a timing line
    ]
)


def turns(name: str, data: bytes) -> list[tuple[str, str]]:
    (t,) = read_file(Path(name), data=data)
    return [(turn.speaker, turn.role) for turn in t.turns]


def test_text_keeps_its_crlf_line_endings_and_byte_order_mark():
    data = "\ufeffInterviewer: Where?\r\nKaren: In Leeds, ring 07700 900123.\r\n".encode()
    out = rewrite("a.txt", "txt", data, KEY)
    assert out == "\ufeffInterviewer: Where?\r\n[Person 1]: In [Place 1], ring [Phone 1].\r\n".encode()
    assert turns("a.txt", out) == [("Interviewer", "interviewer"), ("[Person 1]", "participant")]


def test_an_otter_export_with_names_as_labels_reads_as_the_same_turns():
    data = b"Karen Whitfield  0:03\nI was in Leeds.\n\nSpeaker 2  0:09\nAnd then?\n"
    out = rewrite("o.txt", "txt", data, KEY)
    assert out == b"[Person 1]  0:03\nI was in [Place 1].\n\nSpeaker 2  0:09\nAnd then?\n"
    assert len(turns("o.txt", out)) == len(turns("o.txt", data)) == 2


def test_captions_keep_numbers_and_timings_and_replace_voices_and_words():
    vtt = (
        b"WEBVTT\n\nNOTE participant: P04\n\n"
        b"12\n00:00:12.000 --> 00:00:15.000\n<v Karen Whitfield>I moved to Leeds.\n\n"
        b"13\n00:00:15.000 --> 00:00:18.120\n<v Dana (Interviewer)>When, Karen?\n"
    )
    out = rewrite("c.vtt", "vtt", vtt, KEY).decode()
    assert "12\n00:00:12.000 --> 00:00:15.000\n<v [Person 1]>I moved to [Place 1].\n" in out
    assert "00:00:15.000 --> 00:00:18.120\n<v Dana (Interviewer)>When, [Person 1]?" in out
    assert turns("c.vtt", out.encode()) == [("[Person 1]", "participant"), ("Dana", "interviewer")]
    srt = b"1\n00:00:01,000 --> 00:00:12,500\nKaren: It was 12 of us in Leeds.\n"
    out = rewrite("c.srt", "srt", srt, KEY)
    assert out == b"1\n00:00:01,000 --> 00:00:12,500\n[Person 1]: It was [Phone 2] of us in [Place 1].\n"
    # a cue whose only words are a keyed number: replaced, though the cue number before its timing is kept
    srt = b"12\n00:00:12,000 --> 00:00:14,000\n12\n\n13\n00:00:14,000 --> 00:00:15,000\nKaren: hi\n"
    out = rewrite("d.srt", "srt", srt, KEY)
    assert out == b"12\n00:00:12,000 --> 00:00:14,000\n[Phone 2]\n\n13\n00:00:14,000 --> 00:00:15,000\n[Person 1]: hi\n"
    assert [p.text for p in pieces("d.srt", "srt", srt)] == ["12", "Karen: hi"]


def test_csv_keeps_its_header_separator_and_quotes():
    data = b'respondent;answer\r\nR1;"Karen helped; in Leeds"\r\nR2;nothing\r\n'
    out = rewrite("s.csv", "csv", data, KEY)
    assert out == b'respondent;answer\r\nR1;"[Person 1] helped; in [Place 1]"\r\nR2;nothing\r\n'
    assert [p.where for p in pieces("s.csv", "csv", data)] == ["s.csv:2", "s.csv:2", "s.csv:3", "s.csv:3"]


def _word(paragraphs: list[list[tuple[str, bool]]], author: str = "") -> bytes:
    document = docx.Document()
    for runs in paragraphs:
        p = document.add_paragraph()
        for text, bold in runs:
            p.add_run(text).bold = bold
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "phone"
    table.cell(0, 1).text = "07700 900123"
    document.core_properties.author = author
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_replaces_across_runs_and_keeps_every_other_runs_formatting():
    data = _word(
        [
            [("Interviewer: ", True), ("And then?", False)],
            [("Karen: ", True), ("I saw Ms. ", False), ("Whit", True), ("field", False), (" in Leeds.", False)],
        ],
        author="Karen Whitfield",
    )
    out = docx.Document(io.BytesIO(rewrite("w.docx", "docx", data, KEY)))
    first, second = out.paragraphs
    assert [(r.text, r.bold) for r in first.runs] == [("Interviewer: ", True), ("And then?", False)]
    assert [(r.text, r.bold) for r in second.runs] == [
        ("[Person 1]: ", True),
        ("I saw Ms. ", False),
        ("[Person 1]", True),  # the name is written into the run it starts in, with that run's formatting
        ("", False),
        (" in [Place 1].", False),
    ]
    assert out.tables[0].cell(0, 1).text == "[Phone 1]"
    assert out.core_properties.author == "[Person 1]"


def test_word_pieces_include_tables_and_document_properties():
    data = _word([[("Karen: hello", False)]], author="Jane Smith")
    texts = [p.text for p in pieces("w.docx", "docx", data)]
    assert texts[0] == "Karen: hello"
    assert "07700 900123" in texts and "Jane Smith" in texts


def test_word_hyperlinks_tracked_changes_and_first_page_headers_are_pseudonymised_too():
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml.ns import qn
    from docx.oxml.parser import OxmlElement

    document = docx.Document()
    paragraph = document.add_paragraph("Karen: write to ")
    r_id = document.part.relate_to("mailto:kw@mail.org", RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "kw@mail.org"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    inserted = OxmlElement("w:ins")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = " in Leeds"
    run.append(text)
    inserted.append(run)
    paragraph._p.append(inserted)
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "Interview with Karen Whitfield"
    data = io.BytesIO()
    document.save(data)
    key = Key([*KEY.entries, KeyEntry("kw@mail.org", "[Email 1]", "email")])
    out = rewrite("w.docx", "docx", data.getvalue(), key)
    texts = [p.text for p in pieces("w.docx", "docx", out)]
    assert "[Person 1]: write to [Email 1] in [Place 1]" in texts
    assert "Interview with [Person 1]" in texts
    assert "mailto:[Email 1]" in texts and not any("kw@mail.org" in t or "Leeds" in t for t in texts)


def test_text_with_times_keeps_them_when_the_key_has_numbers():
    data = b"[00:12:03] Karen: It was 12 of us.\n"
    assert rewrite("t.txt", "txt", data, KEY) == b"[00:12:03] [Person 1]: It was [Phone 2] of us.\n"
