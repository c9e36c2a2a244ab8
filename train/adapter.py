"""The training stage: typed inputs (everything the adapter depends on, and so its cache key) in,
a standard PEFT adapter folder and a training report out."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftvsrag.stages import TRAIN, Stage
from ftvsrag.team import SOLO, Team
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.lora import TrainingReport, train_lora
from ftvsrag.train.model import DevicePlan, ResolvedModel, load_model, load_tokenizer

ADAPTER_DIR = "adapter"
"""The PEFT folder inside a training stage's output."""


@dataclass(frozen=True)
class ModelRuntime:
    """How to get the model: resolved weights, device plan and tokenizer (identified in inputs by
    `model_id`)."""

    model: ResolvedModel
    plan: DevicePlan
    tokenizer: Any
    model_id: tuple[str, str, str]
    """The weights' content hash, the device type and the answering dtype: what makes answers differ."""
    team: Team = SOLO

    @property
    def train_id(self) -> tuple[str, str, str]:
        """The same with the training dtype: what makes adapters differ."""
        return (*self.model_id[:2], self.plan.training.dtype_name)


@dataclass(frozen=True)
class AdapterInputs:
    adapter: str
    model_id: tuple[str, str, str]
    rows: list[dict]
    """The exact training rows ({"messages"} or {"text"}): edit any and the adapter is retrained."""
    settings: TrainSettings
    seed: int
    processes: dict[str, Any] = field(default_factory=SOLO.describe)
    """`Team.describe()` of the processes that train it (DDP rounds differently from one process)."""


def train_adapter(inputs: AdapterInputs, runtime: ModelRuntime, out: Path, scratch: Path) -> TrainingReport:
    """Train the LoRA on a fresh copy of the base model; checkpoints in `scratch` let an interrupted
    attempt resume. In a team, the followers train beside the leader (DDP)."""
    plan = runtime.plan.training
    runtime.team.assign(TrainShare(inputs, runtime.model, plan, scratch))
    report = train_lora(
        load_model(runtime.model, plan),
        runtime.tokenizer,
        inputs.rows,
        inputs.settings,
        plan,
        inputs.seed,
        out / ADAPTER_DIR,
        checkpoint_dir=scratch,
        team=runtime.team,
    )
    # The trained model, its optimiser state and TRL's patched forward hold each other in cycles:
    # collect them now, before the answering models are loaded beside them.
    gc.collect()
    return report


@dataclass(frozen=True)
class TrainShare:
    """A follower's part of a training: the same call on its own copy of the model."""

    inputs: AdapterInputs
    model: ResolvedModel
    plan: DevicePlan
    scratch: Path

    def run(self, team: Team, bench: dict) -> None:
        train_lora(
            load_model(self.model, self.plan),
            team_tokenizer(bench, self.model),
            self.inputs.rows,
            self.inputs.settings,
            self.plan,
            self.inputs.seed,
            self.scratch / ADAPTER_DIR,
            checkpoint_dir=self.scratch,
            team=team,
        )
        gc.collect()


def team_tokenizer(bench: dict, model: ResolvedModel):
    """A follower's tokenizer for `model`, loaded once (a named qa-gen generator has its own)."""
    key = ("tokenizer", model)
    if key not in bench:
        bench[key] = load_tokenizer(model)
    return bench[key]


TRAIN_ADAPTER = Stage(TRAIN, train_adapter, TrainingReport)
