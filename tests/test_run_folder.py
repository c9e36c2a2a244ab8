"""A run never removes a folder it did not make: a run name is one plain folder name, an existing
folder is replaced only if it is a run folder, and runs_dir is checked before any work. Each bad
case is one line and exit 2, before any model loads."""

import json
from pathlib import Path

import pytest

from ftvsrag import pipeline
from ftvsrag.cli import main
from ftvsrag.errors import UserInputError
from ftvsrag.run_folder import check_run_target, is_run_folder, staged_run

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")


@pytest.fixture
def no_model(monkeypatch):
    """Reaching the model is a failure here: every check must come before it."""

    def prepare(*args, **kwargs):
        raise AssertionError("the model was reached")

    monkeypatch.setattr(pipeline, "prepare", prepare)


def _run(capsys, *overrides) -> tuple[int, str]:
    status = main(["run", CITIES, *overrides])
    return status, capsys.readouterr().err


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["/home/me/thesis", ".cache", "../x", "a/b", "", "my run"])
def test_a_run_name_is_one_plain_folder_name(tmp_path, capsys, no_model, name):
    status, err = _run(capsys, f"runs_dir={tmp_path}", f"name={name!r}" if name else "name=''")
    assert status == 2
    assert err.count("\n") == 1 and "is not a run name" in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_a_run_is_never_replaced(tmp_path, capsys, no_model):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("years of work")
    status, err = _run(capsys, f"runs_dir={tmp_path}", "name=thesis")
    assert status == 2 and err.count("\n") == 1
    assert "exists and is not an ftvsrag run folder" in err
    assert _tree(tmp_path) == {"thesis/chapter1.tex": b"years of work"}


def test_runs_dir_that_cannot_be_written_is_said_before_any_work(tmp_path, capsys, no_model):
    status, err = _run(capsys, "runs_dir=/proc/nope")
    assert status == 2 and err.count("\n") == 1 and "runs_dir /proc/nope cannot be written" in err
    file = tmp_path / "file"
    file.write_text("x")
    status, err = _run(capsys, f"runs_dir={file}")
    assert status == 2 and "is a file, not a folder" in err
    assert file.read_text() == "x"


def test_a_run_folder_is_known_by_its_manifest(tmp_path):
    run = tmp_path / "cities"
    run.mkdir()
    assert not is_run_folder(run)
    (run / "manifest.json").write_text(json.dumps({"git_commit": "abc"}))
    assert is_run_folder(run)
    check_run_target(run)  # an earlier run may be replaced
    (run / "manifest.json").write_text("not json")
    assert not is_run_folder(run)


def test_a_failed_run_leaves_no_folder_it_made(tmp_path):
    final = tmp_path / "new" / "runs" / "x"
    with pytest.raises(RuntimeError), staged_run(final) as staging:
        (staging / "half.json").write_text("{")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    (kept / "other").mkdir(parents=True)
    with pytest.raises(RuntimeError), staged_run(kept / "x"):
        raise RuntimeError("killed")
    assert sorted(p.name for p in kept.iterdir()) == ["other"]


def test_a_folder_that_appears_during_the_run_is_left_alone(tmp_path):
    final = tmp_path / "x"
    with pytest.raises(UserInputError, match="appeared during the run"), staged_run(final) as staging:
        (staging / "results.json").write_text("{}")
        final.mkdir()
        (final / "mine.txt").write_text("mine")
    assert _tree(tmp_path) == {"x/mine.txt": b"mine"}


def test_an_earlier_run_is_replaced_whole(tmp_path):
    final = tmp_path / "x"
    final.mkdir()
    (final / "manifest.json").write_text(json.dumps({"git_commit": "abc"}))
    (final / "old.txt").write_text("old")
    with staged_run(final) as staging:
        (staging / "manifest.json").write_text(json.dumps({"git_commit": "def"}))
    assert _tree(tmp_path) == {"x/manifest.json": b'{"git_commit": "def"}'}


def test_the_dry_run_checks_what_a_run_checks(tmp_path, capsys, no_model):
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "notes.md").write_text("mine")
    status, err = _run(capsys, f"runs_dir={tmp_path}", "name=thesis", "--dry-run")
    assert status == 2 and "is not an ftvsrag run folder" in err
    status, err = _run(capsys, "runs_dir=/proc/nope", "--dry-run")
    assert status == 2 and "cannot be written" in err
    assert _tree(tmp_path) == {"thesis/notes.md": b"mine"}


STAGED_THEN_WAITS = """
import sys, time
from pathlib import Path
from ftvsrag import pipeline
from ftvsrag.cli import main
from ftvsrag.run_folder import staged_run

def staged_then_waits(config, force, **options):
    with staged_run(Path(config.runs_dir) / config.name):
        print("staged", flush=True)
        time.sleep(120)

pipeline.run_experiment = staged_then_waits
raise SystemExit(main(["run", {config!r}, "runs_dir=" + {runs!r}, "name=killed"]))
"""


@pytest.mark.slow
def test_a_run_ended_by_sigterm_leaves_no_staging_folder(tmp_path):
    """`kill` (SIGTERM) once ended the process at once and left `.killed.partial-PID-…` behind; it
    now unwinds as Ctrl-C does, and the earlier run folder of that name stays as it was."""
    import signal
    import subprocess
    import sys

    config = str(Path(__file__).parent.parent / "configs" / "cities.yaml")
    earlier = tmp_path / "killed"
    earlier.mkdir()
    (earlier / "answers.jsonl").write_text("{}\n")
    (earlier / "manifest.json").write_text("{}")
    script = STAGED_THEN_WAITS.format(config=config, runs=str(tmp_path))
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "staged"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted; no run folder was changed" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed"]
    assert (earlier / "answers.jsonl").read_text() == "{}\n"
