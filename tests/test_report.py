"""The report renders from a stored answers.jsonl alone: no model, no index, no network."""

import json
import shutil
from pathlib import Path

from ftvsrag.cli import main

STORED_RUN = Path(__file__).parent / "data" / "slice_run"


def test_report_renders_from_stored_answers(tmp_path, capsys):
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    expected = json.loads((run / "results.json").read_text())
    (run / "results.json").unlink()
    (run / "report.md").unlink(missing_ok=True)

    assert main(["report", str(run)]) == 0

    results = json.loads((run / "results.json").read_text())
    # Records of an earlier version re-score to the same figures; blocks added since come beside them.
    for arm, by_split in expected["arms"].items():
        for split, block in by_split.items():
            assert results["arms"][arm][split].items() >= block.items()
    assert results["majority"]["train"]["accuracy"] == 0.1  # ten cities, ten different numbers
    assert results["retrieval_by_split"] == expected["retrieval_by_split"]
    assert results["mcnemar"] == expected["mcnemar"]
    assert results["forgetting"] == expected["forgetting"]
    report = (run / "report.md").read_text()
    assert report == capsys.readouterr().out.rstrip("\n") + "\n"
    for heading in (
        "## Accuracy by the `prefix` rule",
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
    results = json.loads((run / "results.json").read_text())
    for arm, by_split in expected["arms"].items():
        for split, block in by_split.items():
            assert results["arms"][arm][split].items() >= block.items()
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


def test_report_keeps_the_computed_seconds_of_reused_stages(tmp_path):
    """Defect: `ftvsrag report` on a run whose stages were reused rewrote the cost table with the
    copy times (~0 s) instead of what training and answering took when computed."""
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    results = json.loads((run / "results.json").read_text())
    wall = {stage: 0.01 for stage in results["timings_s"]}
    computed = {"train:ft": 61.5, "answer:ft": 12.0, "answer:rag": 40.0}
    results.update(timings_s=wall, compute_s=computed)
    (run / "results.json").write_text(json.dumps(results))

    assert main(["report", str(run)]) == 0

    costs = json.loads((run / "results.json").read_text())["costs"]
    assert costs["ft"]["train_s"] == 61.5 and costs["ft+rag"]["train_s"] == 61.5
    assert costs["rag"]["seconds_per_question"] == round(40.0 / 23, 3)
    assert "| ft | 61.5 |" in (run / "report.md").read_text()


def test_a_rescore_keeps_what_the_run_added_beside_the_scores(tmp_path):
    """Defect guard: the generated pairs' counts and the training curves come from the run, not
    from the answers; `ftvsrag report` must not drop them."""
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    results = json.loads((run / "results.json").read_text())
    added = {
        "generated_qa": {
            "generator": "the run's model",
            "passages": 2,
            "per_passage": 3,
            "kept": 4,
            "dropped": {"not written": 2},
            "file": "generated_qa.jsonl",
        },
        "training_curves": {"ft": [[5, 2.0], [10, 1.0]]},
    }
    (run / "results.json").write_text(json.dumps(results | added))
    assert main(["report", str(run)]) == 0
    rescored = json.loads((run / "results.json").read_text())
    assert {key: rescored[key] for key in added} == added
    assert (run / "training.png").is_file()
    assert "## Training loss" in (run / "report.md").read_text()


def test_a_run_folder_that_names_only_its_recipe_gets_the_recipe_phrase(tmp_path, capsys):
    """Manifests written before the phrase was recorded hold `knowledge_method` alone; the report
    still says what the fine-tune trained on (it once dropped the words on such a folder)."""
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["report_meta"]["knowledge_method"] = "lm"
    (run / "manifest.json").write_text(json.dumps(manifest))

    assert main(["report", str(run)]) == 0

    sentence = "The knowledge fine-tune (continued pre-training on the knowledge text) answered 0 %"
    assert sentence in capsys.readouterr().out


def test_the_report_names_the_processor_its_timings_were_measured_on(tmp_path, capsys):
    """A run folder recorded before the processor was kept keeps its old first line."""
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    assert main(["report", str(run)]) == 0
    assert "Model `smollm2-135m-instruct` on `cpu` (float32). " in capsys.readouterr().out

    manifest = json.loads((run / "manifest.json").read_text())
    manifest["report_meta"]["processor"] = "AMD EPYC 7B13"
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(run)]) == 0
    assert "Model `smollm2-135m-instruct` on `cpu` (AMD EPYC 7B13, float32). " in capsys.readouterr().out
