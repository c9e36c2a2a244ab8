"""The stage cache: keys follow inputs, outputs appear whole, --force recomputes."""

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.eval.stages import StageCache, check_forceable, stage_key


def test_keys_change_with_any_input_and_only_then():
    assert stage_key("adapter", {"epochs": 3}, [1, 2]) == stage_key("adapter", {"epochs": 3}, [1, 2])
    assert stage_key("adapter", {"epochs": 3}, [1, 2]) != stage_key("adapter", {"epochs": 4}, [1, 2])
    assert stage_key("adapter", {"a": 1, "b": 2}) == stage_key("adapter", {"b": 2, "a": 1})


def test_a_built_stage_is_found_and_a_failed_one_leaves_nothing(tmp_path):
    cache = StageCache(tmp_path)
    assert cache.find("index", "index", "k1") is None
    with cache.build("index", "k1") as out:
        (out / "data.txt").write_text("done")
    assert (cache.find("index", "index", "k1") / "data.txt").read_text() == "done"

    with pytest.raises(RuntimeError), cache.build("index", "k2") as out:
        (out / "data.txt").write_text("half")
        raise RuntimeError("killed")
    assert cache.find("index", "index", "k2") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index-k1"]


def test_force_names_a_stage_or_its_family(tmp_path):
    with StageCache(tmp_path).build("adapter", "k") as out:
        (out / "x").write_text("1")
    assert StageCache(tmp_path, check_forceable(["train:ft"])).find("train:ft", "adapter", "k") is None
    assert StageCache(tmp_path, check_forceable(["train"])).find("train:reader", "adapter", "k") is None
    assert StageCache(tmp_path, check_forceable(["all"])).find("train:ft", "adapter", "k") is None
    assert StageCache(tmp_path, check_forceable(["index"])).find("train:ft", "adapter", "k") is not None
    with pytest.raises(UserInputError, match="--force tran: not a stage"):
        check_forceable(["tran"])
