"""Outputs that appear whole or not at all, and the sweep of leftovers from killed writers."""

import json
import os
import signal
import subprocess
import sys

import pytest

from ftvsrag.files import atomic_dir, stale_staging, write_json
from ftvsrag.leftovers import remove_dead_writers


def test_a_failed_run_leaves_the_previous_run_untouched(tmp_path):
    final = tmp_path / "cities"
    with atomic_dir(final) as run:
        write_json(run / "results.json", {"good": True})
    with pytest.raises(RuntimeError), atomic_dir(final) as run:
        write_json(run / "results.json", {"good": False})
        raise RuntimeError("training crashed")
    assert json.loads((final / "results.json").read_text()) == {"good": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cities"]


def test_a_finished_run_replaces_the_previous_one(tmp_path):
    final = tmp_path / "cities"
    for value in (1, 2):
        with atomic_dir(final) as run:
            write_json(run / "results.json", {"value": value})
    assert json.loads((final / "results.json").read_text()) == {"value": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cities"]


@pytest.mark.slow
def test_the_staging_folder_of_a_killed_writer_is_swept_and_a_live_ones_is_kept(tmp_path):
    """Defect: a run killed with SIGKILL left runs/.<name>.partial-* behind for good."""
    script = (
        "import sys, time; from pathlib import Path; from ftvsrag.files import atomic_dir\n"
        "with atomic_dir(Path(sys.argv[1]) / 'cities') as run:\n"
        "    (run / 'half.txt').write_text('half'); print('ready', flush=True); time.sleep(60)\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path)]
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    assert stale_staging(tmp_path) == []  # still running: its folder stays
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    leftover = [p.name for p in tmp_path.iterdir()]
    assert len(leftover) == 1 and leftover[0].startswith(".cities.partial-")

    with atomic_dir(tmp_path / "mine") as mine:
        assert [p.name for p in stale_staging(tmp_path)] == leftover
        remove_dead_writers(tmp_path, tmp_path / ".cache")
        assert mine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
