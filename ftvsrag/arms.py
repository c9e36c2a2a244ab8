"""Arms as data. An arm is who answers (an adapter: the base model, the knowledge fine-tune, the
context reader or any fine-tune recipe), what supplies context (a retriever with its k, or none)
and how the question is put (a prompt). The five built-in arms are defined here the way a user
defines one under `arms:` in a config."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ftvsrag.configtools import field
from ftvsrag.names import (
    BASE,
    CLOSED_BOOK,
    FT,
    FT_ADAPTER,
    FT_RAG,
    NO_ADAPTER,
    NO_RETRIEVER,
    RAG,
    READER_ADAPTER,
    READER_RAG,
)


@dataclass
class ArmSettings:
    adapter: str = field(
        NO_ADAPTER,
        "Who answers: 'none' (the base model), 'ft' (the knowledge fine-tune, train.method), 'reader' (the "
        "context reader) or any registered fine-tune recipe ('chat', 'lm', ...).",
    )
    retriever: str | None = field(
        None,
        "'none' (closed book) or a registered retriever ('dense', 'hybrid', ...); unset: rag.retriever "
        "(reader.retriever for the reader).",
    )
    k: int | None = field(None, "Passages in the prompt; unset: rag.k.")
    prompt: str | None = field(
        None,
        "A registered prompt ('rag' over passages; 'blog' or 'training' closed book); unset: 'rag' when "
        "the arm retrieves, else eval.closed_book_prompt.",
    )
    description: str = field("", "What the report says the arm is; unset: made from its parts.")


BUILTIN_ARMS: dict[str, ArmSettings] = {
    BASE: ArmSettings(NO_ADAPTER, NO_RETRIEVER, description="base model, closed book"),
    FT: ArmSettings(FT_ADAPTER, NO_RETRIEVER, description="knowledge fine-tune, closed book"),
    RAG: ArmSettings(NO_ADAPTER, description="base model + retrieval"),
    FT_RAG: ArmSettings(FT_ADAPTER, description="knowledge fine-tune + retrieval"),
    READER_RAG: ArmSettings(
        READER_ADAPTER,
        description="context-reading fine-tune (never trained on the question it answers) + retrieval",
    ),
}


@dataclass(frozen=True)
class Arm:
    """An arm with every default filled in (ExperimentConfig.resolved_arms)."""

    name: str
    adapter: str
    retriever: str
    k: int
    """Passages in the prompt (0 closed book)."""
    prompt: str
    description: str
    role: str = CLOSED_BOOK
    """What the arm brings (ftvsrag.names: closed book, fine-tune, retrieval, fine-tune + retrieval)."""

    @property
    def retrieves(self) -> bool:
        return self.retriever != NO_RETRIEVER

    @property
    def adapted(self) -> bool:
        return self.adapter != NO_ADAPTER

    def to_json(self) -> dict:
        return asdict(self)


def default_description(adapter: str, retriever: str, k: int) -> str:
    who = "base model" if adapter == NO_ADAPTER else f"adapter '{adapter}'"
    return f"{who}, closed book" if retriever == NO_RETRIEVER else f"{who} + {retriever} retrieval, top {k}"
