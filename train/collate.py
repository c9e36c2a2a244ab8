"""Training batches that ask the model for logits only where a label is predicted."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftvsrag.train.examples import IGNORE_INDEX

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class LabelledLogitsCollator:
    """Pads like `DataCollatorForSeq2Seq`, then adds transformers' `logits_to_keep` mask and the
    matching `shift_labels`, so the vocabulary projection and the loss run on labelled positions only.

    A chat example carries labels on its answer alone (about 18 of 56 tokens for a city fact, 15 of
    ~250 for a reader example), and the projection onto SmolLM2's 49,152-token vocabulary is a fifth
    of the model's compute per token. The loss is the same sum over the same labels.
    """

    pad: object
    """A `DataCollatorForSeq2Seq`: right padding, labels padded with IGNORE_INDEX."""

    def __call__(self, features: list[dict]) -> dict:
        import torch

        batch = self.pad(features)
        # Position i predicts token i + 1: the label a position is scored on is the next one.
        next_labels = torch.nn.functional.pad(batch["labels"][:, 1:], (0, 1), value=IGNORE_INDEX)
        keep = next_labels != IGNORE_INDEX
        batch["logits_to_keep"] = keep
        batch["shift_labels"] = next_labels[keep]
        return batch


def training_collator(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase):
    """The labelled-logits collator where the model takes a `logits_to_keep` mask (transformers' own
    causal LMs); plain padding for a model whose forward does not."""
    from transformers import DataCollatorForSeq2Seq

    pad = DataCollatorForSeq2Seq(tokenizer, padding=True, pad_to_multiple_of=8)
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        return LabelledLogitsCollator(pad)
    return pad
