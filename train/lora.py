"""LoRA fine-tuning with TRL's SFTTrainer and peft; adapters saved in standard PEFT format."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.errors import UserInputError
from ftvsrag.files import atomic_dir
from ftvsrag.team import SOLO, Team
from ftvsrag.train.collate import takes_logits_mask, training_collator
from ftvsrag.train.config import LoraSettings, TrainSettings
from ftvsrag.train.frozen_layers import lower_frozen_layers
from ftvsrag.train.model import DevicePlan, padding_side

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class TrainingReport:
    seconds: float
    steps: int
    final_loss: float
    tokens: dict[str, int] = field(default_factory=dict)
    """`train_tokens`: the examples' tokens over all epochs (padding excluded); `computed_tokens`:
    those this attempt ran through the model (each batch's shared start once, with `loss: labelled`)."""
    resumed_from: str | None = None
    """The checkpoint an interrupted training went on from ('checkpoint-20'); `seconds` then counts
    this attempt only."""
    weight_change: float | None = None
    """The largest change of any trained weight (0: the adapter is what it was before training;
    None: not measured, a cache entry from before it was)."""
    losses: list[list[float]] = field(default_factory=list)
    """[step, training loss] at the first step, every `logging_steps` steps and the last, from the
    trainer's log history (empty: a cache entry from before curves were kept)."""

    @property
    def weights_changed(self) -> bool:
        return self.weight_change != 0.0


LOGS_DIR = "logs"
"""Inside an adapter folder: the `train.report_to` integrations' logs (TensorBoard's event files)."""


def peft_config(lora: LoraSettings):
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type=TaskType.CAUSAL_LM,
    )


def sft_dataset(rows: list[dict], tokenizer: PreTrainedTokenizerBase | None = None) -> Dataset:
    """TRL's dataset formats: a chat row {"messages": [..., assistant]} becomes conversational
    prompt-completion (loss on the completion only); a {"text"} row stays language modelling.
    Mixed rows (a recipe that adds chat turns to text) are all language modelling: each chat row
    is written out through the tokenizer's chat template, turn markers and all, so the model
    keeps the turn's format while it reads the text."""
    from datasets import Dataset

    chat = [bool(row.get("messages")) for row in rows]
    if all(chat):
        return Dataset.from_list(
            [{"prompt": row["messages"][:-1], "completion": row["messages"][-1:]} for row in rows]
        )
    if all(is_chat or "text" in row for is_chat, row in zip(chat, rows, strict=True)):
        if not any(chat):
            return Dataset.from_list([{"text": row["text"]} for row in rows])
        if tokenizer is not None:
            return Dataset.from_list([{"text": _as_text(row, tokenizer)} for row in rows])
    raise ValueError("training rows must be chat ({'messages'}) or text ({'text'}) rows")


def _as_text(row: dict, tokenizer: PreTrainedTokenizerBase) -> str:
    if "text" in row:
        return row["text"]
    return tokenizer.apply_chat_template(row["messages"], tokenize=False)


def train_lora(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[dict],
    settings: TrainSettings,
    plan: DevicePlan,
    seed: int,
    adapter_dir: Path,
    checkpoint_dir: Path | None = None,
    team: Team = SOLO,
) -> TrainingReport | None:
    """Train a LoRA adapter on `rows` (see `sft_dataset`) and save it to `adapter_dir`, whole or not at all.

    With `checkpoint_dir`, the trainer checkpoints there every `settings.save_steps` steps, and a
    training interrupted earlier resumes from its last checkpoint (weights, optimiser, schedule, data
    position, random state). An example longer than `settings.max_length` is an error, never cut.
    In a team, every process calls this with the same arguments (DDP); the leader alone saves.
    """
    checkpoints = checkpoint_dir is not None and settings.save_steps > 0
    if not team.leads:
        with tempfile.TemporaryDirectory() as scratch:
            output_dir = checkpoint_dir if checkpoints else Path(scratch)
            fit(model, tokenizer, rows, settings, plan, seed, output_dir, checkpoints, team)
        return None
    with atomic_dir(adapter_dir) as staging:
        output_dir = checkpoint_dir if checkpoints else staging / "trainer"
        trainer, result, lengths, seconds, resumed, change = fit(
            model, tokenizer, rows, settings, plan, seed, output_dir, checkpoints, team
        )
        trainer.model.save_pretrained(staging)
        (staging / "README.md").unlink(missing_ok=True)  # an empty model card template
        keep_reporting_logs(output_dir, staging / LOGS_DIR)
        if not checkpoints:
            shutil.rmtree(staging / "trainer", ignore_errors=True)
    train_tokens = int(sum(lengths) * settings.epochs)
    return TrainingReport(
        seconds=round(seconds, 2),
        steps=result.global_step,
        final_loss=float(result.training_loss),
        tokens={
            "train_tokens": train_tokens,
            "computed_tokens": getattr(trainer, "computed_tokens", None) or train_tokens,
        },
        resumed_from=resumed,
        weight_change=change,
        losses=[[entry["step"], entry["loss"]] for entry in trainer.state.log_history if "loss" in entry],
    )


def keep_reporting_logs(output_dir: Path, target: Path) -> None:
    """What `train.report_to` integrations wrote under the trainer's output folder (TensorBoard's
    runs/), moved beside the adapter before that folder is removed: the run folder keeps it."""
    written = Path(output_dir) / "runs"
    if written.is_dir():
        shutil.move(str(written), target)


