from __future__ import annotations

import re

import pytest

from coder.captions import parse_vtt
from coder.errors import InputError
from coder.transcripts import DEFAULT_INTERVIEWERS, ReadOptions, parse_text, read_file
from coder.types import INTERVIEWER, PARTICIPANT

from .conftest import DATA, write


def speakers(t):
    return [(x.speaker, x.role) for x in t.turns]


def test_sample_turns_offsets_and_header():
    t = read_file(DATA / "sample.txt")[0]
    assert t.participant == "P90"
    assert t.metadata["interview"] == "2025-01-01, test"
    assert speakers(t)[:2] == [("Interviewer", INTERVIEWER), ("P90", PARTICIPANT)]
    assert len(t.turns) == 6
    # offsets point into the stored text; a label-less line continues the turn above
    second_answer = t.speech(t.turns[3])
    assert second_answer.startswith("Honestly? I pray")
    assert second_answer.endswith("like, next year.")
    for turn in t.turns:
        assert t.text[turn.start : turn.end].startswith(turn.speaker)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("I: Hi.\nP03: Hello.", [("I", INTERVIEWER), ("P03", PARTICIPANT)]),
        ("Q: How?\nA: Hello.", [("Q", INTERVIEWER), ("A", PARTICIPANT)]),
        ("Interviewer: Hi.\nParticipant 3: Hello.", [("Interviewer", INTERVIEWER), ("Participant 3", PARTICIPANT)]),
        ("**Interviewer:** Hi.\n**P09:** Hello.", [("Interviewer", INTERVIEWER), ("P09", PARTICIPANT)]),
        (
            "[00:01:02] Interviewer: Hi.\n[00:01:05] Maria: Hello.",
            [("Interviewer", INTERVIEWER), ("Maria", PARTICIPANT)],
        ),
    ],
)
def test_speaker_label_styles(lines, expected):
    t = parse_text(lines + "\n", name="x.txt")
    assert speakers(t) == expected
    assert t.speech(t.turns[1]) == "Hello."


def test_sentence_with_colon_is_not_a_turn():
    t = parse_text("Interviewer: Hi.\nP01: He said it.\nAnd I told him: get out.\n", name="x.txt")
    assert len(t.turns) == 2
    assert t.speech(t.turns[1]).endswith("get out.")


def test_interviewer_option_and_custom_pattern():
    text = "DANA> So tell me.\nROSA> Well.\n"
    opts = ReadOptions(speaker_pattern=r"^(?P<speaker>[A-Z]+)>\s*", interviewers=frozenset({"dana"}))
    t = parse_text(text, name="x.txt", options=opts)
    assert speakers(t) == [("DANA", INTERVIEWER), ("ROSA", PARTICIPANT)]


def test_participant_from_file_name_and_option(tmp_path):
    p = write(tmp_path / "P77.txt", "Interviewer: Hi.\nP: Hello.\n")
    assert read_file(p)[0].participant == "P77"
    assert read_file(p, ReadOptions(participant="X1"))[0].participant == "X1"


def test_crlf_and_bom_are_normalised(tmp_path):
    p = tmp_path / "w.txt"
    p.write_bytes("\ufeffInterviewer: Hi.\r\nP01: Señora, olé 👋.\r\n".encode())
    t = read_file(p)[0]
    assert "\r" not in t.text and not t.text.startswith("\ufeff")
    assert t.speech(t.turns[1]) == "Señora, olé 👋."


def test_docx(tmp_path):
    import docx

    d = docx.Document()
    d.add_paragraph("# participant: P31")
    d.add_paragraph("Interviewer: How are you?")
    p = d.add_paragraph()
    p.add_run("P31:").bold = True
    p.add_run(" Fine, thanks.")
    d.save(tmp_path / "int.docx")
    t = read_file(tmp_path / "int.docx")[0]
    assert t.format == "docx" and t.participant == "P31"
    assert [t.speech(x) for x in t.turns] == ["How are you?", "Fine, thanks."]


