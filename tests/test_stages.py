"""The stage cache: the inputs record is the key and what the stage reads; outputs appear whole;
--force recomputes; seconds, tokens and reuse are booked in one ledger."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.locks import LOCKS_DIR
from ftvsrag.stages import Stage, StageCache, check_forceable, stage_key


@dataclass(frozen=True)
class Inputs:
    text: str


@dataclass(frozen=True)
class Output:
    length: int
    tokens: dict


def _measure(inputs: Inputs, runtime, out: Path, scratch: Path) -> Output:
    runtime.append(inputs.text)
    if inputs.text == "boom":
        (out / "half.txt").write_text("half")
        raise RuntimeError("killed")
    (out / "text.txt").write_text(inputs.text)
    return Output(len(inputs.text), {"prompt_tokens": len(inputs.text)})


MEASURE = Stage("answers", _measure, Output)


def test_keys_change_with_any_input_and_only_then():
    assert stage_key("adapter", {"epochs": 3}, [1, 2]) == stage_key("adapter", {"epochs": 3}, [1, 2])
    assert stage_key("adapter", {"epochs": 3}, [1, 2]) != stage_key("adapter", {"epochs": 4}, [1, 2])
    assert stage_key("adapter", {"a": 1, "b": 2}) == stage_key("adapter", {"b": 2, "a": 1})
    assert stage_key(Inputs("a")) == stage_key({"text": "a"}) != stage_key(Inputs("b"))


def test_the_same_inputs_are_computed_once_and_the_ledger_books_the_computed_seconds(tmp_path):
    calls: list[str] = []
    cache = StageCache(tmp_path)
    first = cache.run(MEASURE, "answer:rag", Inputs("abc"), calls, "train")
    again = StageCache(tmp_path).run(MEASURE, "answer:rag", Inputs("abc"), calls, "train")
    other = cache.run(MEASURE, "answer:rag", Inputs("abcd"), calls, "paraphrase")
    assert calls == ["abc", "abcd"]
    assert (first.reused, again.reused, other.reused) == (False, True, False)
    assert again.output == Output(3, {"prompt_tokens": 3}) and again.seconds == first.seconds
    assert (again.folder / "text.txt").read_text() == "abc"
    assert cache.ledger.tokens == {"answer:rag": {"prompt_tokens": 7}}
    assert set(cache.ledger.compute_s) == {"answer:rag"} and cache.ledger.reused == []


def test_a_failed_stage_leaves_nothing_and_is_computed_next_time(tmp_path):
    calls: list[str] = []
    with pytest.raises(RuntimeError):
        StageCache(tmp_path).run(MEASURE, "answer:rag", Inputs("boom"), calls)
    assert [p.name for p in tmp_path.iterdir()] == [LOCKS_DIR]  # no entry, no staging folder


def test_force_names_a_stage_or_its_family(tmp_path):
    calls: list[str] = []
    StageCache(tmp_path).run(MEASURE, "answer:rag", Inputs("x"), calls)
    adapters = ["ft", "reader", "lm"]
    for force, recomputed in (([], False), (["answers"], True), (["all"], True), (["index"], False)):
        forced = check_forceable(force, adapters)
        done = StageCache(tmp_path, forced).run(MEASURE, "answer:rag", Inputs("x"), calls)
        assert done.reused is not recomputed
    assert StageCache(tmp_path, check_forceable(["train"], adapters)).forced("train:reader")
    assert not StageCache(tmp_path, check_forceable(["train:ft"], adapters)).forced("train:reader")
    assert StageCache(tmp_path, check_forceable(["train:lm"], adapters)).forced("train:lm")
    with pytest.raises(
        UserInputError, match="--force tran: not a stage; stages are all, index, generate, train, train:ft"
    ):
        check_forceable(["tran"], adapters)


def test_a_setting_no_output_depends_on_is_left_out_of_the_key_and_other_keys_stay_as_they_were():
    """train.report_to says where logs go: changing it must not retrain an adapter, and adding it
    must not move the key of any adapter cached before it existed."""
    import dataclasses
    import hashlib
    import json

    from ftvsrag.train.adapter import AdapterInputs
    from ftvsrag.train.config import TrainSettings

    settings = TrainSettings()
    inputs = AdapterInputs("ft", ("sha", "cpu", "float32"), [{"text": "a"}], settings, 0)
    logged = dataclasses.replace(inputs, settings=dataclasses.replace(settings, report_to="tensorboard"))
    assert stage_key("train", 3, inputs) == stage_key("train", 3, logged)
    before = dataclasses.asdict(inputs)
    del before["settings"]["report_to"]
    del before["settings"]["frozen_dtype"]  # keyed only when set (the next test)
    text = json.dumps(["train", 3, before], sort_keys=True, default=str, ensure_ascii=False)
    assert stage_key("train", 3, inputs) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    assert stage_key("train", 3, inputs) != stage_key(
        "train", 3, dataclasses.replace(inputs, settings=dataclasses.replace(settings, epochs=2.0))
    )


def test_a_setting_added_later_keys_a_stage_only_when_it_is_set():
    """train.frozen_dtype came after adapters were cached: at its default it must not move their keys
    (no retraining after an upgrade); set, it must (another computation, another adapter)."""
    import dataclasses

    from ftvsrag.train.adapter import AdapterInputs
    from ftvsrag.train.config import TrainSettings

    inputs = AdapterInputs("ft", ("sha", "cpu", "float32"), [{"text": "a"}], TrainSettings(), 0)
    # The key of these inputs before frozen_dtype existed (computed at commit 3204f7c).
    assert stage_key("train", 3, inputs) == "2de3a3bf639dc9a090c2"
    lowered = dataclasses.replace(inputs, settings=dataclasses.replace(inputs.settings, frozen_dtype="bf16"))
    assert stage_key("train", 3, lowered) != stage_key("train", 3, inputs)


def test_a_setting_added_later_with_a_built_default_is_left_out_at_that_default():
    """Defect guard: a list default is built by a factory, so the field's `default` is MISSING and a
    comparison with it would key the setting even at its default."""
    import dataclasses

    from ftvsrag.configtools import field

    @dataclasses.dataclass
    class Before:
        epochs: int = field(1, "epochs")

    @dataclasses.dataclass
    class After:
        epochs: int = field(1, "epochs")
        layers: list[str] = field(["all"], "layers", key_default=False)

    assert stage_key(After()) == stage_key(Before())
    assert stage_key(After(layers=["q"])) != stage_key(Before())
