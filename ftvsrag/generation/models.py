"""The models that answer: the base model, and each trained adapter merged into a copy of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.train.lora import load_adapter

if TYPE_CHECKING:
    from transformers import PreTrainedModel


class AnsweringModels:
    """Hands out the base model or a merged adapter model, keeping at most one merged copy in memory.

    The pipeline asks split by split (base, ft, rag, ft+rag, reader+rag), so one cached copy saves
    most re-merges while memory stays at two models whatever the number of adapters and seeds.
    Adapters are known by their weights' hash: what the answers' cache key holds.
    """

    def __init__(self, load_base: Callable[[], PreTrainedModel]) -> None:
        self._load_base = load_base
        self._base: PreTrainedModel | None = None
        self._folders: dict[str, Path] = {}
        self._merged_key: str | None = None
        self._merged: PreTrainedModel | None = None

    @property
    def base(self) -> PreTrainedModel:
        """Loaded on first use: a run whose answers are all cached never loads the model."""
        if self._base is None:
            self._base = self._load_base().eval()
        return self._base

    def add(self, adapter_sha256: str, folder: Path) -> None:
        """Make an adapter (a PEFT folder) available under its weights' hash."""
        self._folders[adapter_sha256] = folder

    def folder(self, adapter_sha256: str | None) -> Path | None:
        return None if adapter_sha256 is None else self._folders[adapter_sha256]

    def get(self, adapter_sha256: str | None) -> PreTrainedModel:
        if adapter_sha256 is None:
            return self.base
        if adapter_sha256 != self._merged_key:
            self._merged = None  # let the previous copy go before the next one is made
            self._merged = load_adapter(copy.deepcopy(self.base), self._folders[adapter_sha256])
            self._merged_key = adapter_sha256
        return self._merged
