"""The index stage: the knowledge base's documents embedded into a Chroma folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ftvsrag.rag.store import HNSW_SETTINGS, open_collection, release_chroma, upsert_documents
from ftvsrag.stages import INDEX, Stage

CHROMA_DIR = "chroma"


@dataclass(frozen=True)
class IndexInputs:
    embedding_model_id: str
    """Name and content hash of the embedding model (`embedding_model_id`), never a path."""
    collection: str
    ids: list[str]
    documents: list[str]
    hnsw: dict = field(default_factory=lambda: dict(HNSW_SETTINGS))
    """How Chroma keeps the graph (rag/store.py): an index built otherwise is rebuilt."""


@dataclass(frozen=True)
class IndexReport:
    documents: int


def build_index(inputs: IndexInputs, embedder, out: Path, scratch: Path) -> IndexReport:
    collection = open_collection(out / CHROMA_DIR, inputs.collection, embedder)
    upsert_documents(collection, embedder, inputs.ids, inputs.documents)
    release_chroma()
    return IndexReport(documents=len(inputs.ids))


BUILD_INDEX = Stage(INDEX, build_index, IndexReport)
