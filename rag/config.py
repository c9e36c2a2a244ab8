"""Settings for everything that supplies context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ftvsrag.configtools import field


@dataclass
class RagSettings:
    k: int = field(5, "Documents retrieved per question (the blog used 5).")
    embedding_model: str = field(
        "all-minilm-l6-v2",
        "Sentence-transformers model: 'all-minilm-l6-v2' (bundled, Chroma's default model) or a folder.",
    )
    collection: str = field("knowledge", "Name of the Chroma collection.")
    retriever: Literal["dense", "hybrid"] = field(
        "dense", "Retriever of the rag and ft+rag arms: 'dense' (the blog's) or 'hybrid' (dense + BM25, RRF)."
    )
