"""The models that answer: the base model, and each trained adapter merged into a copy of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.train.lora import load_adapter

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class AnsweringModels:
    """Hands out the base model or a merged adapter model, keeping at most one merged copy in memory.

    The runner asks split by split (base, ft, rag, ft+rag, reader+rag), so one cached copy saves
    most re-merges while memory stays at two models whatever the number of adapters and seeds.
    """

    def __init__(self, base: PreTrainedModel, adapter_folders: dict[tuple[str, int], Path]) -> None:
        self.base = base.eval()
        self._folders = adapter_folders
        self._merged_key: tuple[str, int] | None = None
        self._merged: PreTrainedModel | None = None

    def get(self, adapter: str | None, seed: int) -> PreTrainedModel:
        if adapter is None:
            return self.base
        key = (adapter, seed)
        if key != self._merged_key:
            self._merged = None  # let the previous copy go before the next one is made
            self._merged = load_adapter(copy.deepcopy(self.base), self._folders[key])
            self._merged_key = key
        return self._merged
