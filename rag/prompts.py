"""Prompt assembly: the blog's RAG prompt, verbatim, so results compare with the blog's."""

from __future__ import annotations

from collections.abc import Sequence

RAG_SYSTEM = "You are a helpful assistant."
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
