"""The dry run's plan: what it can know before computing, what it says it cannot, and its time
estimates from the model's measured speed and the run's own batches."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from ftvsrag.generation.answering import Answers
from ftvsrag.generation.generate import BatchLimits
from ftvsrag.plan import PlanningCache, render_plan, training_tokens
from ftvsrag.stages import ANSWERS, GENERATE, Stage
from ftvsrag.throughput import Throughput
from ftvsrag.train.config import TrainSettings

UNWRITTEN = "The generated text is not written yet"
ARMS = ["base", "ft", "rag", "ft+rag", "reader+rag"]


@dataclass(frozen=True)
class Prompts:
    conversations: list
    max_new_tokens: int = 8
    adapter_sha256: str = ""


class WordTokenizer:
    """One token a word; the chat template joins the turns' contents."""

    def apply_chat_template(self, conversation, tokenize, add_generation_prompt):
        assert not tokenize and add_generation_prompt
        return " ".join(turn["content"] for turn in conversation)

    def __call__(self, text, add_special_tokens):
        return {"input_ids": text.split()}


SPEED = Throughput(prompt_tokens_per_s=100.0, decode_step_s=((4, 0.5), (32, 1.9)), train_tokens_per_s=10.0)
"""Prompts at 100 tokens/s; a decoding step 0.5 s at 4 rows, 0.05 s more each row; training at 10/s."""
LIMITS = BatchLimits(max_tokens=10_000, max_questions=2)


def _planner(tmp_path) -> PlanningCache:
    return PlanningCache(tmp_path / "cache", scratch=tmp_path / "scratch", parameters=1, speed=lambda: SPEED)


def _runtime():
    return SimpleNamespace(tokenizer=WordTokenizer(), limits=LIMITS)


def _never_called(*_):
    raise AssertionError("the dry run computes no answers")


@pytest.mark.parametrize(("family", "says_unwritten"), [(GENERATE, True), (ANSWERS, False)])
def test_a_generation_still_to_compute_is_named_in_the_plan(tmp_path, family, says_unwritten):
    planner = _planner(tmp_path)
    stage = Stage(family, _never_called, Answers)
    conversations = [[{"role": "user", "content": "write two questions about this passage"}]]
    done = planner.run(stage, f"{family}:x", Prompts(conversations), _runtime())

    assert done.output.texts == [""]
    assert planner.entries[0].tokens == 6 + 8
    text = render_plan(
        SimpleNamespace(config=SimpleNamespace(name="x")),
        [],
        planner.entries,
        SPEED,
        planner.unwritten_generation,
    )
    assert (UNWRITTEN in text) is says_unwritten


def test_an_answering_stage_is_planned_as_the_run_batches_it(tmp_path):
    """Three prompts sharing a 9-word start, at most two a batch: the start runs once, the two
    longest share a batch padded to the longer, and each batch decodes max_new_tokens steps."""
    start = "you answer questions about cities from the passages given"
    questions = ["population of City_1 please", "population of City_22", "City_3"]
    conversations = [[{"role": "user", "content": f"{start} {q}"}] for q in questions]
    planner = _planner(tmp_path)
    planner.run(Stage(ANSWERS, _never_called, Answers), "answer:rag", Prompts(conversations), _runtime())

    (entry,) = planner.entries
    prompt = 9 + 2 * 4 + 1 * 1  # the start once; a batch of two padded to 4 words; one of 1
    assert entry.tokens == prompt + 8 * 3
    decoding = 8 * (SPEED.step_seconds(2) + SPEED.step_seconds(1))
    assert entry.seconds == pytest.approx(prompt / 100 + decoding)
    assert SPEED.step_seconds(2) == SPEED.step_seconds(1) == 0.5  # never below the measured few-row step
    assert SPEED.step_seconds(64) == pytest.approx(0.5 + 60 * 0.05)


def test_a_training_counts_the_start_its_chat_examples_share_once_a_batch():
    shared = list(range(10))
    chat = [[*shared, 100 + i, 200 + i] for i in range(5)]  # 10 shared tokens, 2 of its own each
    labelled = TrainSettings(epochs=2.0, batch_size=2)

    assert training_tokens(chat, labelled) == 2 * (5 * 2 + 10 * 3)  # three batches an epoch
    assert training_tokens(chat, TrainSettings(epochs=2.0, batch_size=2, loss="trl")) == 2 * 5 * 12
    assert training_tokens(chat, TrainSettings(epochs=1.0, batch_size=1)) == 5 * 12
    text = [[i, *shared] for i in range(5)]  # no common start: every token counts
    assert training_tokens(text, labelled) == 2 * 5 * 11


@pytest.mark.slow
def test_a_dry_run_estimates_every_stage_to_compute_at_the_speed_it_measured(tmp_path, capsys, smollm2):
    from pathlib import Path

    from ftvsrag.cli import main

    cities = Path(__file__).parent.parent / "configs" / "cities.yaml"
    overrides = ["data.num_cities=4", "reader.num_facts=4", "eval.splits=[train]"]
    overrides += ["eval.forgetting_probe=false", f"runs_dir={tmp_path}"]

    assert main(["run", str(cities), *overrides, "--dry-run"]) == 0

    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("train:", "answer:"))]
    assert [row[0] for row in rows] == ["train:ft", "train:reader", *(f"answer:{a}" for a in ARMS)]
    assert all(row[-1] in ("s", "min") and float(row[-2]) > 0 for row in rows)  # a time for each
    assert "at the model's speed on this machine, measured now (prompts " in out
    assert "a decoding step of 32 rows" in out and " training " in out
    assert list(tmp_path.iterdir()) == []