VTT = """WEBVTT

NOTE
SYNTHETIC TRANSCRIPT for tests.
participant: P44

00:00:01.200 --> 00:00:06.800
<v Interviewer>Okay, it's recording.

00:00:07.100 --> 00:00:10.400
<v Rosa>Yeah. I go to Mass on Sundays.

cue-3
00:00:10.500 --> 00:00:15.000
<v Rosa><i>And</i> I pray the rosary.

00:01:15.000 --> 00:01:20.000
<v Interviewer>Thank you.
"""


def test_vtt_merges_cues_keeps_times(tmp_path):
    t = read_file(write(tmp_path / "a.vtt", VTT))[0]
    assert t.participant == "P44"
    assert speakers(t) == [("Interviewer", INTERVIEWER), ("Rosa", PARTICIPANT), ("Interviewer", INTERVIEWER)]
    rosa = t.turns[1]
    assert t.speech(rosa) == "Yeah. I go to Mass on Sundays. And I pray the rosary."
    assert (rosa.time_start, rosa.time_end) == (7.1, 15.0)
    assert t.turns[2].time_start == 75.0


def test_srt_speaker_prefix(tmp_path):
    srt = "1\n00:00:01,000 --> 00:00:02,000\nInterviewer: Hello.\n\n2\n00:00:02,500 --> 00:00:04,000\nP05: Hi there.\n"
    t = read_file(write(tmp_path / "a.srt", srt))[0]
    assert [t.speech(x) for x in t.turns] == ["Hello.", "Hi there."]
    assert t.turns[1].time_start == 2.5


def test_csv_documents_in_file_order(tmp_path):
    csv_text = "doc,who,said,t\nA,Interviewer,Hi,0\nA,R1,Hello there,1.5\nB,R2,Only me,00:00:03\nA,R1,Bye,4\n"
    opts = ReadOptions(document_column="doc", speaker_column="who", text_column="said", timestamp_column="t")
    docs = read_file(write(tmp_path / "u.csv", csv_text), opts)
    assert [d.name for d in docs] == ["u.csv#A", "u.csv#B"]
    a = docs[0]
    assert a.participant == "A"
    assert [a.speech(x) for x in a.turns] == ["Hi", "Hello there", "Bye"]
    assert [x.role for x in a.turns] == [INTERVIEWER, PARTICIPANT, PARTICIPANT]
    assert docs[1].turns[0].time_start == 3.0


def test_survey_csv_without_speaker_column(tmp_path):
    docs = read_file(
        write(tmp_path / "s.csv", "id,answer\nR1,I pray a lot\nR2,School matters\n"),
        ReadOptions(document_column="id", text_column="answer"),
    )
    assert [d.participant for d in docs] == ["R1", "R2"]
    assert all(t.role == PARTICIPANT for d in docs for t in d.turns)


# -- bad input: one line naming the file, the line or row, and what to do ----------------------


def err(path, options=None) -> str:
    with pytest.raises(InputError) as e:
        read_file(path, options)
    return str(e.value)


def test_not_utf8_names_line(tmp_path):
    p = tmp_path / "l1.txt"
    p.write_bytes("Interviewer: Hi.\nP01: Se\u00f1ora.\n".encode("latin-1"))
    assert err(p) == (
        f"{p}:2: not UTF-8 text (byte 0xf1 cannot be decoded) — "
        "re-save the file as UTF-8 (in most editors: Save As → Encoding: UTF-8)"
    )


def test_missing_empty_binary_unsupported(tmp_path):
    assert err(tmp_path / "nope.txt") == f"{tmp_path / 'nope.txt'}: file not found — check the path"
    assert (
        err(write(tmp_path / "e.txt", "  \n"))
        == f"{tmp_path / 'e.txt'}: the file is empty — export the transcript again"
    )
    b = tmp_path / "b.txt"
    b.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert "looks like a binary file" in err(b)
    assert "unsupported file type '.pdf'" in err(write(tmp_path / "x.pdf", "x"))


def test_no_turns_and_no_participant(tmp_path):
    assert err(write(tmp_path / "n.txt", "just some words\nno labels\n")).startswith(
        f"{tmp_path / 'n.txt'}: no speaker turns found — label each turn"
    )
    msg = err(write(tmp_path / "i.txt", "Interviewer: Hi.\nQ: Anyone?\n"))
    assert msg == (
        f"{tmp_path / 'i.txt'}: no participant turns (speakers found: Interviewer, Q) — check the labels; "
        "pass --interviewer NAME only for interviewer speakers"
    )


