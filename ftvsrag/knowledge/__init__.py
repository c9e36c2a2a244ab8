"""Loading in one place: the knowledge base (from a registered source, ftvsrag/knowledge/sources/),
its question sets, the user's files, and the forgetting probe's questions."""

from __future__ import annotations

from dataclasses import dataclass

from ftvsrag.knowledge.documents import Document
from ftvsrag.knowledge.facts import Fact

FACTS, DOCUMENTS = "facts", "documents"
"""What a knowledge base holds: one-sentence facts (each its own passage), or documents chunked
into passages and questions about them."""


@dataclass(frozen=True)
class Knowledge:
    kind: str
    """FACTS or DOCUMENTS: decided once, by the source that loaded it."""
    facts: list[Fact]
    """The questions with their answers (for a fact knowledge base, the facts themselves)."""
    documents: list[Document]
    """A document knowledge base's documents, chunked into passages; empty for facts."""
    source: str
    """What it was loaded from, in words (the manifest's `data.source`)."""
    source_sha256: str | None
    generated_cities: int = 0
    """Cities the source generated: a cities reader trains on the ones numbered after them."""

    @property
    def has_documents(self) -> bool:
        return self.kind == DOCUMENTS
