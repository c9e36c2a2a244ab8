"""The answering stage: the exact chat conversations in, greedy answers and token counts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftvsrag.eval.generate import BatchLimits, generate_answers
from ftvsrag.eval.models import AnsweringModels
from ftvsrag.stages import ANSWERS, Stage


@dataclass(frozen=True)
class AnswerInputs:
    model_id: tuple[str, str, str]
    adapter_sha256: str | None
    """The merged adapter's weights hash; None for the base model."""
    conversations: list[list[dict[str, str]]]
    max_new_tokens: int


@dataclass(frozen=True)
class Answers:
    texts: list[str]
    prompt_tokens: list[int]
    generated_tokens: list[int]
    tokens: dict[str, int] = field(default_factory=dict)
    """Work done: `prompt_tokens` computed (the shared start once) and `generated_tokens`."""


@dataclass(frozen=True)
class AnswerRuntime:
    models: AnsweringModels
    tokenizer: object
    limits: BatchLimits


def answer(inputs: AnswerInputs, runtime: AnswerRuntime, out: Path, scratch: Path) -> Answers:
    generation = generate_answers(
        runtime.models.get(inputs.adapter_sha256),
        runtime.tokenizer,
        inputs.conversations,
        runtime.limits,
        inputs.max_new_tokens,
        desc="answering",
    )
    return Answers(
        generation.texts,
        generation.prompt_tokens,
        generation.generated_tokens,
        tokens={
            "prompt_tokens": generation.computed_prompt_tokens,
            "generated_tokens": sum(generation.generated_tokens),
        },
    )


ANSWER = Stage(ANSWERS, answer, Answers)
