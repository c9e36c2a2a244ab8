"""The arms: which adapter answers (none, the knowledge fine-tune, the context reader) and whether a
retriever supplies context. The retriever of each RAG arm comes from the config."""

from __future__ import annotations

from dataclasses import dataclass

FT_ADAPTER = "ft"
READER_ADAPTER = "reader"
BASE, FT, RAG, FT_RAG, READER_RAG = "base", "ft", "rag", "ft+rag", "reader+rag"
"""The arms' names, as results.json and answers.jsonl write them."""


@dataclass(frozen=True)
class Arm:
    name: str
    adapter: str | None
    uses_retrieval: bool
    description: str


ARMS = {
    arm.name: arm
    for arm in (
        Arm(BASE, None, False, "base model, closed book"),
        Arm(FT, FT_ADAPTER, False, "knowledge fine-tune, closed book"),
        Arm(RAG, None, True, "base model + retrieval"),
        Arm(FT_RAG, FT_ADAPTER, True, "knowledge fine-tune + retrieval"),
        Arm(
            READER_RAG,
            READER_ADAPTER,
            True,
            "context-reading fine-tune (never trained on the question it answers) + retrieval",
        ),
    )
}
