"""The report renders from a stored answers.jsonl alone: no model, no index, no network."""

import json
import shutil
from pathlib import Path

from ftvsrag.eval.cli import main

STORED_RUN = Path(__file__).parent / "data" / "slice_run"


def test_report_renders_from_stored_answers(tmp_path, capsys):
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    expected = json.loads((run / "results.json").read_text())
    (run / "results.json").unlink()
    (run / "report.md").unlink(missing_ok=True)

    assert main(["report", str(run)]) == 0

    results = json.loads((run / "results.json").read_text())
    assert results["arms"] == expected["arms"]
    assert results["retrieval_by_split"] == expected["retrieval_by_split"]
    assert results["mcnemar"] == expected["mcnemar"]
    assert results["forgetting"] == expected["forgetting"]
    report = (run / "report.md").read_text()
    assert report == capsys.readouterr().out.rstrip("\n") + "\n"
    for heading in (
        "## Strict accuracy",
        "## Details",
        "## Retrieval",
        "## Paired comparisons",
        "## Forgetting",
        "## Cost per arm",
    ):
        assert heading in report


def test_rescoring_applies_to_stored_outputs(tmp_path):
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    answers = [json.loads(line) for line in (run / "answers.jsonl").read_text().splitlines()]
    tampered = [{**a, "correct": not a["correct"]} for a in answers]
    (run / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in tampered))
    assert main(["report", str(run)]) == 0
    rescored = [json.loads(line) for line in (run / "answers.jsonl").read_text().splitlines()]
    assert [a["correct"] for a in rescored] == [a["correct"] for a in answers]


def test_a_run_folder_with_answers_alone_still_rescores(tmp_path, capsys):
    run = tmp_path / "slice"
    run.mkdir()
    shutil.copy(STORED_RUN / "answers.jsonl", run / "answers.jsonl")
    expected = json.loads((STORED_RUN / "results.json").read_text())
    assert main(["report", str(run)]) == 0
    assert json.loads((run / "results.json").read_text())["arms"] == expected["arms"]
    assert "# ftvsrag report: slice" in capsys.readouterr().out


def test_a_damaged_answers_file_names_its_line(tmp_path, capsys):
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    lines = (run / "answers.jsonl").read_text().splitlines()
    lines[2] = lines[2][:40]
    (run / "answers.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "answers.jsonl:3: malformed JSON" in err
