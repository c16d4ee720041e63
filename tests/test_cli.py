from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from coder.cli import main

from .conftest import DATA, REPO, write


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()

    def invoke(*args, code=0, input=None):
        result = runner.invoke(main, ["-p", str(tmp_path / "p.db"), *args], input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def project(run):
    run("init")
    run("import", str(DATA / "sample.txt"), "--pipeline", "blank")
    run("codebook", "load", str(DATA / "mini.yaml"))
    return run


def test_help_lists_commands():
    out = CliRunner().invoke(main, ["--help"]).output
    for cmd in ("init", "import", "codebook", "suggest", "show", "export", "demo", "documents"):
        assert f"  {cmd}" in out


def test_init_creates_then_opens(run, tmp_path):
    assert run("init").output == f"Created project {tmp_path / 'p.db'} (schema: 10 migrations).\n"
    assert run("init").output.startswith("Opened existing project")


def test_commands_need_a_project(run, tmp_path):
    r = run("documents", code=1)
    assert r.output == (
        f"Error: {tmp_path / 'p.db'}: no project file here — run 'coder init' first, "
        "or point --project / CODER_PROJECT at your project\n"
    )


def test_project_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CODER_PROJECT", str(tmp_path / "env.db"))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_import_reports_and_is_idempotent(run):
    run("init")
    out = run("import", str(DATA / "sample.txt"), "--pipeline", "blank").output
    assert "  imported  sample.txt  participant P90 · txt · 6 turns · 9 participant sentences (13 in all)" in out
    again = run("import", str(DATA / "sample.txt"), "--pipeline", "blank").output
    assert "  unchanged sample.txt (already imported)" in again


def test_import_bad_file_one_line_error_and_no_change(run, tmp_path):
    run("init")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Interviewer: Hi.\nP01: caf\xe9\n")
    r = run("import", str(DATA / "sample.txt"), str(bad), "--pipeline", "blank", code=1)
    assert r.output == (
        f"Error: {bad}:2: not UTF-8 text (byte 0xe9 cannot be decoded) — re-save the file as "
        "UTF-8 (in most editors: Save As → Encoding: UTF-8)\n"
    )
    assert "No documents yet" in run("documents").output


def test_import_csv_options_and_missing_column(run, tmp_path):
    run("init")
    csvf = write(tmp_path / "survey.csv", "respondent,answer\nR1,I pray every night\nR2,My sister helps me\nR3,\n")
    r = run("import", str(csvf), "--document-column", "respondent", "--text-column", "answer", "--pipeline", "blank")
    assert "survey.csv#R1  participant R1" in r.output
    assert "  note      survey.csv: 1 row with no text in 'answer' was not imported (row 4)\n" in r.output
    r = run("import", str(csvf), "--text-column", "words", "--pipeline", "blank", code=1)
    assert r.output == (
        f"Error: {csvf}: row 1: no column 'words' (named by --text-column); the columns are: "
        "respondent, answer — pass --text-column with one of those names\n"
    )


def test_import_attributes_only(run):
    run("init")
    csv_path = str(REPO / "corpora" / "demo" / "participants.csv")
    refused = run("import", "--attributes", csv_path, code=1)  # nobody to attach them to yet
    assert "12 rows refused" in refused.output and "row 2: participant 'P01' is not in this project" in refused.output
    from coder.app import Project

    run("import", *(str(f) for f in Project.demo_inputs()[0]), "--pipeline", "blank")
    r = run("import", "--attributes", csv_path)
    assert "attributes: 84 values stored" in r.output


def test_import_without_arguments_is_a_usage_error(run):
    run("init")
    assert "name transcript files to import" in run("import", code=2).output


def test_codebook_validate_ok_and_problems(run, tmp_path):
    r = run("codebook", "validate", str(DATA / "mini.yaml"))
    assert r.output.startswith(f"{DATA / 'mini.yaml'}: OK — 'mini' version 0.1, 5 codes (3 top-level, 4 leaves)")
    bad = write(tmp_path / "bad.yaml", "name: x\nversion: 1\ncodes:\n  - name: A\n  - name: A\n    definition: d\n")
    r = run("codebook", "validate", str(bad), code=1)
    assert r.output == (
        f"Error: 2 problem(s) in the codebook:\n{bad}:4: code 'A' has no definition\n"
        f"{bad}:5: duplicate code name 'A' among siblings (first at line 4)\n"
    )


def test_codebook_load_and_show(project):
    assert project("codebook", "load", str(DATA / "mini.yaml")).output.startswith("Already current: codebook 'mini'")
    text = project("codebook", "show").output
    assert "  Spirituality / faith  [Countryman-Roswurm (2012)]\n    Reading scripture\n" in text
    data = json.loads(project("codebook", "show", "--format", "json").output)
    assert data["codes"][0]["children"][1]["name"] == "Prayer and personal spiritual practices"


def test_codebook_show_without_codebook(run, tmp_path):
    run("init")
    r = run("codebook", "show", code=1)
    assert r.output == (
        f"Error: {tmp_path / 'p.db'}: no codebook loaded — run 'coder codebook load "
        "codebooks/resilience.yaml' (or your own)\n"
    )


def test_suggest_show_export(project, tmp_path):
    r = project("suggest", "--model", "hash", "--threshold", "0.3")
    assert (
        "Scored 9 participant segments against the codebook (similarity.v2, centroid, threshold 0.30, top 3)."
        in r.output
    )
    assert "Model: hash-bow-64@v1." in r.output
    old = project("suggest", "--model", "hash", "--threshold", "0.3", "--suggester", "similarity.v1")
    assert "(similarity.v1, centroid, threshold 0.30, top 3)" in old.output
    r = project("suggest", "--model", "hash", "--threshold", "0.3")
    shown = project("show", "P90").output
    assert shown.startswith("sample.txt · participant P90 · 6 turns · ")
    assert "suggestions (similarity.v2)" in shown
    assert "      → Spirituality / faith > Reading scripture  " in shown
    out = tmp_path / "c.csv"
    r = project("export", "codings", "-o", str(out))
    lines = out.read_text().splitlines()
    header = (
        "document,participant,speaker,start,end,text,code,status,score,coder,suggester,model,learned_from,probability"
    )
    assert lines[0] == header
    assert r.output == f"Wrote {len(lines) - 1} rows to {out}.\n"
    jl = project("export", "codings", "--format", "jsonl").output.splitlines()
    assert len(jl) == len(lines) - 1 and json.loads(jl[0])["status"] == "suggested"


def test_documents_lists(project):
    out = project("documents").output.splitlines()
    assert out[0].split() == ["document", "participant", "format", "turns", "segments", "participant", "segments"]
    assert out[1].split() == ["sample.txt", "P90", "txt", "6", "13", "9"]


def test_show_lists_documents_and_unknown(project):
    assert "sample.txt  P90" in project("show").output
    assert project("show", "nope", code=1).output == (
        "Error: no document 'nope' — 'coder show' with no argument lists the documents\n"
    )
    assert project("show", "P9", code=1).output == (
        "Error: no document 'P9' — did you mean 'P90'? 'coder show' with no argument lists the documents\n"
    )


def test_suggest_bad_model_folder(project, tmp_path):
    (tmp_path / "empty-model").mkdir()
    r = project("suggest", "--model", str(tmp_path / "empty-model"), code=1)
    assert r.output == (
        f"Error: {tmp_path / 'empty-model'}: not a sentence-transformers model folder (no modules.json "
        "or config.json) — pass --model a folder saved with SentenceTransformer.save()\n"
    )
    r = project("suggest", "--model", str(tmp_path / "missing"), code=1)
    assert "model folder not found" in r.output
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "modules.json").write_text("[{not json")
    r = project("suggest", "--model", str(broken), code=1)
    assert r.output.startswith(f"Error: {broken}: model does not load: ")
    assert r.output.endswith(" — check the folder is a complete sentence-transformers model\n")
    assert r.output.count("\n") == 1


