"""Retrievers over the knowledge base's Chroma collection. A retriever is built from the collection
and the embedding function and answers `retrieve(questions, k)` with each question's passages, best
first. A new retriever is one module in this package that registers itself:

    @RETRIEVERS.register("bm25", "BM25 alone (bm25s)")
    class Bm25Retriever:
        def __init__(self, collection, embedder) -> None: ...
        def retrieve(self, questions: list[str], k: int) -> list[list[Retrieved]]: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ftvsrag.registry import Registry


@dataclass(frozen=True)
class Retrieved:
    id: str
    text: str
    score: float
    """Higher is closer: the negated Chroma distance (dense) or the fused RRF score (hybrid)."""


class Retriever(Protocol):
    def retrieve(self, questions: list[str], k: int) -> list[list[Retrieved]]: ...


RETRIEVERS: Registry[type] = Registry("retriever", __name__)


def make_retriever(name: str, collection, embedder) -> Retriever:
    return RETRIEVERS.get(name)(collection, embedder)
