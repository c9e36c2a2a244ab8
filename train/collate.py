"""Training batches that ask the model for logits only where a label is predicted, and that run the
prompt start every example of a batch shares only once: the `train.loss: labelled` path on top of
TRL's own collator (see bench/run.py for what it saves against TRL's loss)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

IGNORE_INDEX = -100
"""Label value that the loss skips (transformers', TRL's and PyTorch's convention)."""
MIN_SHARED_PREFIX = 8
"""Shorter shared starts save less than the extra forward call costs."""


@dataclass
class LabelledLogitsCollator:
    """Pads with TRL's collator, then adds transformers' `logits_to_keep` mask and the matching
    `shift_labels`, so the vocabulary projection and the loss run on labelled positions only.

    A chat example carries labels on its answer alone (about 18 of 47 tokens for a city fact, 15 of
    ~215 for a reader example), and the projection onto SmolLM2's 49,152-token vocabulary is a fifth
    of the model's compute per token. The loss is the same sum over the same labels.

    With `share_prefix`, the tokens every example of the batch starts with (system prompt, chat
    markup, "What is the population of City_": 20 of a city example's 47) go out as `prefix_ids`,
    one row, and are cut from `input_ids`; `SharedPrefixTrainer` runs them once and the batch
    continues from their KV cache. Only unlabelled tokens are shared, so the loss is unchanged.
    TRL's own loss (a chunked LM head) scores every position on a CPU: it is the `train.loss: trl` path.
    """

    pad: object
    """TRL's `DataCollatorForLanguageModeling`: right padding, labels padded with IGNORE_INDEX."""
    share_prefix: bool = False

    def __call__(self, features: list[dict]) -> dict:
        import torch

        batch = self.pad(features)
        # Position i predicts token i + 1: the label a position is scored on is the next one.
        next_labels = torch.nn.functional.pad(batch["labels"][:, 1:], (0, 1), value=IGNORE_INDEX)
        keep = next_labels != IGNORE_INDEX
        shared = 0
        if self.share_prefix and len(features) > 1:
            shared = shared_unlabelled_prefix(batch["input_ids"], batch["attention_mask"], keep)
        if shared >= MIN_SHARED_PREFIX:
            batch["prefix_ids"] = batch["input_ids"][:1, :shared]
            batch["input_ids"] = batch["input_ids"][:, shared:]
            batch["labels"] = batch["labels"][:, shared:]
            keep = keep[:, shared:]
        batch["logits_to_keep"] = keep
        batch["shift_labels"] = next_labels[:, -keep.shape[1] :][keep]
        return batch


def shared_unlabelled_prefix(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, keep: torch.Tensor
) -> int:
    """Leading positions where every row has the same real token and no logit is needed, leaving
    each row at least one position of its own."""
    same = (input_ids == input_ids[:1]).all(0) & attention_mask.bool().all(0) & ~keep.any(0)
    return min(int(same.int().cumprod(0).sum()), input_ids.shape[1] - 1)


def forward_with_shared_prefix(model: PreTrainedModel, batch: dict):
    """`model(**batch)` for a collated batch, its `prefix_ids` (if any) run once first."""
    return model(**with_prefix_cache(model, batch))


def with_prefix_cache(model: PreTrainedModel, batch: dict) -> dict:
    """The model inputs for a collated batch: `prefix_ids` run through the model once and replaced
    by their KV cache, repeated for every row. Gradients flow through the cache into the prefix's
    forward, so they equal those of running the prefix in every row."""
    inputs = dict(batch)
    prefix = inputs.pop("prefix_ids", None)
    if prefix is not None:
        cache = model(input_ids=prefix, use_cache=True).cache
        cache.batch_repeat_interleave(inputs["input_ids"].shape[0])
        inputs["cache"] = cache
    return inputs


def training_collator(
    tokenizer: PreTrainedTokenizerBase, share_prefix: bool = True
) -> LabelledLogitsCollator:
    """TRL's padding collator, wrapped: logits on labelled positions only, shared starts run once.
    The model must take a boolean `logits_to_keep` (transformers' own causal LMs do)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    pad = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, pad_to_multiple_of=8)
    return LabelledLogitsCollator(pad, share_prefix)


def takes_logits_mask(model: PreTrainedModel) -> bool:
    return "logits_to_keep" in inspect.signature(model.forward).parameters
