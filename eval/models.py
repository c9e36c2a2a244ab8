"""The models that answer: the base model, and each trained adapter merged into a copy of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.train.lora import load_adapter
from ftvsrag.train.model import sha256_file

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class AnsweringModels:
    """Hands out the base model or a merged adapter model, keeping at most one merged copy in memory.

    The runner asks split by split (base, ft, rag, ft+rag, reader+rag), so one cached copy saves
    most re-merges while memory stays at two models whatever the number of adapters and seeds.
    """

    def __init__(
        self, load_base: Callable[[], PreTrainedModel], adapter_folders: dict[tuple[str, int], Path]
    ) -> None:
        self._load_base = load_base
        self._base: PreTrainedModel | None = None
        self._folders = adapter_folders
        self._merged_key: tuple[str, int] | None = None
        self._merged: PreTrainedModel | None = None
        self._sha256: dict[tuple[str, int], str] = {}

    @property
    def base(self) -> PreTrainedModel:
        """Loaded on first use: a run whose answers are all cached never loads the model."""
        if self._base is None:
            self._base = self._load_base().eval()
        return self._base

    def adapter_sha256(self, adapter: str, seed: int) -> str:
        """The adapter's weights hash, read once: every arm and split that uses it keys on it."""
        key = (adapter, seed)
        if key not in self._sha256:
            self._sha256[key] = sha256_file(self._folders[key] / "adapter_model.safetensors")
        return self._sha256[key]

    def get(self, adapter: str | None, seed: int) -> PreTrainedModel:
        if adapter is None:
            return self.base
        key = (adapter, seed)
        if key != self._merged_key:
            self._merged = None  # let the previous copy go before the next one is made
            self._merged = load_adapter(copy.deepcopy(self.base), self._folders[key])
            self._merged_key = key
        return self._merged
