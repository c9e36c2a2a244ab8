"""The arms: which adapter answers (none, the knowledge fine-tune, the context reader) and whether a
retriever supplies context. The retriever of each RAG arm comes from the config."""

from __future__ import annotations

from dataclasses import dataclass

FT_ADAPTER = "ft"
READER_ADAPTER = "reader"


@dataclass(frozen=True)
class Arm:
    name: str
    adapter: str | None
    uses_retrieval: bool
    description: str


ARMS = {
    arm.name: arm
    for arm in (
        Arm("base", None, False, "base model, closed book"),
        Arm("ft", FT_ADAPTER, False, "knowledge fine-tune, closed book"),
        Arm("rag", None, True, "base model + retrieval"),
        Arm("ft+rag", FT_ADAPTER, True, "knowledge fine-tune + retrieval"),
        Arm("reader+rag", READER_ADAPTER, True, "context-reading fine-tune (other facts) + retrieval"),
    )
}