def test_corrupt_docx(tmp_path):
    p = tmp_path / "c.docx"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert err(p) == (
        f"{p}: not a readable .docx file (BadZipFile) — open it in Word or LibreOffice and save it again as .docx"
    )


def test_csv_missing_column_and_bad_timestamp(tmp_path):
    p = write(tmp_path / "s.csv", "id,answer\nR1,hi\n")
    assert err(p, ReadOptions(text_column="text")) == (
        f"{p}: row 1: no column 'text' (named by --text-column); the columns are: id, answer — "
        "pass --text-column with one of those names"
    )
    q = write(tmp_path / "t.csv", "id,answer,t\nR1,hi,0\nR1,yo,soon\n")
    assert err(q, ReadOptions(document_column="id", text_column="answer", timestamp_column="t")) == (
        f"{q}: row 3: bad timestamp 'soon' — use seconds (12.5) or HH:MM:SS"
    )


def test_a_quote_left_open_in_a_csv_is_refused_at_its_row_not_merged(tmp_path):
    p = write(tmp_path / "s.csv", 'id,answer\nR1,"The staff were kind\nR2,Parking was awful\nR3,Waited two hours\n')
    assert err(p, ReadOptions(document_column="id", text_column="answer")) == (
        f"{p}: row 2: a double quote opened in this row is never closed (every row after it would be one value) — "
        "close the quote or remove it; nothing was read from this file"
    )
    q = write(tmp_path / "t.csv", 'id,answer\nR1,fine\nR2,"kind" staff\n')
    assert err(q, ReadOptions(document_column="id", text_column="answer")).startswith(
        f"{q}: row 3: malformed CSV (',' expected after '\"') — put a value that holds quotes in double quotes"
    )
    # a quoted answer that spans lines (as spreadsheets export them) is one answer, and rows count as records
    ok = read_file(
        write(tmp_path / "u.csv", 'id,answer\nR1,"Two lines\nof answer"\nR2,"She said ""no"""\n'),
        ReadOptions(document_column="id", text_column="answer"),
    )
    assert [d.speech(d.turns[0]) for d in ok] == ["Two lines of answer", 'She said "no"']
    # files that quote with single quotes, or put a space after the separator, read as before
    for text in ("id,answer\nR1,'I pray, a lot'\nR2,fine\n", 'id,answer\nR1, "I pray, a lot"\nR2, fine\n'):
        docs = read_file(write(tmp_path / "v.csv", text), ReadOptions(document_column="id", text_column="answer"))
        assert [d.speech(d.turns[0]) for d in docs] == ["I pray, a lot", "fine"]
    # a separator inside an unquoted answer is refused, not cut off
    w = write(tmp_path / "w.csv", "id,answer\nR1,I pray, a lot\n")
    assert err(w, ReadOptions(document_column="id", text_column="answer")) == (
        f"{w}: row 2: more values than header columns (' a lot' past the last column) — put a value that holds the "
        'separator in double quotes ("I pray, a lot")'
    )


def test_survey_rows_without_text_are_said_not_dropped_silently(tmp_path):
    docs = read_file(
        write(tmp_path / "s.csv", "id,answer\nR1,I pray a lot\nR2,\n,\nR3,School matters\n"),
        ReadOptions(document_column="id", text_column="answer"),
    )
    assert [d.participant for d in docs] == ["R1", "R3"]  # the row of empty cells is a blank line
    assert {d.notes for d in docs} == {("s.csv: 1 row with no text in 'answer' was not imported (row 3)",)}
    full = read_file(
        write(tmp_path / "f.csv", "id,answer\nR1,hi\n"), ReadOptions(document_column="id", text_column="answer")
    )
    assert full[0].notes == ()


