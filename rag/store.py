"""A persistent Chroma collection of the knowledge base (retrieval from it: retrievers.py)."""

from __future__ import annotations

from pathlib import Path

from ftvsrag.errors import UserInputError


def open_collection(persist_dir: Path, name: str, embedding_function):
    """The collection `name` in the Chroma folder, created if new. A collection that another
    embedding model built is refused: its vectors would not be comparable with the queries'."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(persist_dir), settings=Settings(anonymized_telemetry=False, allow_reset=False)
    )
    ours = _model_of({"name": embedding_function.name(), "config": embedding_function.get_config()})
    try:
        collection = client.get_or_create_collection(name=name, embedding_function=embedding_function)
    except ValueError as error:
        if "Embedding function conflict" not in str(error):
            raise
        collection = None
        stored = str(error).rsplit("persisted: ", 1)[-1]
    else:
        stored = _model_of((collection.configuration_json or {}).get("embedding_function") or {})
    if stored != ours:
        raise UserInputError(
            f"{persist_dir}: Chroma collection '{name}' was built with another embedding model "
            f"({stored}), not {ours}; remove that folder to rebuild the index"
        )
    return collection


def _model_of(embedding_config: dict) -> str:
    config = embedding_config.get("config") or {}
    return str(config.get("model_name") or embedding_config.get("name") or "unknown")


UPSERT_BATCH = 1000
"""Documents sent per call: well under Chroma's per-call limit (5461 on this version)."""


def upsert_documents(collection, ids: list[str], documents: list[str]) -> None:
    """Add or replace documents by id."""
    for start in range(0, len(ids), UPSERT_BATCH):
        end = start + UPSERT_BATCH
        collection.upsert(ids=ids[start:end], documents=documents[start:end])
