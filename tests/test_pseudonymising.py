"""coder pseudonymise and coder import --pseudonymise, end to end, with a fake NER (an entity ruler):
the key is created, edited by the researcher, applied exactly on the next run, and never enters a project."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import spacy
from click.testing import CliRunner

from coder.app import Project
from coder.app import pseudonymising as ps
from coder.cli import main
from coder.errors import InputError
from coder.pseudonym_key import KeyProblems

INTERVIEW = """# synthetic transcript for coder's tests
Interviewer: Who helped you?
Karen Whitfield: My caseworker, Jane Okafor, at Safe Harbour in Leeds. Ms. Okafor gave me her number, 07700 900123.
Interviewer: And your family?
Karen Whitfield: Kaz is what my sister calls me. God knows we fought. Jane said to email jo@safeharbour.org.
"""


def said(project: Project, document: str) -> str:
    return "\n".join(f"{t.speaker}: " + " ".join(s.text for s in t.segments) for t in project.show(document).turns)


def fake_ner():
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    patterns = {"PERSON": ["Jane Okafor", "God", "Amara"], "GPE": ["Leeds"], "ORG": ["Safe Harbour"]}
    ruler.add_patterns([{"label": k, "pattern": p} for k, ps_ in patterns.items() for p in ps_])
    return nlp


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "interviews"
    folder.mkdir()
    (folder / "P01.txt").write_text(INTERVIEW, encoding="utf-8")
    (folder / "P02.txt").write_text("Interviewer: Hi.\nAmara: Jane Okafor rang me from Leeds.\n", encoding="utf-8")
    return folder


def run(files: Path, tmp_path: Path, **kw):
    return ps.pseudonymise_files(
        sorted(files.glob("*.txt")), tmp_path / "out", tmp_path / "key.csv", nlp=fake_ner(), **kw
    )


def key_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8")))


def test_first_run_writes_copies_and_a_key_with_every_identifier(files, tmp_path):
    result = run(files, tmp_path)
    assert result.created_key
    copy = (tmp_path / "out" / "P01.txt").read_text(encoding="utf-8")
    for original in ("Karen", "Whitfield", "Jane", "Okafor", "Safe Harbour", "Leeds", "07700", "jo@safeharbour"):
        assert original not in copy
    assert "[Person 2]: My caseworker, [Person 1], at [Organisation 1] in [Place 1]. Ms. [Person 1] gave" in copy
    assert "God knows" in copy  # not an identifier: dropped by the clean-up, never put in the key
    rows = {r[0]: r[1:] for r in key_rows(tmp_path / "key.csv")[1:]}
    assert rows["Jane Okafor"][:2] == ["[Person 1]", "person"]
    assert rows["Jane Okafor"][2] == "P01.txt:3, P02.txt:2"
    assert rows["Okafor"][0] == rows["Jane"][0] == "[Person 1]"
    assert rows["Karen Whitfield"][2] == "P01.txt:3, P01.txt:5"  # a speaker label, found where it labels
    assert (tmp_path / "out" / "P02.txt").read_text(encoding="utf-8") == (
        "Interviewer: Hi.\n[Person 3]: [Person 1] rang me from [Place 1].\n"
    )
    assert [w.replaced for w in result.written] == [9, 3]


def test_the_copy_imports_with_the_same_turns_and_roles(files, tmp_path, blank_splitter):
    run(files, tmp_path)
    shapes = []
    for folder in (files, tmp_path / "out"):
        with Project(tmp_path / f"{folder.name}.coder", create=True) as p:
            p.import_files([folder / "P01.txt"], splitter=blank_splitter)
            doc = p.show("P01")
            shapes.append([(t.role, len(t.segments)) for t in doc.turns])
    assert shapes[0] == shapes[1]


def test_a_rerun_applies_the_edited_key_exactly_and_adds_only_what_is_new(files, tmp_path):
    run(files, tmp_path)
    key = tmp_path / "key.csv"
    rows = key_rows(key)
    edited = [r for r in rows if r[0] != "Leeds"]  # a false positive, say: deleted
    for r in edited:
        if r[0] == "Safe Harbour":
            r[1] = "[the service]"  # a pseudonym changed by hand
    edited.append(["Kaz", "[Person 2]", "person", "added by hand"])  # a nickname
    with key.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(edited)
    (files / "P03.txt").write_text("Interviewer: And?\nAmara: Then Rosa Diaz came, from Leeds.\n", encoding="utf-8")

    result = ps.pseudonymise_files(
        sorted(files.glob("*.txt")), tmp_path / "out", key, nlp=_with(fake_ner(), PERSON=["Rosa Diaz"])
    )
    assert [e.original for e in result.added] == ["Rosa Diaz", "Diaz", "Rosa"]
    assert result.left_as_is == ["Leeds"]
    copy = (tmp_path / "out" / "P01.txt").read_text(encoding="utf-8")
    assert "at [the service] in Leeds" in copy and "[Person 2] is what my sister calls me" in copy
    after = key_rows(key)
    assert after[: len(edited)] == edited  # her rows, her order, her edits: untouched
    assert (tmp_path / "out" / "P03.txt").read_text(encoding="utf-8").endswith("Then [Person 4] came, from Leeds.\n")


def _with(nlp, **labels):
    nlp.get_pipe("entity_ruler").add_patterns([{"label": k, "pattern": p} for k, ps_ in labels.items() for p in ps_])
    return nlp


def test_a_bad_key_is_refused_with_its_rows_and_nothing_is_written(files, tmp_path):
    key = tmp_path / "key.csv"
    key.write_text("original,pseudonym,type,found\nKaren,,person,\nKaren,[Person 1],person,\n", encoding="utf-8")
    before = key.read_bytes()
    with pytest.raises(KeyProblems) as e:
        run(files, tmp_path)
    assert [p.line for p in e.value.problems] == [2, 3]
    assert not (tmp_path / "out").exists()
    assert key.read_bytes() == before


def test_copies_never_overwrite_their_originals(files, tmp_path):
    with pytest.raises(InputError, match="this file is in the --out folder"):
        ps.pseudonymise_files([files / "P01.txt"], files, tmp_path / "key.csv", nlp=fake_ner())
    assert (files / "P01.txt").read_text(encoding="utf-8") == INTERVIEW


def test_a_file_named_after_someone_gets_a_pseudonymised_name(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "Jane Okafor.txt").write_text("Interviewer: Hi.\nP01: I work with Jane Okafor.\n", encoding="utf-8")
    result = ps.pseudonymise_files([folder / "Jane Okafor.txt"], tmp_path / "out", tmp_path / "k.csv", nlp=fake_ner())
    assert result.written[0].copy.name == "Person-1.txt"


def test_name_style_writes_realistic_substitutes_consistently(files, tmp_path):
    run(files, tmp_path, style="name")
    rows = {r[0]: r[1] for r in key_rows(tmp_path / "key.csv")[1:]}
    first, last = rows["Jane Okafor"].split()
    assert (rows["Jane"], rows["Okafor"]) == (first, last)
    copy = (tmp_path / "out" / "P01.txt").read_text(encoding="utf-8")
    assert f"Ms. {last} gave me" in copy
    assert "[Phone" not in copy and rows["07700 900123"] in copy


def test_import_with_the_key_keeps_originals_out_of_the_project(files, tmp_path, blank_splitter):
    run(files, tmp_path)
    project_file = tmp_path / "p.coder"
    with Project(project_file, create=True) as p:
        (files / "P01.txt").write_text(INTERVIEW.replace("Kaz is", "Kaz is"), encoding="utf-8")
        pseudonymiser = ps.ImportPseudonymiser(tmp_path / "key.csv", nlp=fake_ner())
        p.import_files([files / "P01.txt"], splitter=blank_splitter, pseudonymiser=pseudonymiser)
        text = said(p, "P01")
    raw = project_file.read_bytes()
    for original in (b"Whitfield", b"Okafor", b"Leeds", b"07700", b"safeharbour"):
        assert original not in raw
    assert "[Person 2]: My caseworker, [Person 1]" in text


def test_import_refuses_a_name_the_key_does_not_cover_and_stores_nothing(files, tmp_path, blank_splitter):
    run(files, tmp_path)
    (files / "P04.txt").write_text("Interviewer: Who?\nP04: Amara and Rosa Diaz, in Leeds.\n", encoding="utf-8")
    nlp = _with(fake_ner(), PERSON=["Rosa Diaz"])
    with Project(tmp_path / "p.coder", create=True) as p:
        pseudonymiser = ps.ImportPseudonymiser(tmp_path / "key.csv", nlp=nlp)
        with pytest.raises(ps.UnkeyedNames) as e:
            p.import_files([files / "P04.txt"], splitter=blank_splitter, pseudonymiser=pseudonymiser)
        assert "'Rosa Diaz' (person) is not in the key" in e.value.details()
        assert str(e.value).startswith(f"{files / 'P04.txt'}:2: 'Rosa Diaz' looks like a person")
        assert p.documents() == []
        ok = ps.ImportPseudonymiser(tmp_path / "key.csv", unkeyed_ok=True, nlp=nlp)
        p.import_files([files / "P04.txt"], splitter=blank_splitter, pseudonymiser=ok)
        assert "[Person 3] and Rosa Diaz, in [Place 1]" in said(p, "P04")


def test_the_cli_pseudonymises_then_imports_with_the_key(files, tmp_path, monkeypatch):
    monkeypatch.setattr(ps, "load_spacy", lambda pipeline=ps.NER_PIPELINE: fake_ner())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(main, ["pseudonymise", str(files / "P01.txt"), "--out", "shared", "--key", "key.csv"])
    assert r.exit_code == 0, r.output
    assert "Created key.csv: 10 new rows (6 person, 1 place, 1 organisation, 1 phone, 1 email" in r.output
    assert "P01.txt → shared/P01.txt  (9 replaced)" in r.output
    r = runner.invoke(main, ["pseudonymise", str(files / "P01.txt"), "--out", "shared", "--key", "key.csv"])
    assert "nothing new found; its 10 rows applied as they are" in r.output
    r = runner.invoke(main, ["init"])
    args = ["import", str(files / "P01.txt"), "--pseudonymise", "key.csv", "--pipeline", "blank"]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "imported  P01.txt" in r.output
    r = runner.invoke(main, ["import", str(files / "P02.txt"), "--pseudonymise", "nokey.csv"])
    assert r.exit_code == 1 and "nokey.csv: key not found" in r.output
    # a participant named on the command line goes through the key too, and never reaches the project file
    rows = list(csv.DictReader(Path("key.csv").read_text(encoding="utf-8-sig").splitlines()))
    person = next(r for r in rows if r["type"] == "person" and " " in r["original"])
    runner.invoke(main, ["-p", "second.db", "init"])
    args = ["-p", "second.db", "import", str(files / "P01.txt"), "--pseudonymise", "key.csv", "--pipeline", "blank"]
    r = runner.invoke(main, [*args, "--participant", person["original"]])
    assert r.exit_code == 0, r.output
    with Project(Path("second.db")) as p:
        assert [d.participant for d in p.documents()] == [person["pseudonym"]]
    assert person["original"].encode() not in Path("second.db").read_bytes()


PSEUDO = Path(__file__).parent / "data" / "pseudo"


@pytest.mark.model
def test_the_real_ner_finds_every_planted_name_phone_and_email_in_the_synthetic_set(tmp_path):
    """tests/data/pseudo: synthetic transcripts in six formats with planted identifiers (gold.csv). The issue
    asks for recall 1.0 on names, phone numbers and emails; the other types are reported in RESULTS.md."""
    files = sorted(p for p in PSEUDO.iterdir() if p.suffix in (".txt", ".md", ".docx", ".vtt", ".srt", ".csv"))
    files = [p for p in files if p.name not in ("gold.csv", "keep.csv", "nicknames.csv", "README.md")]
    result = ps.pseudonymise_files(files, tmp_path / "out", tmp_path / "key.csv")  # checks each copy's turns too
    copies = {w.source.name: _words(w.copy) for w in result.written}
    gold = list(csv.DictReader((PSEUDO / "gold.csv").open(encoding="utf-8")))
    missed = [
        f"{g['file']}: {g['text']} ({g['type']})"
        for g in gold
        if g["type"] in ("person", "phone", "email") and _present(g["text"], copies[g["file"]])
    ]
    assert missed == []
    kept = [k for k in csv.DictReader((PSEUDO / "keep.csv").open(encoding="utf-8"))]
    faith_and_family = [k for k in kept if k["text"] in ("God", "Jesus", "Mum", "Dad", "Interviewer", "Christmas")]
    assert faith_and_family and all(_present(k["text"], copies[k["file"]]) for k in faith_and_family)


def _words(path: Path) -> str:
    if path.suffix == ".docx":
        from coder.pseudo_formats import pieces

        return "\n".join(p.text for p in pieces(path.name, "docx", path.read_bytes()))
    return path.read_text(encoding="utf-8")


def _present(text: str, within: str) -> bool:
    return re.search(rf"(?<![\w@]){re.escape(text)}(?![\w@])", within) is not None


def test_two_copies_with_one_name_and_a_key_among_the_copies_are_refused(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("Jane Okafor.txt", "Jane.txt"):
        (folder / name).write_text("Interviewer: Hi.\nP01: I am Jane Okafor.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"two copies would both be named 'Person-1\.txt'"):
        ps.pseudonymise_files(sorted(folder.iterdir()), tmp_path / "out", tmp_path / "k.csv", nlp=fake_ner())
    with pytest.raises(InputError, match="the key is in the --out folder"):
        ps.pseudonymise_files([folder / "Jane.txt"], tmp_path / "out", tmp_path / "out" / "k.csv", nlp=fake_ner())


def test_the_key_is_private_and_a_deleted_key_starts_over(files, tmp_path):
    run(files, tmp_path)
    key = tmp_path / "key.csv"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "key.seen").stat().st_mode & 0o777 == 0o600
    key.unlink()
    result = run(files, tmp_path)
    assert result.left_as_is == [] and "Jane Okafor" in {e.original for e in result.added}


def test_a_titled_speaker_label_and_a_header_participant_survive_import(tmp_path, blank_splitter):
    folder = tmp_path / "Karen Whitfield"
    folder.mkdir()
    (folder / "t1.txt").write_text(
        "# participant: Karen\nInterviewer: Hi.\nDr Okafor: Hello, Karen.\nInterviewer: Bye.\n", encoding="utf-8"
    )
    key = tmp_path / "key.csv"
    key.write_text(
        "original,pseudonym,type,found\nOkafor,[Person 1],person,\nKaren,[Person 2],person,\n", encoding="utf-8"
    )
    with Project(tmp_path / "p.coder", create=True) as p:
        pseudonymiser = ps.ImportPseudonymiser(key, nlp=fake_ner())
        p.import_files([folder / "t1.txt"], splitter=blank_splitter, pseudonymiser=pseudonymiser)
        (doc,) = p.documents()
        assert (doc.participant, doc.name) == ("[Person 2]", "t1.txt")
        assert [t.speaker for t in p.show("t1").turns] == ["Interviewer", "Dr [Person 1]", "Interviewer"]
    assert b"Whitfield" not in (tmp_path / "p.coder").read_bytes()  # nor the folder named after her


def test_import_catches_a_real_name_that_is_also_a_substitute_the_key_wrote(tmp_path, blank_splitter):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "P05.txt").write_text("Interviewer: Who?\nP05: Maria came, with Jane Okafor.\n", encoding="utf-8")
    key = tmp_path / "key.csv"
    key.write_text("original,pseudonym,type,found\nJane Okafor,Maria Lopez,person,\n", encoding="utf-8")
    nlp = _with(fake_ner(), PERSON=["Maria"])
    with Project(tmp_path / "p.coder", create=True) as p:
        pseudonymiser = ps.ImportPseudonymiser(key, nlp=nlp)
        with pytest.raises(ps.UnkeyedNames) as e:
            p.import_files([folder / "P05.txt"], splitter=blank_splitter, pseudonymiser=pseudonymiser)
    assert "'Maria' (person) is not in the key" in e.value.details()
    assert str(e.value).startswith(f"{folder / 'P05.txt'}:2: ")  # the file to fix, not the copy in memory


def test_a_file_named_after_someone_imports_under_its_pseudonymised_name(tmp_path, blank_splitter):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "Jane Okafor.txt").write_text("Interviewer: Hi.\nP01: I work with Jane Okafor.\n", encoding="utf-8")
    key = tmp_path / "key.csv"
    key.write_text("original,pseudonym,type,found\nJane Okafor,[Person 1],person,\n", encoding="utf-8")
    with Project(tmp_path / "p.coder", create=True) as p:
        pseudonymiser = ps.ImportPseudonymiser(key, nlp=fake_ner())
        p.import_files([folder / "Jane Okafor.txt"], splitter=blank_splitter, pseudonymiser=pseudonymiser)
        assert [d.name for d in p.documents()] == ["Person-1.txt"]  # its turns are compared, not its name


def test_a_key_folder_that_does_not_exist_is_refused_before_anything_is_read(files, tmp_path):
    calls = []

    def ner():
        calls.append(1)
        return fake_ner()

    missing = tmp_path / "unmounted-drive" / "key.csv"
    with pytest.raises(InputError, match="the key's folder does not exist") as e:
        ps.pseudonymise_files(sorted(files.iterdir()), tmp_path / "out", missing, nlp=ner)
    assert str(missing) in str(e.value) and "name another --key" in str(e.value)
    assert not missing.parent.exists() and not (tmp_path / "out").exists() and calls == []  # nothing created or run
    r = CliRunner().invoke(
        main, ["pseudonymise", *map(str, sorted(files.iterdir())), "--out", str(tmp_path / "o"), "--key", str(missing)]
    )
    assert r.exit_code == 1 and "Traceback" not in r.output and "the key's folder does not exist" in r.output


def test_a_copy_that_cannot_be_written_is_one_line_and_leaves_no_temporary_file(files, tmp_path, monkeypatch):
    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ps.os, "replace", full_disk)
    with pytest.raises(InputError, match=r"cannot write this file \(No space left on device\)") as e:
        run(files, tmp_path)
    assert e.value.path == str((tmp_path / "key.csv").resolve())  # the key is written first, and failed first
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))
    assert not (tmp_path / "key.csv").exists()


def test_a_file_import_cannot_read_is_named_by_the_path_she_gave_not_by_its_copy(files, tmp_path, blank_splitter):
    run(files, tmp_path)
    sub = files / "batch2"
    sub.mkdir()
    (sub / "P05.vtt").write_text("WEBVTT\n\nnot a cue\n", encoding="utf-8")
    (sub / "P06.txt").write_bytes(b"Interviewer: Hi.\nP06: \xff\xfe bad\n")
    with Project(tmp_path / "p.coder", create=True) as p:
        for name, where in (("P05.vtt", ":3: caption block"), ("P06.txt", ":2: not UTF-8 text")):
            pseudonymiser = ps.ImportPseudonymiser(tmp_path / "key.csv", nlp=fake_ner())
            with pytest.raises(InputError) as e:
                p.import_files([sub / name], splitter=blank_splitter, pseudonymiser=pseudonymiser)
            assert str(e.value).startswith(f"{sub / name}{where}")
        assert p.documents() == []


def test_a_symlinked_key_into_a_missing_folder_is_refused_and_a_read_only_drive_is_one_line(
    files, tmp_path, monkeypatch
):
    link = tmp_path / "key.csv"
    link.symlink_to(tmp_path / "unmounted" / "key.csv")
    with pytest.raises(InputError, match="the key's folder does not exist"):
        run(files, tmp_path)

    link.unlink()
    real_unlink = Path.unlink

    def read_only(self, missing_ok=False):
        if self.name.endswith(".tmp"):
            raise OSError(30, "Read-only file system")
        return real_unlink(self, missing_ok=missing_ok)

    def refuse(path, flags, mode=0o777):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "unlink", read_only)
    monkeypatch.setattr(ps.os, "open", refuse)
    with pytest.raises(InputError, match=r"cannot write this file \(Read-only file system\)"):
        run(files, tmp_path)


def test_two_files_import_would_store_under_one_pseudonymised_name_are_named_as_given(tmp_path, blank_splitter):
    folder = tmp_path / "interviews"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "Jane Okafor.txt").write_text(f"Interviewer: Hi.\nP0{sub}: I am Jane Okafor, {sub}.\n", "utf-8")
    ps.pseudonymise_files([folder / "a" / "Jane Okafor.txt"], tmp_path / "out", tmp_path / "k.csv", nlp=fake_ner())
    with Project(tmp_path / "p.coder", create=True) as p:
        pseudonymiser = ps.ImportPseudonymiser(tmp_path / "k.csv", unkeyed_ok=True, nlp=fake_ner())
        both = [folder / "a" / "Jane Okafor.txt", folder / "b" / "Jane Okafor.txt"]
        with pytest.raises(InputError, match=r"two files are both named 'Person-1\.txt'") as e:
            p.import_files(both, splitter=blank_splitter, pseudonymiser=pseudonymiser)
        assert e.value.path == str(folder / "b" / "Jane Okafor.txt")
        assert p.documents() == []
