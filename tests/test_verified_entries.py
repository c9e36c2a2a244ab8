"""A stored stage is reused only when it is what was stored: every entry lists its files' sizes and
digests, a damaged one is named in one line, moved aside (never deleted) and recomputed."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ftvsrag.cli import main
from ftvsrag.stages import DONE_FILE, Stage, StageCache
from tests.test_stages import Inputs


@dataclass(frozen=True)
class Output:
    length: int


def _write(inputs: Inputs, runtime, out: Path, scratch: Path) -> Output:
    runtime.append(inputs.text)
    (out / "adapter").mkdir()
    (out / "adapter" / "adapter_model.safetensors").write_bytes(inputs.text.encode() * 100)
    return Output(len(inputs.text))


TRAINING = Stage("train", _write, Output)


def stored_entry(root: Path) -> tuple[Path, list[str]]:
    calls: list[str] = []
    done = StageCache(root).run(TRAINING, "train:ft", Inputs("weights"), calls)
    return done.folder, calls


def test_an_entry_records_every_files_size_and_digest(tmp_path):
    folder, _ = stored_entry(tmp_path)
    files = json.loads((folder / DONE_FILE).read_text())["files"]
    size, digest = files["adapter/adapter_model.safetensors"]
    assert size == 700 and len(digest) == 32 and list(files) == ["adapter/adapter_model.safetensors"]


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda f: f.write_bytes(f.read_bytes()[:350]), "has 350 bytes, 700 recorded"),
        (lambda f: f.unlink(), "is missing"),
    ],
)
def test_a_cut_or_missing_file_is_named_moved_aside_and_recomputed(tmp_path, capsys, damage, said):
    folder, calls = stored_entry(tmp_path)
    damage(folder / "adapter" / "adapter_model.safetensors")
    capsys.readouterr()
    again = StageCache(tmp_path).run(TRAINING, "train:ft", Inputs("weights"), calls)
    line = next(line for line in capsys.readouterr().out.splitlines() if "damaged" in line)
    assert f"adapter/adapter_model.safetensors {said}" in line and "recomputing" in line
    assert calls == ["weights", "weights"] and not again.reused
    assert (again.folder / "adapter" / "adapter_model.safetensors").stat().st_size == 700
    aside = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].name.startswith(f".{folder.name}.damaged-")


def test_a_flipped_byte_is_found_by_the_digest_check(tmp_path):
    folder, calls = stored_entry(tmp_path)
    weights = folder / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(b"X" + weights.read_bytes()[1:])  # same size
    assert StageCache(tmp_path).run(TRAINING, "train:ft", Inputs("weights"), calls).reused  # sizes only
    assert not StageCache(tmp_path, verify=True).run(TRAINING, "train:ft", Inputs("weights"), calls).reused


def test_an_unreadable_record_is_damage_too(tmp_path):
    folder, calls = stored_entry(tmp_path)
    (folder / DONE_FILE).write_text("{not json")
    assert not StageCache(tmp_path).run(TRAINING, "train:ft", Inputs("weights"), calls).reused
    assert calls == ["weights", "weights"]


def test_cache_verify_names_a_damaged_entry_and_moves_it_aside(tmp_path, capsys):
    folder, _ = stored_entry(tmp_path / ".cache")
    weights = folder / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(b"X" + weights.read_bytes()[1:])
    assert main(["cache", "--runs-dir", str(tmp_path), "--verify"]) == 0
    out = capsys.readouterr().out
    assert f"{folder.name}: adapter/adapter_model.safetensors differs from its recorded digest" in out
    assert "1 of 1 entries damaged" in out and not folder.exists()


INDEXING = Stage("index", _write, Output)


def test_the_dry_run_names_a_damaged_entry_and_moves_nothing(tmp_path):
    from ftvsrag.plan import DAMAGED, PlanningCache

    calls: list[str] = []
    folder = StageCache(tmp_path / "cache").run(INDEXING, "index", Inputs("weights"), calls).folder
    (folder / "adapter" / "adapter_model.safetensors").unlink()
    planner = PlanningCache(tmp_path / "cache", scratch=tmp_path / "scratch")
    planner.run(INDEXING, "index", Inputs("weights"), calls)  # an index is planned by building it
    assert [(e.label, e.status) for e in planner.entries] == [("index", DAMAGED)]
    assert folder.is_dir() and not any(".damaged-" in p.name for p in (tmp_path / "cache").iterdir())


def test_the_dry_run_plans_a_stage_asked_twice_with_the_same_inputs_once(tmp_path):
    from ftvsrag.plan import COMPUTE, REUSED, PlanningCache

    calls: list[str] = []
    planner = PlanningCache(tmp_path / "cache", scratch=tmp_path / "scratch")
    first = planner.run(INDEXING, "index", Inputs("same"), calls, "train")
    again = planner.run(INDEXING, "index", Inputs("same"), calls, "updated")
    assert again is first and calls == ["same"]
    assert [(e.detail, e.status) for e in planner.entries] == [
        ("train", COMPUTE),
        ("updated, as computed above", REUSED),
    ]
