"""Several ftvsrag processes over one runs/: a run name is written by one process at a time (a second
is refused in one line before any work), a cache entry is computed once (a second process waits for
it and reuses it), and what interrupted writers left is removed by the next run with one line while
a live writer's is never touched."""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ftvsrag import pipeline
from ftvsrag.cli import main
from ftvsrag.files import STAGING_MARK
from ftvsrag.leftovers import remove_abandoned_checkpoints, remove_dead_writers
from ftvsrag.locks import claimed_run, entry_lock
from tests.test_run_folder import CITIES, no_model  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parent.parent
SLOW_STAGE = """
import json, sys, time
from pathlib import Path
from ftvsrag.stages import Stage, StageCache
from tests.test_stages import Inputs, Output

def compute(inputs, runtime, out, scratch):
    with open(sys.argv[2], "a") as calls:
        calls.write(sys.argv[3] + "\\n")
    time.sleep(2)
    (out / "weights.bin").write_text(inputs.text * 10)
    return Output(len(inputs.text), {})

done = StageCache(Path(sys.argv[1])).run(Stage("train", compute, Output), "train:ft", Inputs("shared"))
print(json.dumps({"reused": done.reused, "length": done.output.length, "folder": done.folder.name}))
"""


@pytest.mark.slow
def test_a_stage_two_processes_need_at_once_is_computed_once(tmp_path):
    """Defect: two runs that needed the same stage both computed it, and the second publication
    replaced the first's entry under its reader."""
    calls = tmp_path / "calls.txt"
    command = [sys.executable, "-c", SLOW_STAGE, str(tmp_path / "cache"), str(calls)]
    first = subprocess.Popen([*command, "first"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    while not calls.exists():  # the first is computing: the second arrives while it holds the entry
        time.sleep(0.05)
    second = subprocess.run([*command, "second"], capture_output=True, text=True, check=True, cwd=ROOT)
    first_out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    assert calls.read_text() == "first\n"
    said = second.stdout.splitlines()
    assert said[0].startswith("==> train:ft: another run is computing train-") and "waiting for it" in said[0]
    one, two = json.loads(first_out.splitlines()[-1]), json.loads(said[-1])
    assert (one["reused"], two["reused"]) == (False, True)
    assert one["folder"] == two["folder"] and one["length"] == two["length"] == 6


def test_a_run_name_another_process_is_writing_is_refused_in_one_line(tmp_path, capsys, no_model):  # noqa: F811
    """Defect: two runs with one name both ran, and the later publication replaced the earlier."""
    with claimed_run(tmp_path / "cities"):
        status = main(["run", CITIES, f"runs_dir={tmp_path}", "name=cities"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1
    assert error == (
        f"ftvsrag: error: another ftvsrag process is writing {tmp_path / 'cities'} now: wait for it to "
        "finish, or choose another name=\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_beside_a_run_of_its_name_is_refused_in_one_line(tmp_path, capsys):
    sweep = str(Path(CITIES).with_name("sweep.yaml"))
    with claimed_run(tmp_path / "busy"):
        status = main(["sweep", sweep, f"experiment.runs_dir={tmp_path}", "experiment.name=busy"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "another ftvsrag process is writing" in error
    assert list(tmp_path.iterdir()) == []


def test_a_run_name_is_free_again_once_its_run_ends(tmp_path, capsys, no_model):  # noqa: F811
    with claimed_run(tmp_path / "cities"):
        pass
    with pytest.raises(AssertionError, match="the model was reached"):
        main(["run", CITIES, f"runs_dir={tmp_path}", "name=cities"])


def test_run_verify_reaches_the_stage_cache(tmp_path, monkeypatch):
    asked: list[bool] = []

    def run_claimed(run, knowledge, questions):
        asked.append(run.verify)
        raise SystemExit(0)

    monkeypatch.setattr(pipeline, "run_claimed", run_claimed)
    for flags in (["--verify"], []):
        with pytest.raises(SystemExit):
            main(["run", CITIES, f"runs_dir={tmp_path}", *flags])
    assert asked == [True, False]


def _dead_pid() -> int:
    """A process id no process has: the kernel hands out ids below pid_max."""
    return int(Path("/proc/sys/kernel/pid_max").read_text())


@dataclass(frozen=True)
class Cache:
    runs: Path
    root: Path


def _leftovers(tmp_path: Path) -> Cache:
    runs, root = tmp_path / "runs", tmp_path / "runs" / ".cache"
    (runs / f".cities{STAGING_MARK}{_dead_pid()}-abc" / "half").mkdir(parents=True)
    (root / f".train-1{STAGING_MARK}{_dead_pid()}-def").mkdir(parents=True)
    (root / f".train-1{STAGING_MARK}{_dead_pid()}-def" / "adapter.bin").write_bytes(b"x" * 2_000_000)
    for name in ("train-finished", "train-interrupted", "train-training-now"):
        (root / f"{name}.checkpoints" / "checkpoint-2").mkdir(parents=True)
        (root / f"{name}.checkpoints" / "checkpoint-2" / "optimizer.pt").write_bytes(b"y" * 1_000_000)
    (root / "train-finished").mkdir()
    (root / f".answers-2{STAGING_MARK}1-live").mkdir()  # pid 1 runs for as long as the machine does
    return Cache(runs, root)


def test_dead_writers_staging_and_finished_checkpoints_go_at_the_start_with_one_line(tmp_path):
    """Defect: a run killed mid-training left runs/.cache/.train-….partial-<pid>-… for good."""
    cache = _leftovers(tmp_path)
    with entry_lock(cache.root / "train-training-now", "train:ft"):
        line = remove_dead_writers(cache.runs, cache.root)
    assert line == (
        "==> removed 3 leftovers left by interrupted runs (3.0 MB): "
        f".cities{STAGING_MARK}{_dead_pid()}-abc, .train-1{STAGING_MARK}{_dead_pid()}-def, "
        "train-finished.checkpoints"
    )
    assert sorted(p.name for p in cache.runs.iterdir()) == [".cache"]
    assert sorted(p.name for p in cache.root.iterdir()) == [
        f".answers-2{STAGING_MARK}1-live",
        ".locks",
        "train-finished",
        "train-interrupted.checkpoints",
        "train-training-now.checkpoints",
    ]
    assert remove_dead_writers(cache.runs, cache.root) is None  # nothing more: no line


def test_checkpoints_no_run_resumed_go_at_the_end_and_a_live_trainings_stay(tmp_path):
    cache = _leftovers(tmp_path)
    with entry_lock(cache.root / "train-training-now", "train:ft"):
        line = remove_abandoned_checkpoints(cache.root)
    assert line == (
        "==> removed 1 leftover of interrupted trainings no run resumed (1.0 MB): "
        "train-interrupted.checkpoints"
    )
    assert (cache.root / "train-training-now.checkpoints" / "checkpoint-2" / "optimizer.pt").is_file()
    assert (cache.root / "train-finished.checkpoints").is_dir()  # finished: the start's to remove
