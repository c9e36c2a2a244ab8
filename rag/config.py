"""Settings for everything that supplies context."""

from __future__ import annotations

from dataclasses import dataclass

from ftvsrag.configtools import field


@dataclass
class RagSettings:
    k: int = field(5, "Documents retrieved per question (the blog used 5).")
    embedding_model: str = field(
        "all-minilm-l6-v2",
        "Sentence-transformers model: 'all-minilm-l6-v2' (bundled, Chroma's default model) or a folder.",
    )
    collection: str = field("knowledge", "Name of the Chroma collection.")
    chunk_tokens: int = field(
        128,
        "Document knowledge bases: longest chunk, in the chat model's tokens (the title line comes on top); "
        "k chunks keep a RAG prompt under ~1,000 tokens, cheap for a small model on a CPU.",
    )
    chunk_overlap: int = field(
        16, "Tokens shared by consecutive chunks, so a sentence cut at a boundary is whole in one of them."
    )
    server: str | None = field(
        None,
        "A Chroma server (http://HOST:PORT, e.g. from `chroma run --path DIR --port 8000`) to hold the "
        "vectors instead of a folder in the run; embedding stays here, with the same model.",
    )
    server_headers: dict[str, str] = field(
        {},
        "HTTP headers for the server, e.g. {Authorization: 'Bearer ${CHROMA_TOKEN}'}: ${VAR} is read from "
        "the environment when connecting; other values are written to the run folder as '<redacted>'.",
    )
    server_timeout_s: float = field(10.0, "How long the server may take to answer its first heartbeat.")
    retriever: str = field(
        "dense",
        "Retriever of the arms that name none (rag, ft+rag): 'dense' (the blog's), 'hybrid' (dense + BM25, "
        "RRF) or any registered one.",
    )
