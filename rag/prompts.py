"""Prompts: how an arm puts its question, closed book or over retrieved passages. The blog's RAG and
closed-book prompts verbatim, so results compare with the blog's, and the training conversation's
own format. A new prompt is a registration here (`PROMPTS`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ftvsrag.registry import Registry

RAG_SYSTEM = "You are a helpful assistant."
CLOSED_BOOK_SYSTEM = RAG_SYSTEM
CLOSED_BOOK_TEMPLATE = (
    "Answer this question to the best of your ability. If you don't know the answer, say 'I don't know'."
    "\n\nQUESTION: {question}\n\nANSWER:"
)
"""How the blog asked its fine-tuned model (and the base model): not the training format."""
RAG_TEMPLATE = (
    "Answer the following QUESTION based on the CONTEXT only. Only answer from the Context. "
    "If you don't know the answer, say 'I don't know'.\n\n"
    "QUESTION: {question}\n\nCONTEXT: {context}\n\nANSWER:"
)

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class Prompt:
    build: Callable[[str, str, Sequence[str]], Messages]
    """(question, the knowledge base's system prompt, passages) -> the chat messages."""
    uses_context: bool


PROMPTS: Registry[Prompt] = Registry("prompt")


def format_context(documents: Sequence[str]) -> str:
    return "".join(f"[{rank}]: \n{document}\n\n" for rank, document in enumerate(documents))


def rag_messages(question: str, documents: Sequence[str]) -> Messages:
    return [
        {"role": "system", "content": RAG_SYSTEM},
        {
            "role": "user",
            "content": RAG_TEMPLATE.format(question=question, context=format_context(documents)),
        },
    ]


def closed_book_messages(question: str) -> Messages:
    return [
        {"role": "system", "content": CLOSED_BOOK_SYSTEM},
        {"role": "user", "content": CLOSED_BOOK_TEMPLATE.format(question=question)},
    ]


def training_messages(question: str, system: str) -> Messages:
    """The question as the training conversations put it: their system prompt, then the question."""
    return [
        *([{"role": "system", "content": system}] if system else []),
        {"role": "user", "content": question},
    ]


PROMPTS.add(
    "rag",
    Prompt(lambda question, system, passages: rag_messages(question, passages), uses_context=True),
    "the blog's RAG prompt: answer from the CONTEXT only, 'I don't know' otherwise",
)
PROMPTS.add(
    "blog",
    Prompt(lambda question, system, passages: closed_book_messages(question), uses_context=False),
    "the blog's closed-book prompt: 'Answer this question to the best of your ability...'",
)
PROMPTS.add(
    "training",
    Prompt(lambda question, system, passages: training_messages(question, system), uses_context=False),
    "closed book in the training conversation's format: its system prompt and the question",
)
