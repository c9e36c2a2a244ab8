"""A full disk (ENOSPC) during a stage or while the run folder is written: one line naming the folder
and the free space, the earlier run folder and every cache entry as they were, and the next run on a
disk with room succeeds. For real on a small tmpfs as runs_dir where the machine lets us mount one."""

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ftvsrag.cache_admin import list_entries, verify_entries
from ftvsrag.cli import main
from ftvsrag.files import STAGING_MARK, DiskFull, disk_full_in_one_line

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")
SLICE = ["data.num_cities=10", "train.epochs=1", "eval.arms=[ft,rag]", "eval.splits=[train]"]
SLICE += ["eval.forgetting_probe=false", "name=cities"]


def test_a_full_disk_is_one_line_naming_the_folder_and_its_free_space(tmp_path):
    target = tmp_path / "adapter_model.safetensors"
    with pytest.raises(DiskFull) as raised, disk_full_in_one_line(tmp_path / "runs"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    said = str(raised.value)
    assert (
        said.startswith(f"the disk holding {tmp_path} is full (") and " MB free): nothing was damaged" in said
    )
    assert "\n" not in said


def test_a_full_disk_wrapped_by_a_library_is_found_by_its_message(tmp_path):
    # torch's writer says: "[enforce fail at inline_container.cc] . PytorchStreamWriter failed
    # writing file data/0: file write failed" with the system's message in the chain.
    with (
        pytest.raises(DiskFull, match=f"the disk holding {tmp_path} is full"),
        disk_full_in_one_line(tmp_path),
    ):
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as error:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0") from error
    with pytest.raises(DiskFull), disk_full_in_one_line(tmp_path):
        raise RuntimeError(f"Error while serializing: I/O error: {os.strerror(errno.ENOSPC)} (os error 28)")


def test_any_other_error_passes_unchanged(tmp_path):
    with pytest.raises(PermissionError), disk_full_in_one_line(tmp_path):
        raise PermissionError(errno.EACCES, "Permission denied")


def _mount_tmpfs(folder: Path, megabytes: int) -> bool:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)], capture_output=True
    )
    return mounted.returncode == 0


BAR = re.compile(r"\d+/\d+ \[")
"""A progress bar (tqdm's '2/4 [00:02<00:02'), drawn on the error stream beside the error line."""


def _lines(stream: str) -> list[str]:
    """What a terminal shows: each line as its last carriage return left it."""
    return [line.split("\r")[-1] for line in stream.split("\n") if line.split("\r")[-1].strip()]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, 160):
        pytest.skip("this machine does not let the tests mount a tmpfs (the unit tests above stand in)")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)  # Chroma may still hold a file open


def _fill_leaving(disk: Path, megabytes: float) -> Path:
    ballast = disk / "ballast"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    ballast.write_bytes(b"\0" * max(0, int(free - megabytes * 1e6)))
    return ballast


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, where",
    [("train.epochs=2", "runs/.cache"), ("eval.max_new_tokens=20", "runs")],
    ids=["during-training", "while-publishing"],
)
def test_a_full_disk_damages_nothing_and_the_next_run_with_room_succeeds(
    small_disk, capsys, smollm2, change, where
):
    """Defect: a full disk ended in a library's traceback. A new training needs 19 MB for its adapter
    and more for its checkpoint; new answers need kilobytes, and the run folder 20 MB (its adapters)."""
    runs = small_disk / "runs"
    assert main(["run", CITIES, f"runs_dir={runs}", *SLICE]) == 0
    before = _tree(runs / "cities")
    entries = sorted(e.path.name for e in list_entries(runs / ".cache"))
    capsys.readouterr()
    ballast = _fill_leaving(small_disk, 6)

    assert main(["run", CITIES, f"runs_dir={runs}", *SLICE, change]) == 2
    said = [line for line in _lines(capsys.readouterr().err) if not BAR.search(line)]
    assert len(said) == 1 and said[0].startswith(f"ftvsrag: error: the disk holding {small_disk / where} ")
    assert " MB free): nothing was damaged" in said[0]
    assert _tree(runs / "cities") == before
    assert [p.name for p in runs.iterdir() if STAGING_MARK in p.name] == []
    cached = list_entries(runs / ".cache")
    assert [e.path.name for e in cached if STAGING_MARK in e.path.name] == []
    assert verify_entries(cached) == []  # whatever was published is whole
    assert set(entries) <= {e.path.name for e in cached}

    ballast.unlink()
    assert main(["run", CITIES, f"runs_dir={runs}", *SLICE, change]) == 0
    key, value = change.split("=")
    section, name = key.split(".")
    assert yaml.safe_load((runs / "cities" / "config.yaml").read_text())[section][name] == int(value)
    assert set(json.loads((runs / "cities" / "results.json").read_text())["arms"]) == {"ft", "rag"}