def test_not_a_project_file(tmp_path):
    f = write(tmp_path / "notes.txt", "hello")
    r = CliRunner().invoke(main, ["-p", str(f), "documents"])
    assert r.exit_code == 1
    assert r.output == (
        f"Error: {f}: not a coder project (not an SQLite file) — check the path; coder projects are "
        "made by 'coder init'\n"
    )


def test_demo_runs_with_fake_model(tmp_path):
    if not (REPO / "codebooks" / "resilience.yaml").exists():
        pytest.skip("demo codebook not written yet")
    r = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "d"), "--model", "hash", "--pipeline", "blank"])
    assert r.exit_code == 0, r.output
    assert "Theme frequencies — PRE-CODED, UNREVIEWED SUGGESTIONS" in r.output
    assert "12 documents · 12 participants" in r.output


def test_suggest_reports_the_whole_commands_time(project, monkeypatch):
    """A re-run with nothing new to embed still waits for the model: that time is reported too."""
    import re
    import time

    import coder.embed

    real = coder.embed.load_embedder

    def slow(*args, **kwargs):
        time.sleep(0.4)  # loading a real model takes seconds
        return real(*args, **kwargs)

    monkeypatch.setattr(coder.embed, "load_embedder", slow)
    project("suggest", "--model", "hash")
    out = project("suggest", "--model", "hash").output
    assert "Embedded 0 new segment texts; " in out
    assert float(re.search(r"suggestions in (\d+\.\d)s\.", out).group(1)) >= 0.4


