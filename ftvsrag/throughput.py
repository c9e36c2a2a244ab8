"""The model's own speed on this machine, measured in a few seconds: prompt tokens a second, the
seconds of a decoding step at few and at many rows, and LoRA training tokens a second. The dry run
divides each stage's work by them.

A matmul peak times one fixed share cannot stand in for these: prompts, decoding and training each
keep a different share of the peak busy, and a different one on every machine. So estimated, on an
AVX2-only 2-core CPU, the default replication was to take 18.1 and 14.8 min (two dry runs) where it
took 10.4 min of stages; these measurements planned 11.6 to 13.2 min around a run of 13.3 min, that
machine's speed having drifted (README, `--dry-run`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from ftvsrag.train.config import LoraSettings

PROMPT_SHAPE = (4, 128)
"""Rows and tokens of the timed prompt pass: long enough to be bound by its matmuls, as a RAG
prompt's pass is, and short enough to take about a second on a 2-core CPU."""
PROMPT_PASSES = 2
"""Timed prompt passes; the faster counts (single ones ran at 291 to 427 tokens/s on one CPU)."""
MANY_ROWS = 32
"""Decoding is timed at PROMPT_SHAPE's rows and at this many (a RAG batch's size)."""
DECODE_STEPS = 3
"""Timed decoding steps at each row count; the fastest counts (the machine's noise only adds)."""
TRAIN_SHAPE = (4, 64)
"""Rows and tokens of the timed training steps, about one knowledge fine-tune step's tokens."""
TRAIN_STEPS = 2
"""Timed training steps; the faster counts (a single one measured 94 and 154 tokens/s in two tries)."""
LABELLED_POSITIONS = 16
"""Positions a row of the timed training step is scored on, about a chat answer's length: the
labelled loss projects only those onto the vocabulary."""


@dataclass(frozen=True)
class Throughput:
    prompt_tokens_per_s: float
    decode_step_s: tuple[tuple[int, float], tuple[int, float]]
    """(rows, seconds) of one decoding step at two row counts."""
    train_tokens_per_s: float

    def step_seconds(self, rows: int) -> float:
        """A decoding step of `rows` rows: a straight line through the two measured points, never
        below the faster of them (a step costs at least what reading the weights once costs)."""
        (few, few_s), (many, many_s) = self.decode_step_s
        line = few_s + (many_s - few_s) * (rows - few) / (many - few)
        return max(line, min(few_s, many_s))

    def answering_seconds(self, prompt_tokens: int, batch_rows: Sequence[int], max_new_tokens: int) -> float:
        """Prompt tokens run through the model, then every batch decoding `max_new_tokens` steps
        (a batch runs until its longest answer ends: at most that)."""
        decoding = sum(self.step_seconds(rows) for rows in batch_rows) * max_new_tokens
        return prompt_tokens / self.prompt_tokens_per_s + decoding

    def training_seconds(self, tokens: int) -> float:
        return tokens / self.train_tokens_per_s

    def describe(self) -> str:
        rows, seconds = self.decode_step_s[1]
        return (
            f"prompts {self.prompt_tokens_per_s:,.0f} tokens/s, a decoding step of {rows} rows "
            f"{seconds * 1000:,.0f} ms, training {self.train_tokens_per_s:,.0f} tokens/s"
        )


def measure_throughput(model: PreTrainedModel, lora: LoraSettings, training_dtype) -> Throughput:
    """`model`'s speed: prompt passes of PROMPT_SHAPE, decoding steps from its cache at its rows and
    at MANY_ROWS, then LoRA training steps of TRAIN_SHAPE (the run's LoRA settings, the loss on
    LABELLED_POSITIONS a row) with the model cast to `training_dtype` and LoRA layers added to it.

    It takes the model over, so that a large model is never held twice: pass one made for it
    (`model_with_random_weights`). Any weights do: the arithmetic, not the values, sets the time."""
    import torch

    from ftvsrag.train.collate import takes_logits_mask

    # As `generate` asks for them: the next token's logits only, not the vocabulary at every position.
    last = {"logits_to_keep": 1} if takes_logits_mask(model) else {}
    rows, length = PROMPT_SHAPE
    ids = _token_ids(model, rows, length)
    with torch.inference_mode():
        model(
            input_ids=ids[:1], **last
        )  # a first call's allocations at this length are not the model's speed
        passes = [
            _timed(model.device, lambda: model(input_ids=ids, use_cache=True, **last))
            for _ in range(PROMPT_PASSES)
        ]
        prompt_s = min(seconds for seconds, _ in passes)
        cache = passes[-1][1].cache
        few_s = _decode_step_s(model, cache, rows)
        cache.batch_repeat_interleave(MANY_ROWS // rows)
        many_s = _decode_step_s(model, cache, MANY_ROWS)
    return Throughput(
        prompt_tokens_per_s=rows * length / prompt_s,
        decode_step_s=((rows, few_s), (MANY_ROWS, many_s)),
        train_tokens_per_s=_train_tokens_per_s(model, lora, training_dtype),
    )


def _decode_step_s(model: PreTrainedModel, cache, rows: int) -> float:
    step = _token_ids(model, rows, 1)
    model(input_ids=step, cache=cache, use_cache=True)
    return min(
        _timed(model.device, lambda: model(input_ids=step, cache=cache, use_cache=True))[0]
        for _ in range(DECODE_STEPS)
    )


def _train_tokens_per_s(model: PreTrainedModel, lora: LoraSettings, dtype) -> float:
    from peft import get_peft_model

    from ftvsrag.train.collate import takes_logits_mask
    from ftvsrag.train.lora import peft_config

    scored = {"logits_to_keep": LABELLED_POSITIONS} if takes_logits_mask(model) else {}
    trainee = get_peft_model(model.to(dtype), peft_config(lora)).train()

    def step(ids) -> None:
        trainee(input_ids=ids, **scored).logits.float().logsumexp(-1).sum().backward()

    rows, length = TRAIN_SHAPE
    ids = _token_ids(model, rows, length)
    step(ids[:1])
    seconds = min(_timed(model.device, lambda: step(ids))[0] for _ in range(TRAIN_STEPS))
    return rows * length / seconds


def _token_ids(model: PreTrainedModel, rows: int, length: int):
    import torch

    generator = torch.Generator().manual_seed(rows * 1000 + length)
    ids = torch.randint(model.config.vocab_size, (rows, length), generator=generator)
    return ids.to(model.device)


def _timed(device, call: Callable):
    """(seconds, result) of `call`, the GPU's queue drained on both sides."""
    import torch

    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    synchronize()
    started = time.perf_counter()
    result = call()
    synchronize()
    return time.perf_counter() - started, result
