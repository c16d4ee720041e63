"""Participant attributes: separators sniffed, the participant column named, every bad row refused at once."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from coder.app.ingest import AttributeChange, AttributeRowsRefused, read_attributes
from coder.cli import main
from coder.errors import InputError

from .conftest import DATA, write

OTHER = "# participant: P91\nInterviewer: Hi.\nP91: I read the Bible.\n"


@pytest.fixture
def two(project, blank_splitter, tmp_path):
    """A project with participants P90 (the sample transcript) and P91."""
    project.import_files([DATA / "sample.txt", write(tmp_path / "other.txt", OTHER)], splitter=blank_splitter)
    return project


def test_excel_semicolons_with_bom(two, stored, tmp_path):
    f = write(
        tmp_path / "excel.csv", "\ufeffParticipant ;age_group;setting\r\nP90;25-34;indoor\r\nP91;35-44;\r\n;;\r\n"
    )
    r = two.import_files([], attributes=f)
    assert r.attributes == 3 and r.attribute_changes == []
    assert stored.attributes() == {"P90": {"age_group": "25-34", "setting": "indoor"}, "P91": {"age_group": "35-44"}}


def test_tab_separated(two, stored, tmp_path):
    f = write(tmp_path / "people.tsv", "participant\tsetting\nP90\tstreet, then indoor\nP91\tindoor\n")
    two.import_files([], attributes=f)
    assert stored.attributes() == {"P90": {"setting": "street, then indoor"}, "P91": {"setting": "indoor"}}


def test_one_column_names_the_separators_tried(tmp_path):
    f = write(tmp_path / "one.csv", "participant\nP90\n")
    with pytest.raises(InputError) as e:
        read_attributes(f)
    assert str(e.value).startswith(f"{f}: row 1: only one column found (tried ',', ';' and tab as separators)")


def test_id_headed_file_is_refused_and_nothing_stored(two, stored, tmp_path):
    two.import_files([], attributes=write(tmp_path / "first.csv", "participant,age\nP90,30\n"))
    f = write(tmp_path / "ids.csv", "id,age\nP90,31\n")
    with pytest.raises(InputError) as e:
        two.import_files([], attributes=f)
    assert str(e.value) == (
        f"{f}: row 1: no column 'participant' for the participant ids; the columns are: 'id', 'age' — "
        "name the participant column 'participant', or pass --participant-column with its name"
    )
    assert stored.attributes() == {"P90": {"age": "30"}}


def test_participant_column_option(two, stored, tmp_path):
    f = write(tmp_path / "ids.csv", "ID,age\nP90,30\n")
    assert two.import_files([], attributes=f, participant_column="id").attributes == 1
    assert stored.attributes() == {"P90": {"age": "30"}}
    with pytest.raises(InputError, match=r"no column 'who' for the participant ids; the columns are: 'ID', 'age'"):
        two.import_files([], attributes=f, participant_column="who")


def test_every_bad_row_is_listed_and_nothing_stored(two, stored, tmp_path):
    two.import_files([], attributes=write(tmp_path / "first.csv", "participant,age_group\nP90,25-34\n"))
    before = stored.attributes()
    f = write(
        tmp_path / "bad.csv",
        "participant,age_group,setting\n"
        "P90,35-44,indoor\n"  # 2: conflicts with the stored 25-34
        "N99,25-34,street\n"  # 3: not in the project
        "P91,25-34,street\n"  # 4: fine
        "P91,25-34,street\n"  # 5: twice
        ",18-24,street\n"  # 6: no id
        "P91,1,2,3\n",  # 7: too many cells, and twice
    )
    with pytest.raises(AttributeRowsRefused) as e:
        two.import_files([], attributes=f)
    assert e.value.headline() == f"5 rows refused in {f}"
    assert e.value.details().splitlines() == [
        f"{f}: row 2: 'age_group' for P90 is '35-44' here but '25-34' is stored",
        f"{f}: row 3: participant 'N99' is not in this project",
        f"{f}: row 5: participant 'P91' appears twice (first in row 4)",
        f"{f}: row 6: no participant id in column 'participant'",
        f"{f}: row 7: more values than header columns ('3' past the last column)",
        f"{f}: row 7: participant 'P91' appears twice (first in row 4)",
        "Nothing was stored. What to do:",
        "  to replace stored values, import again with --update-attributes",
        "  participants in this project: P90, P91; correct the ids, or import their transcripts",
        "  keep one row per participant",
        "  give every row a participant id",
        "  check the separators on those rows, or put values that contain one in double quotes",
    ]
    assert str(e.value).startswith(
        f"{f}: row 2: 'age_group' for P90 is '35-44' here but '25-34' is stored (and 5 more problems) — "
        "nothing was stored; to replace stored values"
    )
    assert stored.attributes() == before


def test_participants_of_files_imported_with_the_attributes_count(project, blank_splitter, tmp_path):
    f = write(tmp_path / "p.csv", "participant,age\nP90,30\nP91,40\n")
    with pytest.raises(AttributeRowsRefused, match="participant 'P90' is not in this project") as e:
        project.import_files([], attributes=f)
    assert "this project has no transcripts yet" in e.value.hint
    assert project.documents() == []
    other = write(tmp_path / "other.txt", OTHER)
    r = project.import_files([DATA / "sample.txt", other], attributes=f, splitter=blank_splitter)
    assert len(r.imported) == 2 and r.attributes == 2


def test_update_attributes_reports_each_change(two, stored, tmp_path):
    two.import_files([], attributes=write(tmp_path / "a.csv", "participant,age_group,setting\nP90,25-34,indoor\n"))
    f = write(tmp_path / "b.csv", "participant,age_group,setting\nP90,35-44,indoor\nP91,18-24,\n")
    r = two.import_files([], attributes=f, update_attributes=True)
    assert r.attribute_changes == [AttributeChange("P90", "age_group", "25-34", "35-44")]
    assert (r.attributes, r.attributes_unchanged) == (2, 1)
    assert stored.attributes() == {"P90": {"age_group": "35-44", "setting": "indoor"}, "P91": {"age_group": "18-24"}}


def test_identical_reimport_changes_nothing(two, tmp_path):
    f = write(tmp_path / "a.csv", "participant,age_group\nP90,25-34\nP91,35-44\n")
    assert two.import_files([], attributes=f).attributes == 2
    again = two.import_files([], attributes=f)
    assert (again.attributes, again.attributes_unchanged, again.attribute_changes) == (0, 2, [])


# -- the command ---------------------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(main, ["-p", str(tmp_path / "p.db"), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    invoke("init")
    invoke("import", str(DATA / "sample.txt"), str(write(tmp_path / "other.txt", OTHER)), "--pipeline", "blank")
    return invoke


def test_cli_stores_refuses_and_updates(run, tmp_path):
    a = write(tmp_path / "a.csv", "id;age_group\nP90;25-34\nP91;35-44\n")
    r = run("import", "--attributes", str(a), code=1)
    assert r.output == (
        f"Error: {a}: row 1: no column 'participant' for the participant ids; the columns are: 'id', 'age_group' — "
        "name the participant column 'participant', or pass --participant-column with its name\n"
    )
    r = run("import", "--attributes", str(a), "--participant-column", "id")
    assert "  attributes: 2 values stored\n" in r.output
    assert (
        "  attributes: 0 values stored (2 already stored as they are)\n"
        in run("import", "--attributes", str(a), "--participant-column", "id").output
    )
    b = write(tmp_path / "b.csv", "participant,age_group\nP90,35-44\nN99,18-24\n")
    r = run("import", "--attributes", str(b), code=1)
    assert r.output == (
        f"Error: 2 rows refused in {b}:\n"
        f"{b}: row 2: 'age_group' for P90 is '35-44' here but '25-34' is stored\n"
        f"{b}: row 3: participant 'N99' is not in this project\n"
        "Nothing was stored. What to do:\n"
        "  to replace stored values, import again with --update-attributes\n"
        "  participants in this project: P90, P91; correct the ids, or import their transcripts\n"
    )
    c = write(tmp_path / "c.csv", "participant,age_group\nP90,35-44\n")
    r = run("import", "--attributes", str(c), "--update-attributes")
    assert "  attributes: 1 value stored\n  changed   P90 age_group: '25-34' → '35-44'\n" in r.output
    r = run("import", str(DATA / "sample.txt"), "--update-attributes", code=2)
    assert "--update-attributes needs --attributes CSV" in r.output


def test_a_quote_left_open_is_refused_before_anything_is_stored(two, stored, tmp_path):
    f = write(tmp_path / "a.csv", 'participant,age_group,setting\nP90,"18-24,street-based\nP91,25-34,indoor\n')
    with pytest.raises(InputError) as e:
        two.import_files([], attributes=f)
    assert str(e.value) == (
        f"{f}: row 2: a double quote opened in this row is never closed (every row after it would be one value) — "
        "close the quote or remove it; nothing was read from this file"
    )
    # closed further down instead: the value spanning lines is refused, with the rest of the file
    g = write(tmp_path / "b.csv", 'participant,age_group,setting\nP90,"18-24,street\nP91,25-34",indoor\n')
    with pytest.raises(AttributeRowsRefused) as r:
        two.import_files([], attributes=g)
    assert [(p.row, p.message) for p in r.value.problems] == [
        (2, "the value of 'age_group' runs on over lines that look like more rows")
    ]
    assert stored.attributes() == {}
    # a line break inside a cell, as a spreadsheet writes it, is a value like any other
    h = write(tmp_path / "c.csv", 'participant,notes\nP90,"met twice\nsecond time at home"\n')
    two.import_files([], attributes=h)
    assert stored.attributes() == {"P90": {"notes": "met twice\nsecond time at home"}}
