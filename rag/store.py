"""A persistent Chroma collection of the knowledge base (retrieval from it: retrievers.py).

Vectors are computed here and handed to Chroma, and the collection records the embedding model by
its stable id in its metadata: a plain `chromadb.PersistentClient` opens and queries the folder from
any environment (with `query_embeddings`, or its own embedding function), and no path inside one
virtual environment is stored."""

from __future__ import annotations

from pathlib import Path

from ftvsrag.errors import UserInputError

MODEL_KEY = "embedding_model"
UPSERT_BATCH = 1000
"""Documents sent per call: well under Chroma's per-call limit (5461 on this version)."""


def open_collection(persist_dir: Path, name: str, embedder):
    """The collection `name` in the Chroma folder, created if new. A collection that another
    embedding model built is refused: its vectors would not be comparable with the queries'."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(persist_dir), settings=Settings(anonymized_telemetry=False, allow_reset=False)
    )
    collection = client.get_or_create_collection(
        name=name, embedding_function=None, metadata={MODEL_KEY: embedder.model_id}
    )
    stored = (collection.metadata or {}).get(MODEL_KEY, "unknown")
    if stored != embedder.model_id:
        raise UserInputError(
            f"{persist_dir}: Chroma collection '{name}' was built with another embedding model "
            f"({stored}), not {embedder.model_id}; remove that folder to rebuild the index"
        )
    return collection


def upsert_documents(collection, embedder, ids: list[str], documents: list[str]) -> None:
    """Add or replace documents by id, with their vectors."""
    for start in range(0, len(ids), UPSERT_BATCH):
        end = start + UPSERT_BATCH
        chunk = documents[start:end]
        collection.upsert(ids=ids[start:end], documents=chunk, embeddings=embedder(chunk))


def release_chroma() -> None:
    """Let go of Chroma's handles on its folders, before one is renamed into place or copied."""
    import chromadb

    chromadb.api.client.SharedSystemClient.clear_system_cache()
