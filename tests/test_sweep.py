"""`ftvsrag sweep` runs through the experiment's own stages and cache: a second sweep reuses every
adapter and every answer set, and writes the same table; on documents it sweeps each recipe over its
own augmentation (qa-gen: generated pairs per passage)."""

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ftvsrag.cli import main

SWEEP = str(Path(__file__).parent.parent / "configs" / "sweep.yaml")
TINY = [
    "experiment.data.num_cities=3",
    "grid.epochs=[1]",
    "grid.paraphrases=[0]",
    "grid.methods=[chat,lm]",
]


@pytest.mark.slow
def test_a_second_sweep_reuses_every_stage(tmp_path, capsys, smollm2):
    runs = f"experiment.runs_dir={tmp_path}"
    assert main(["sweep", SWEEP, runs, *TINY]) == 0
    first = (tmp_path / "sweep" / "sweep.csv").read_text()
    capsys.readouterr()
    # A sweep killed outright (SIGKILL) leaves its staging folder; the next sweep clears it, as a run does.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    leftover = tmp_path / f".sweep.partial-{gone.stdout.strip()}-x"
    leftover.mkdir()
    assert main(["sweep", SWEEP, runs, *TINY]) == 0
    out = capsys.readouterr().out
    assert not leftover.exists()
    assert (tmp_path / "sweep" / "sweep.csv").read_text() == first
    assert first.splitlines()[0].startswith("method,paraphrases,pairs_per_passage,epochs,train_accuracy")
    assert [line.split(",")[0] for line in first.splitlines()[1:]] == ["chat", "lm"]
    assert f"==> removed 1 leftover left by interrupted runs (0.0 MB): {leftover.name}" in out.splitlines()
    stage_lines = [line for line in out.splitlines() if line.startswith(("==> train", "==> answer"))]
    # Per point: one training and two answer sets (training questions, paraphrases), all reused.
    assert len(stage_lines) == 2 * 3 and all("reused" in line for line in stage_lines)
    assert (tmp_path / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_each_method_is_swept_over_its_own_augmentation_only():
    from ftvsrag.sweep import Point, SweepGrid

    grid = SweepGrid(epochs=[1.0, 3.0], paraphrases=[0, 4], pairs_per_passage=[2], methods=["chat", "qa-gen"])
    assert grid.grid_points() == [
        Point("chat", 0, 0, 1.0),
        Point("chat", 0, 0, 3.0),
        Point("chat", 4, 0, 1.0),
        Point("chat", 4, 0, 3.0),
        Point("qa-gen", 0, 2, 1.0),
        Point("qa-gen", 0, 2, 3.0),
    ]
    assert [p.method for p in SweepGrid(epochs=[1.0], methods=["held-out"]).grid_points()] == ["held-out"]


@pytest.mark.slow
def test_a_document_sweep_trains_qa_gen_on_the_pairs_it_generated(tmp_path, smollm2):
    root = Path(__file__).parent.parent
    popqa = root / "examples" / "popqa_22_occupation"
    questions = [json.loads(line) for line in (popqa / "questions.jsonl").read_text().splitlines()][:2]
    wanted = {doc_id for q in questions for doc_id in q["document_ids"]}
    documents = [json.loads(line) for line in (popqa / "documents.jsonl").read_text().splitlines()]
    (tmp_path / "docs.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in documents if d["id"] in wanted)
    )
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    overrides = [
        f"experiment.runs_dir={tmp_path / 'runs'}",
        f"experiment.data.documents={tmp_path / 'docs.jsonl'}",
        f"experiment.data.questions={tmp_path / 'questions.jsonl'}",
        "grid.epochs=[1]",
        "grid.pairs_per_passage=[1]",
        "grid.methods=[lm,qa-gen]",
    ]
    assert main(["sweep", str(root / "configs" / "sweep_documents.yaml"), *overrides]) == 0
    table = (tmp_path / "runs" / "sweep-documents" / "sweep.csv").read_text()
    lm, qa_gen = csv.DictReader(io.StringIO(table))
    point = ["method", "paraphrases", "pairs_per_passage", "epochs"]
    assert [lm[key] for key in point] == ["lm", "0", "0", "1.0"]
    assert lm["paraphrase_accuracy"] == "" and lm["trained_pairs"] == ""  # no paraphrases, no pairs
    assert [qa_gen[key] for key in point] == ["qa-gen", "0", "1", "1.0"] and int(qa_gen["trained_pairs"]) >= 0
    assert float(qa_gen["train_seconds"]) > 0 and 0 < float(qa_gen["train_top_answer_share"]) <= 1


def test_a_sweep_row_names_the_answer_a_collapsed_fine_tune_gives():
    from ftvsrag.eval.records import AnswerRecord
    from ftvsrag.sweep import COLUMNS, Point, point_row

    def record(output: str, gold: str) -> AnswerRecord:
        base = AnswerRecord("ft", "train", 0, gold, f"What is {gold}'s job?", gold, [], output, 10)
        return base.scored()

    # Three of four questions get "Politician."; two of them are right because their gold is it.
    answers = {
        "train": [
            record("Politician.", "politician"),
            record("politician", "politician"),
            record("Politician!", "actor"),
            record("He is a singer.", "singer"),
        ]
    }
    row = point_row(Point("qa-gen", 0, 3, 1.0), answers, trained_pairs=12, train_seconds=41.26)
    assert list(row) == COLUMNS
    assert row["train_accuracy"] == 0.75
    assert (row["train_top_answer"], row["train_top_answer_share"]) == ("politician", 0.75)
    assert (row["paraphrase_accuracy"], row["trained_pairs"], row["train_seconds"]) == ("", 12, 41.3)


def test_listed_points_replace_the_product_and_are_checked():
    from ftvsrag.errors import UserInputError
    from ftvsrag.sweep import Point, load_sweep_config

    config = Path(SWEEP).parent / "sweep_documents.yaml"
    listed = "grid.points=[{method: qa-gen, pairs_per_passage: 3, epochs: 3}, {method: lm, epochs: 1}]"
    assert load_sweep_config(config, [listed]).grid.grid_points() == [Point("qa-gen", 0, 3, 3.0), Point("lm")]
    wrong = {
        "{method: qa-gen, paraphrases: 2, pairs_per_passage: 3}": "'grid.points[0].paraphrases': 'qa-gen'",
        "{method: qa-gen, epochs: 3}": "'grid.points[0].pairs_per_passage' must be positive",
        "{method: lm, epoch: 3}": "unknown config key 'grid.points[0].epoch' (did you mean 'epochs'?)",
        "{method: lora, epochs: 3}": "grid.points[0].method",
    }
    for point, message in wrong.items():
        with pytest.raises(UserInputError, match=re.escape(message)):
            load_sweep_config(config, [f"grid.points=[{point}]"])
