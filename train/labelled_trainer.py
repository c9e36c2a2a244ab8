"""`train.loss: labelled`: TRL's SFTTrainer (its data preparation, masking and loop) with the loss
computed by the model's own forward on labelled positions only, each batch's shared prompt start
run once (train/collate.py). TRL's fused LM head scores every position on a CPU; this does not."""

from __future__ import annotations

from transformers import Trainer
from trl import SFTTrainer

from ftvsrag.train.collate import with_prefix_cache


class LabelledLossTrainer(SFTTrainer):
    """Counts the tokens it runs through the model (the shared start once per batch)."""

    computed_tokens = 0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        prefix = inputs.get("prefix_ids")
        shared = 0 if prefix is None else prefix.shape[1]
        self.computed_tokens += shared + int(inputs["attention_mask"][:, shared:].sum())
        # Trainer's loss (the model's forward with labels), not SFTTrainer's fused-head one.
        return Trainer.compute_loss(
            self, model, with_prefix_cache(model, inputs), return_outputs, num_items_in_batch
        )
