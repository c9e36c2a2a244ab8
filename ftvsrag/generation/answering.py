"""The answering stage: the exact chat conversations in, greedy answers and token counts out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftvsrag.generation.generate import BatchLimits, generate_answers
from ftvsrag.generation.models import AnsweringModels
from ftvsrag.stages import ANSWERS, Stage
from ftvsrag.team import SOLO, Team
from ftvsrag.train.adapter import ModelRuntime, team_tokenizer
from ftvsrag.train.model import DevicePlan, ResolvedModel, load_model


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
    source: ModelRuntime | None = None
    """Where the followers of a team load the model from (unused alone)."""
    desc: str = "answering"
    """The progress bar's label."""


def answer(inputs: AnswerInputs, runtime: AnswerRuntime, out: Path, scratch: Path) -> Answers:
    team = runtime.source.team if runtime.source else SOLO
    if team.size > 1:
        folder = runtime.models.folder(inputs.adapter_sha256)
        team.assign(AnswerShare(inputs, runtime.source.model, runtime.source.plan, folder, runtime.limits))
    generation = generate_answers(
        runtime.models.get(inputs.adapter_sha256),
        runtime.tokenizer,
        inputs.conversations,
        runtime.limits,
        inputs.max_new_tokens,
        desc=runtime.desc,
        team=team,
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


@dataclass(frozen=True)
class AnswerShare:
    """A follower's part of an answering stage: its share of the same batches, sent to the leader."""

    inputs: AnswerInputs
    model: ResolvedModel
    plan: DevicePlan
    adapter_folder: Path | None
    limits: BatchLimits

    def run(self, team: Team, bench: dict) -> None:
        key = ("answering", self.model)  # the run's model, or a named qa-gen generator
        models = bench.get(key)
        if models is None:
            models = bench[key] = AnsweringModels(lambda: load_model(self.model, self.plan))
        if self.adapter_folder is not None:
            models.add(self.inputs.adapter_sha256, self.adapter_folder)
        generate_answers(
            models.get(self.inputs.adapter_sha256),
            team_tokenizer(bench, self.model),
            self.inputs.conversations,
            self.limits,
            self.inputs.max_new_tokens,
            desc="answering",
            team=team,
        )


ANSWER = Stage(ANSWERS, answer, Answers)
