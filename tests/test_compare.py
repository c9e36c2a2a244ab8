"""`ftvsrag compare`: two runs paired question by question, from their answers.jsonl alone."""

import json
import shutil
from pathlib import Path

import pytest

from ftvsrag.cli import main
from ftvsrag.errors import UserInputError
from ftvsrag.eval.compare import compare_runs
from ftvsrag.eval.statistics import mcnemar_exact

STORED_RUN = Path(__file__).parent / "data" / "slice_run"


def stored_records() -> list[dict]:
    return [json.loads(line) for line in (STORED_RUN / "answers.jsonl").read_text().splitlines()]


def with_flips(records: list[dict], arm: str, split: str, count: int) -> list[dict]:
    """`records` with the first `count` answers of the arm on the split made wrong (empty output)."""
    flipped, changed = [], 0
    for record in records:
        if record["arm"] == arm and record["split"] == split and record["correct"] and changed < count:
            record = {**record, "output": "", "correct": False}
            changed += 1
        flipped.append(record)
    assert changed == count
    return flipped


def write_run(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def test_paired_figures_and_flipped_questions():
    a = stored_records()
    b = with_flips(a, "reader+rag", "train", 3)
    by_key = {(c.arm, c.split): c for c in compare_runs(a, b, ("a", "b"))}
    changed = by_key["reader+rag", "train"]
    assert (changed.n, changed.correct_a, changed.correct_b) == (10, 10, 7)
    assert changed.change == pytest.approx(-0.3)
    assert changed.p == pytest.approx(mcnemar_exact(3, 0))
    assert [(f.right_in, f.output_b) for f in changed.flips] == [("A", "")] * 3
    assert changed.flips[0].question == "What is the population of City_1?"
    unchanged = by_key["rag", "train"]
    assert (unchanged.change, unchanged.p, unchanged.flips) == (0.0, 1.0, [])
    assert list(by_key)[:4] == [
        ("base", "train"),
        ("base", "paraphrase"),
        ("base", "updated"),
        ("base", "general"),
    ]


def test_two_seeds_pair_by_their_place_in_each_run():
    a = stored_records()
    b = [{**r, "seed": 1} for r in a]
    assert all(c.n and not c.flips for c in compare_runs(a, b, ("seed 0", "seed 1")))


def test_different_questions_are_refused_in_one_line():
    a = stored_records()
    b = [{**r, "question": r["question"] + " Really?"} if r["id"] == "fact-00003" else r for r in a]
    with pytest.raises(UserInputError, match="asked different questions on the `train` split") as error:
        compare_runs(a, b, ("a", "b"))
    assert "\n" not in str(error.value)


def test_the_command_prints_the_table_and_writes_every_flip_to_a_page(tmp_path, capsys):
    a = write_run(tmp_path / "a", stored_records())
    b = write_run(tmp_path / "b", with_flips(stored_records(), "rag", "train", 4))
    assert main(["compare", str(a), str(b), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "| rag | train | 10 | 100 % (10) | 60.0 % (6) |" in out
    assert "## rag, `train`: 4 flipped (the first 2)" in out
    page = (tmp_path / "compare-a-vs-b.html").read_text()
    assert page.count("What is the population of City_") == 4
    assert "<h2>rag, <code>train</code>: 4 flipped</h2>" in page


def test_the_command_refuses_a_folder_without_answers(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(STORED_RUN), str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.strip().endswith("is not a run folder: no answers.jsonl")


def test_a_copied_run_compares_equal(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(STORED_RUN, copy)
    assert main(["compare", str(STORED_RUN), str(copy), "--html", str(tmp_path / "c.html")]) == 0
    assert (tmp_path / "c.html").is_file()
