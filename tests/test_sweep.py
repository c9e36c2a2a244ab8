"""`ftvsrag sweep` runs through the experiment's own stages and cache: a second sweep reuses every
adapter and every answer set, and writes the same table."""

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
    assert main(["sweep", SWEEP, runs, *TINY]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "sweep" / "sweep.csv").read_text() == first
    assert first.splitlines()[0].startswith("method,paraphrases,epochs,train_accuracy")
    assert [line.split(",")[0] for line in first.splitlines()[1:]] == ["chat", "lm"]
    stage_lines = [line for line in out.splitlines() if line.startswith("==> ") and "point" not in line]
    # Per point: one training and two answer sets (training questions, paraphrases), all reused.
    assert len(stage_lines) == 2 * 3 and all("reused" in line for line in stage_lines)
    assert (tmp_path / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