def test_vtt_errors(tmp_path):
    assert "first line is not 'WEBVTT'" in err(write(tmp_path / "a.vtt", "hello\n\n00:01.000 --> 00:02.000\nx\n"))
    msg = err(write(tmp_path / "b.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nno speaker here\n"))
    assert (
        msg == f"{tmp_path / 'b.vtt'}:3: caption has no speaker — mark speakers with <v Name> tags or a 'Name:' prefix"
    )


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "a.vtt",
            "WEBVTT\n\ncue-1\nA: no timing\n",
            "{p}:3: caption block without a timing line — each cue needs a line like '00:00:01.000 --> 00:00:04.000'",
        ),
        (
            "b.vtt",
            "WEBVTT\n\ncue-1\n00:01 --> soon\nA: hi\n",
            "{p}:4: bad caption timing — use HH:MM:SS.mmm --> HH:MM:SS.mmm",
        ),
        (
            "c.srt",
            "1\nA: no timing\n",
            "{p}:1: subtitle block without a timing line"
            " — each block needs a line like '00:00:01,000 --> 00:00:04,000'",
        ),
        (
            "d.srt",
            "1\n00:00:01,000 --> later\nA: hi\n",
            "{p}:2: bad subtitle timing — use HH:MM:SS,mmm --> HH:MM:SS,mmm",
        ),
    ],
)
def test_caption_timing_errors(tmp_path, name, text, expected):
    p = write(tmp_path / name, text)
    assert err(p) == expected.format(p=p)


def test_srt_has_no_vtt_header_blocks(tmp_path):
    """NOTE is a WebVTT block; in a SubRip file a block without timing is an error, not metadata."""
    assert "subtitle block without a timing line" in err(write(tmp_path / "a.srt", "NOTE participant: P1\n"))


def test_bad_speaker_pattern(tmp_path):
    p = write(tmp_path / "a.txt", "A: b\n")
    assert "--speaker-pattern has no (?P<speaker>...) group" in err(p, ReadOptions(speaker_pattern="^x"))
    assert "bad --speaker-pattern" in err(p, ReadOptions(speaker_pattern="(("))


# -- exports of transcription tools: each file under tests/data/formats/ is a synthetic transcript --------

FORMATS = DATA / "formats"
STAMP = re.compile(r"\d:\d\d")


def no_times_in_speech(t):
    """A time the tool wrote (0:03, [00:00:03], #00:01:02-3#) is never part of the words."""
    for turn in t.turns:
        assert not STAMP.search(t.speech(turn).replace("7:30", "")), t.speech(turn)


def test_otter_speaker_and_time_on_own_line():
    t = read_file(FORMATS / "otter.txt")[0]
    assert t.participant == "P21"
    assert len(t.turns) == 8
    assert [x.speaker for x in t.turns[:2]] == ["Speaker 1", "Marisol Vega"]
    # 'Speaker 1' says no role, so it is a participant until named with --interviewer
    assert {x.role for x in t.turns} == {PARTICIPANT}
    assert t.speech(t.turns[3]) == (
        "My mother lives with us, and that helps a lot. She does breakfast and the school run.\n"
        "At 7:30 we all eat together before I leave, that's the one rule we keep."
    )
    assert [x.time_start for x in t.turns[-2:]] == [3612.0, 3615.0]  # 1:00:12 is h:mm:ss
    no_times_in_speech(t)
    named = read_file(FORMATS / "otter.txt", ReadOptions(interviewers=DEFAULT_INTERVIEWERS | {"speaker 1"}))[0]
    assert speakers(named)[:2] == [("Speaker 1", INTERVIEWER), ("Marisol Vega", PARTICIPANT)]


def test_rev_time_before_the_colon_words_on_same_or_next_line():
    t = read_file(FORMATS / "rev.txt")[0]
    assert len(t.turns) == 8
    assert speakers(t)[:2] == [("Interviewer", INTERVIEWER), ("Tomás Ferreira", PARTICIPANT)]
    assert t.speech(t.turns[0]) == "Okay, we're recording. Can you tell me what you do for a living?"
    assert t.speech(t.turns[4]) == "Do your kids help out?"
    assert [x.time_start for x in t.turns[:2]] == [3.0, 8.0]
    assert t.turns[6].time_start == 3723.0
    no_times_in_speech(t)


