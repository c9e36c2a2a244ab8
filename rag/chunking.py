"""Documents -> passages: token-sized chunks with overlap, each keeping its document's id.

Splitting is semchunk's (a maintained library, MIT): it counts tokens with the chat model's own
tokenizer and cuts at the largest semantic boundary that fits (paragraph, line, sentence, clause,
word), so a passage rarely ends mid-sentence; `overlap` repeats the end of one chunk at the start of
the next, so a fact that straddles a cut is whole in one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge.documents import Document

CHUNK_MARK = "#"
"""Passage ids are `<document id>#<chunk number>`."""


@dataclass(frozen=True)
class Passage:
    """What the index holds, the prompt shows and the 'lm' fine-tune reads."""

    id: str
    document_id: str
    text: str
    """The document's title on its own line (when it has one), then the chunk: a chunk from the
    middle of an article ('He served in the Senate...') still says whose article it is."""


def chunk_documents(
    documents: Sequence[Document], tokenizer, chunk_tokens: int, overlap_tokens: int
) -> list[Passage]:
    """Every document split into chunks of at most `chunk_tokens` tokens of its text (the title
    line comes on top), consecutive chunks sharing about `overlap_tokens` tokens."""
    import semchunk

    if overlap_tokens >= chunk_tokens:
        raise UserInputError(
            f"chunk size ({chunk_tokens} tokens) must be larger than the overlap ({overlap_tokens})"
        )
    chunker = semchunk.chunkerify(tokenizer, chunk_tokens)
    pieces = chunker([d.text for d in documents], overlap=overlap_tokens or None)
    return [
        Passage(f"{document.id}{CHUNK_MARK}{number}", document.id, _with_title(document.title, text))
        for document, chunks in zip(documents, pieces, strict=True)
        for number, text in enumerate(chunks)
    ]


def _with_title(title: str, text: str) -> str:
    return f"{title}\n{text}" if title and not text.startswith(title) else text
