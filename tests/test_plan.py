"""The dry run's plan: what it can know before computing, and what it says it cannot."""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from ftvsrag.generation.answering import Answers
from ftvsrag.plan import PlanningCache, render_plan
from ftvsrag.stages import ANSWERS, GENERATE, TRAIN, Stage

UNWRITTEN = "The generated text is not written yet"


@dataclass(frozen=True)
class Prompts:
    conversations: list
    max_new_tokens: int = 8
    adapter_sha256: str = ""


class WordTokenizer:
    def apply_chat_template(self, conversation, tokenize, add_generation_prompt):
        return {"input_ids": " ".join(turn["content"] for turn in conversation).split()}


def _never_called(*_):
    raise AssertionError("the dry run computes no answers")


@pytest.mark.parametrize(("family", "says_unwritten"), [(GENERATE, True), (ANSWERS, False)])
def test_a_generation_still_to_compute_is_named_in_the_plan(tmp_path, family, says_unwritten):
    planner = PlanningCache(
        tmp_path / "cache", scratch=tmp_path / "scratch", parameters=1, rates={TRAIN: 1.0, ANSWERS: 1.0}
    )
    stage = Stage(family, _never_called, Answers)
    conversations = [[{"role": "user", "content": "write two questions about this passage"}]]
    done = planner.run(
        stage, f"{family}:x", Prompts(conversations), SimpleNamespace(tokenizer=WordTokenizer())
    )

    assert done.output.texts == [""]
    assert planner.entries[0].tokens == 6 + 8
    text = render_plan(
        SimpleNamespace(config=SimpleNamespace(name="x")),
        [],
        planner.entries,
        {"float32": 1e9},
        planner.unwritten_generation,
    )
    assert (UNWRITTEN in text) is says_unwritten
