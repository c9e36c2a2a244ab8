"""Prompt assembly: the blog's RAG prompt, verbatim, so results compare with the blog's."""

from __future__ import annotations

from collections.abc import Sequence

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


def format_context(documents: Sequence[str]) -> str:
    return "".join(f"[{rank}]: \n{document}\n\n" for rank, document in enumerate(documents))


def rag_messages(question: str, documents: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": RAG_SYSTEM},
        {
            "role": "user",
            "content": RAG_TEMPLATE.format(question=question, context=format_context(documents)),
        },
    ]


def closed_book_messages(question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": CLOSED_BOOK_SYSTEM},
        {"role": "user", "content": CLOSED_BOOK_TEMPLATE.format(question=question)},
    ]
