"""LoRA fine-tuning with transformers' Trainer and peft; adapters saved in standard PEFT format."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.train.collate import training_collator, with_prefix_cache
from ftvsrag.train.config import LoraSettings, TrainSettings
from ftvsrag.train.examples import tokenize_example
from ftvsrag.train.model import DevicePlan, padding_side

# Raised inside transformers when peft wraps a model; nothing a user of this tool can act on.
warnings.filterwarnings(
    "ignore", message=".*is_gradient_checkpointing.*is deprecated", category=FutureWarning
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class TrainingReport:
    seconds: float
    steps: int
    final_loss: float
    train_tokens: int
    """The examples' tokens over all epochs (padding excluded)."""
    computed_tokens: int
    """Tokens this attempt ran through the model (padding excluded, each batch's shared start
    once): the work it did."""
    resumed_from: str | None = None
    """The checkpoint an interrupted training went on from ('checkpoint-20'); `seconds` then counts
    this attempt only."""


def peft_config(lora: LoraSettings):
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type=TaskType.CAUSAL_LM,
    )


def train_lora(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: list[dict],
    settings: TrainSettings,
    plan: DevicePlan,
    seed: int,
    adapter_dir: Path,
    checkpoint_dir: Path | None = None,
) -> TrainingReport:
    """Train a LoRA adapter on `rows` and save it to `adapter_dir` (written whole or not at all).

    A row is {"messages": [...]} (loss on the assistant turn) or {"text": "..."} (loss on all of it).

    With `checkpoint_dir`, Trainer checkpoints there every `settings.save_steps` steps, and a
    training interrupted earlier resumes from its last checkpoint (weights, optimiser, schedule, data
    position, random state).

    `model` gets LoRA layers injected in place; load a fresh copy for anything that needs the base.
    """
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import Trainer, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    set_seed(seed)
    columns = {
        "messages": [row.get("messages") or [] for row in rows],
        "text": [row.get("text", "") for row in rows],
    }
    examples = Dataset.from_dict(columns).map(
        lambda row: tokenize_example(row, tokenizer, settings.max_length),
        remove_columns=["messages", "text"],
        desc="Tokenising",
    )
    collator = training_collator(model, tokenizer)
    peft_model = get_peft_model(model, peft_config(settings.lora))
    checkpoints = checkpoint_dir is not None and settings.save_steps > 0
    if checkpoints:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ftvsrag-trainer-") as scratch:
        output_dir = checkpoint_dir if checkpoints else Path(scratch)
        resume_from = get_last_checkpoint(str(output_dir)) if checkpoints else None
        if resume_from:
            print(f"Resuming training from {resume_from}", flush=True)
        args = TrainingArguments(
            output_dir=str(output_dir),
            num_train_epochs=settings.epochs,
            per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            warmup_steps=settings.warmup_ratio,
            weight_decay=settings.weight_decay,
            lr_scheduler_type="linear",
            logging_steps=settings.logging_steps,
            save_strategy="steps" if checkpoints else "no",
            save_steps=max(settings.save_steps, 1),
            save_total_limit=1,
            report_to="none",
            seed=seed,
            use_cpu=plan.device == "cpu",
            bf16=plan.dtype_name == "bfloat16",
            fp16=plan.dtype_name == "float16",
            # Similar lengths in a batch: less padding computed for nothing.
            train_sampling_strategy="group_by_length",
        )
        trainer = _shared_prefix_trainer(Trainer)(
            model=peft_model,
            args=args,
            train_dataset=examples,
            data_collator=collator,
        )
        started = time.perf_counter()
        with padding_side(tokenizer, "right"):
            result = trainer.train(resume_from_checkpoint=resume_from)
        seconds = time.perf_counter() - started
    save_adapter(peft_model, adapter_dir)
    tokens = sum(len(ids) for ids in examples["input_ids"])
    return TrainingReport(
        seconds=seconds,
        steps=result.global_step,
        final_loss=float(result.training_loss),
        train_tokens=int(tokens * settings.epochs),
        computed_tokens=trainer.computed_tokens,
        resumed_from=Path(resume_from).name if resume_from else None,
    )


def _shared_prefix_trainer(trainer_class):
    """Trainer whose loss runs a batch's shared prompt start once (see train/collate.py) and that
    counts the tokens it runs through the model. Made on call: transformers is imported lazily."""

    class SharedPrefixTrainer(trainer_class):
        computed_tokens = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            prefix = inputs.get("prefix_ids")
            shared = 0 if prefix is None else prefix.shape[1]
            self.computed_tokens += shared + int(inputs["attention_mask"][:, shared:].sum())
            return super().compute_loss(
                model, with_prefix_cache(model, inputs), return_outputs, num_items_in_batch
            )

    return SharedPrefixTrainer


def save_adapter(peft_model, adapter_dir: Path) -> None:
    adapter_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{adapter_dir.name}.", dir=adapter_dir.parent))
    try:
        peft_model.save_pretrained(staging)
        if adapter_dir.exists():
            shutil.rmtree(adapter_dir)
        os.replace(staging, adapter_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_adapter(model: PreTrainedModel, adapter_dir: Path) -> PreTrainedModel:
    """`model` with the adapter merged into its weights, for answering.

    Merged, the model runs as fast as the base; an unmerged LoRA adds two small matmuls to each of
    the adapted layers at every token (measured: prefill and decode about a quarter slower on CPU).
    """
    from peft import PeftModel

    return PeftModel.from_pretrained(model, adapter_dir).merge_and_unload().eval()
