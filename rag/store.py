"""A persistent Chroma collection of the knowledge base (retrieval from it: retrievers.py)."""

from __future__ import annotations

from pathlib import Path


def open_collection(persist_dir: Path, name: str, embedding_function):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(persist_dir), settings=Settings(anonymized_telemetry=False, allow_reset=False)
    )
    return client.get_or_create_collection(name=name, embedding_function=embedding_function)


UPSERT_BATCH = 1000
"""Documents sent per call: well under Chroma's per-call limit (5461 on this version)."""


def upsert_documents(collection, ids: list[str], documents: list[str]) -> None:
    """Add or replace documents by id."""
    for start in range(0, len(ids), UPSERT_BATCH):
        end = start + UPSERT_BATCH
        collection.upsert(ids=ids[start:end], documents=documents[start:end])