def fit(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[dict],
    settings: TrainSettings,
    plan: DevicePlan,
    seed: int,
    output_dir: Path,
    checkpoints: bool,
    team: Team,
):
    """One trainer run, resumed from `output_dir`'s last checkpoint if it has one: (the trainer,
    its result, the examples' lengths, the seconds it trained, the checkpoint's name or None, the
    largest change of a trained weight)."""
    from transformers import set_seed

    from ftvsrag.train.callbacks import log_instead_of_printing

    set_seed(seed)
    resume_from = last_complete_checkpoint(output_dir) if checkpoints else None
    if resume_from and team.leads:
        print(f"Resuming training from {resume_from}", flush=True)
    trainer_class, collator = _trainer_for(settings, model, tokenizer)
    with padding_side(tokenizer, "right"):
        trainer = trainer_class(
            model=model,
            args=sft_config(settings, plan, seed, output_dir, checkpoints, team, len(rows)),
            data_collator=collator,
            train_dataset=sft_dataset(rows, tokenizer),
            processing_class=tokenizer,
            peft_config=peft_config(settings.lora),
        )
        log_instead_of_printing(trainer)
        if settings.frozen_dtype == "bf16" and plan.dtype_name == "float32":
            import torch

            lower_frozen_layers(trainer.model, torch.bfloat16, plan.dtype)
        lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
        _check_lengths(lengths, settings.max_length)
        start = trained_weights(trainer.model)
        started = time.perf_counter()
        result = trainer.train(resume_from_checkpoint=resume_from)
        seconds = time.perf_counter() - started
    resumed = Path(resume_from).name if resume_from else None
    return trainer, result, lengths, seconds, resumed, weight_change(start, trainer.model)


def trained_weights(model) -> dict:
    """A copy of the weights the trainer updates (the LoRA matrices)."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def weight_change(start: dict, model) -> float:
    """The largest absolute change of a trained weight since `start`: 0.0 when training moved none."""
    now = dict(model.named_parameters())
    return max((float((now[name].detach() - w).abs().max()) for name, w in start.items()), default=0.0)


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint the trainer finished writing: its `trainer_state.json` is written last,
    and a process killed while saving leaves a checkpoint folder without it."""
    complete = [path for path in folder.glob("checkpoint-*") if (path / "trainer_state.json").is_file()]
    if not complete:
        return None
    return str(max(complete, key=lambda path: int(path.name.rpartition("-")[2])))


def _trainer_for(settings: TrainSettings, model, tokenizer):
    """TRL's SFTTrainer and collator, or (`loss: labelled`, on a model that takes a logits mask) its
    subclass whose loss runs on labelled positions only, shared prompt starts once."""
    from trl import SFTTrainer

    if settings.loss == "labelled" and takes_logits_mask(model):
        from ftvsrag.train.labelled_trainer import LabelledLossTrainer

        return LabelledLossTrainer, training_collator(tokenizer)
    return SFTTrainer, None


def warmup_steps(settings: TrainSettings, rows: int) -> int:
    """transformers' own count (warmup_ratio of the optimiser steps, rounded up), but never every
    step: a linear warmup starts at learning rate 0, so a training of one step would train nothing."""
    steps = math.ceil(settings.epochs * math.ceil(rows / settings.batch_size))
    return min(math.ceil(steps * settings.warmup_ratio), steps - 1) if steps > 0 else 0


def sft_config(
    settings: TrainSettings,
    plan: DevicePlan,
    seed: int,
    output_dir: Path,
    checkpoints: bool,
    team: Team = SOLO,
    rows: int = 0,
):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=warmup_steps(settings, rows),
        weight_decay=settings.weight_decay,
        lr_scheduler_type="linear",
        logging_steps=settings.logging_steps,
        logging_first_step=True,  # with LogLastStep, a curve from the first step to the last
        save_strategy="steps" if checkpoints else "no",
        save_steps=max(settings.save_steps, 1),
        save_total_limit=1,
        report_to=reporting_integrations(settings.report_to),
        seed=seed,
        use_cpu=plan.device == "cpu",
        bf16=plan.dtype_name == "bfloat16",
        fp16=plan.dtype_name == "float16",
        # TRL turns these on by default; a 135M model needs no recomputation to fit, so they only cost time.
        activation_checkpointing=False,
        # Our rule: too long is an error (checked before training), so nothing is ever truncated.
        max_length=None,
        # Similar lengths in a batch: less padding computed for nothing.
        train_sampling_strategy="group_by_length",
        dataset_num_proc=None,
        # In a team the global batch stays `batch_size`: every optimiser step sees the examples a
        # single process would, split between the processes (so the same adapter, to rounding).
        accelerator_config={"split_batches": team.size > 1},
        disable_tqdm=not team.leads,
        ddp_find_unused_parameters=False,  # every LoRA weight takes part in every step
    )


def reporting_integrations(report_to: str | list[str]) -> list[str]:
    """`train.report_to` as the trainer takes it: 'none', or the integrations it names."""
    names = report_to.split(",") if isinstance(report_to, str) else report_to
    return [name.strip() for name in names if name.strip()] or ["none"]


def _check_lengths(lengths: list[int], max_length: int) -> None:
    longest = max(lengths, default=0)
    if longest > max_length:
        raise UserInputError(
            f"a training example has {longest} tokens, more than train.max_length={max_length}"
        )


def load_adapter(model: PreTrainedModel, adapter_dir: Path) -> PreTrainedModel:
    """`model` with the adapter merged into its weights, for answering.

    Merged, the model runs as fast as the base; an unmerged LoRA adds two small matmuls to each of
    the adapted layers at every token (measured: prefill and decode about a quarter slower on CPU).
    """
    from peft import PeftModel

    return PeftModel.from_pretrained(model, adapter_dir).merge_and_unload().eval()