def test_shared_output_options_refuse_a_missing_folder(project, tmp_path):
    missing = tmp_path / "nope" / "c.csv"
    for args in (["export", "codings"], ["decisions", "export"], ["tally"]):
        r = project(*args, "-o", str(missing), code=1)
        assert r.output == (
            f"Error: {missing.parent}: no such folder for the output file — create it, or pick another -o\n"
        ), args


def test_a_misspelt_interviewer_or_none_at_all_is_said_and_remove_lets_the_corrected_file_in(run, tmp_path):
    typo = tmp_path / "P08.txt"
    typo.write_text("Interviewer: Hi.\nP08: I pray.\nInterveiwer: And then?\nP08: I read.\n", encoding="utf-8")
    run("init")
    out = run("import", str(typo), "--pipeline", "blank").output
    assert (
        "  note      P08.txt: 'Interveiwer' (first at [3] in 'coder show') is read as a participant; if it is the "
        "interviewer misspelt, 'coder remove P08.txt', correct the label and import it again\n"
    ) in out
    typo.write_text("Interviewer: Hi.\nP08: I pray.\nInterviewer: And then?\nP08: I read.\n", encoding="utf-8")
    refused = run("import", str(typo), "--pipeline", "blank", code=1).output
    assert "to replace it, 'coder remove P08.txt' first" in refused
    run("codebook", "load", str(DATA / "mini.yaml"))
    run("code", "P08.txt", "--segment", "2", "--code", "Spirituality / faith", "--coder", "ana")
    kept = run("remove", "P08.txt", code=1).output
    assert kept == (
        "Error: 'P08.txt' holds 1 decision: nothing was removed — keep them with 'coder decisions export -o "
        "answers.csv', then pass --with-answers to remove them\n"
    )
    assert "no document named exactly 'P0'" in run("remove", "P0", "--with-answers", code=1).output  # no prefix
    assert run("remove", "P08", "--with-answers").output == (
        "Removed P08.txt: 3 participant sentences, 1 decision. Import the corrected file with 'coder import'.\n"
    )
    out = run("import", str(typo), "--pipeline", "blank").output
    assert "imported" in out and "note" not in out
    assert run("decisions", "export").output.count("\n") == 1  # the header: the removed answer went with it
    otter = tmp_path / "otter.txt"
    otter.write_text("Speaker 1: How are you?\nSpeaker 2: Fine, I pray a lot.\n", encoding="utf-8")
    out = run("import", str(otter), "--pipeline", "blank").output
    assert "otter.txt: no interviewer among its speakers ('Speaker 1', 'Speaker 2')" in out


def test_an_interviewee_label_is_no_misspelt_interviewer(run, tmp_path):
    pair = tmp_path / "pair.txt"
    pair.write_text("Interviewer: Hi.\nInterviewee: I pray.\n", encoding="utf-8")
    run("init")
    assert "note" not in run("import", str(pair), "--pipeline", "blank").output