def test_trint_time_and_speaker_line_and_paragraph_times():
    t = read_file(FORMATS / "trint.txt")[0]
    assert speakers(t)[:2] == [("Interviewer", INTERVIEWER), ("Priya Nair", PARTICIPANT)]
    # "[00:00:51]" starting a paragraph ends the words before it; the rest is the same speaker's next turn
    assert len(t.turns) == 7
    before, after = t.turns[3], t.turns[4]
    assert t.speech(before) == "We have a shared calendar on the fridge. Whoever is home cooks."
    assert t.speech(after) == "It sounds organised but it took us a year of fights to get there."
    assert (before.speaker, before.time_start, before.time_end) == ("Priya Nair", 38.0, 51.0)
    assert (after.speaker, after.time_start) == ("Priya Nair", 51.0)
    no_times_in_speech(t)


def test_descript_time_speaker_colon():
    t = read_file(FORMATS / "descript.txt")[0]
    assert len(t.turns) == 7
    assert speakers(t)[:2] == [("Moderator", INTERVIEWER), ("Grace Liu", PARTICIPANT)]
    assert t.speech(t.turns[6]) == "Some days. I miss the students, not the paperwork."
    assert t.turns[6].time_start == 51.0
    no_times_in_speech(t)


def test_maxqda_f4_times_at_paragraph_ends():
    t = read_file(FORMATS / "maxqda.txt")[0]
    assert t.participant == "P26"
    assert len(t.turns) == 8
    assert speakers(t)[:2] == [("I", INTERVIEWER), ("B", PARTICIPANT)]
    assert t.speech(t.turns[0]) == "Could you describe your work at the moment?"
    assert t.turns[0].time_end == 5.2
    # a second paragraph of B's without a label, each paragraph closed by its time
    assert [t.speech(x) for x in t.turns[3:5]] == [
        "It fits well. My wife works afternoons at the pharmacy, so I take over when she leaves.",
        "We hardly see each other on weekdays, which is the price.",
    ]
    assert (t.turns[4].speaker, t.turns[4].time_start, t.turns[4].time_end) == ("B", 31.4, 40.0)
    # the time may also open the paragraph
    assert (t.turns[5].speaker, t.turns[5].time_start) == ("I", 41.5)
    assert t.speech(t.turns[5]) == "Do you talk about changing that?"
    no_times_in_speech(t)


def test_nvivo_times_and_time_ranges():
    t = read_file(FORMATS / "nvivo.txt")[0]
    assert len(t.turns) == 7
    assert speakers(t)[:2] == [("Interviewer", INTERVIEWER), ("Respondent", PARTICIPANT)]
    assert [x.time_start for x in t.turns[:4]] == [1.5, 4.0, 15.0, 18.0]
    assert (t.turns[5].time_start, t.turns[5].time_end) == (36.0, 52.2)
    assert t.speech(t.turns[5]) == "My nephew, two days a week. It feels like paying back what my uncle gave me."
    no_times_in_speech(t)


def test_teams_role_in_voice_tag():
    t = read_file(FORMATS / "teams.vtt")[0]
    assert t.participant == "P28"
    assert len(t.turns) == 6
    assert speakers(t)[:2] == [("Dana Reyes", INTERVIEWER), ("Samuel Okafor", PARTICIPANT)]
    assert t.speech(t.turns[3]) == (
        "I'm an accountant, fully remote since the pandemic. My desk is in the spare room. "
        "My twins think I live in there, to be honest."
    )
    assert (t.turns[3].time_start, t.turns[3].time_end) == (17.2, 31.6)
    assert t.text.splitlines()[0] == "Dana Reyes: Thanks for joining the call. Can you hear me all right?"


def test_zoom_names_with_role():
    t = read_file(FORMATS / "zoom.vtt")[0]
    assert len(t.turns) == 5
    assert speakers(t)[:2] == [("Lena Park", INTERVIEWER), ("Ahmed Hassan", PARTICIPANT)]
    assert t.speech(t.turns[3]) == "The youngest hates the night weeks. She waits up even when she shouldn't."


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Interviewer 2", ("Interviewer 2", INTERVIEWER)),
        ("Int", ("Int", INTERVIEWER)),
        ("Facilitator", ("Facilitator", INTERVIEWER)),
        ("Researcher", ("Researcher", INTERVIEWER)),
        ("Q1", ("Q1", INTERVIEWER)),
        ("Respondent", ("Respondent", PARTICIPANT)),
        ("Interviewee", ("Interviewee", PARTICIPANT)),
        ("P01", ("P01", PARTICIPANT)),
        ("Jane Smith (Interviewer)", ("Jane Smith", INTERVIEWER)),
        ("Interviewer - Jane", ("Jane", INTERVIEWER)),
        ("Jane Smith - Interviewer", ("Jane Smith", INTERVIEWER)),
        ("Ivan Petrov (Participant)", ("Ivan Petrov", PARTICIPANT)),
        ("Ivan Petrov (Guest)", ("Ivan Petrov (Guest)", PARTICIPANT)),
        ("Ivan Petrov (he/him)", ("Ivan Petrov (he/him)", PARTICIPANT)),
    ],
)
def test_roles_from_labels(label, expected):
    t = parse_text(f"{label}: Some words.\nMara: Hello.\n", name="x.txt")
    assert speakers(t)[0] == expected
    assert t.speech(t.turns[0]) == "Some words."


def test_role_in_voice_tag_and_interviewer_option_wins():
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Interviewer>Hi.\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v Dana (Participant)>Hello.\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Rosa>Hey.\n"
    )
    t = parse_vtt(vtt, name="a.vtt")
    assert speakers(t) == [("Interviewer", INTERVIEWER), ("Dana", PARTICIPANT), ("Rosa", PARTICIPANT)]
    # a name given with --interviewer counts more than a role written in the file
    t = parse_vtt(vtt, name="a.vtt", options=ReadOptions(interviewers=DEFAULT_INTERVIEWERS | {"dana"}))
    assert [x.role for x in t.turns] == [INTERVIEWER, INTERVIEWER, PARTICIPANT]


def test_label_layout_wins_over_a_stray_time_line():
    """A line such as 'Monday 9:00' inside labelled turns is words, not an Otter-style speaker line."""
    t = parse_text("Interviewer: When?\nP01: Every week on\nMonday 9:00\nInterviewer: Why?\nP01: Habit.\n", name="x")
    assert len(t.turns) == 4
    assert t.speech(t.turns[1]) == "Every week on\nMonday 9:00"


def test_custom_pattern_reads_only_its_own_labels():
    opts = ReadOptions(speaker_pattern=r"^(?P<speaker>[A-Z]+)>\s*")
    t = parse_text("DANA> Hi.\nSpeaker 1  0:03\nROSA> Well.\n", name="x.txt", options=opts)
    assert [x.speaker for x in t.turns] == ["DANA", "ROSA"]
    assert t.speech(t.turns[0]) == "Hi.\nSpeaker 1  0:03"


def test_otter_docx(tmp_path):
    import docx

    d = docx.Document()
    for line in ("Speaker 1  0:03", "How is work?", "Ana Ruiz  0:06", "Long, but fine.", "I like my team."):
        d.add_paragraph(line)
    d.save(tmp_path / "otter.docx")
    t = read_file(tmp_path / "otter.docx", ReadOptions(interviewers=DEFAULT_INTERVIEWERS | {"speaker 1"}))[0]
    assert speakers(t) == [("Speaker 1", INTERVIEWER), ("Ana Ruiz", PARTICIPANT)]
    assert t.speech(t.turns[1]) == "Long, but fine.\nI like my team."


def test_a_csv_separator_comes_from_its_header():
    from coder.transcripts import csv_delimiter, parse_csv

    semicolons = 'respondent;answer\r\nR1;"Karen helped; in Leeds, then"\r\nR2;nothing\r\n'
    assert csv_delimiter(semicolons) == ";"
    options = ReadOptions(text_column="answer", document_column="respondent")
    assert [t.text for t in parse_csv(semicolons, name="s.csv", options=options)] == [
        "R1: Karen helped; in Leeds, then\n",
        "R2: nothing\n",
    ]
    assert csv_delimiter("id,answer\nR1,I went; then I left; and came back\n") == ","
    assert csv_delimiter("text\nhello\n") == ","
