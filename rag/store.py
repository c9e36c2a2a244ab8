"""A persistent Chroma collection of the knowledge base (retrieval from it: retrievers.py).

Vectors are computed here and handed to Chroma, and the collection records the embedding model by
its stable id in its metadata: a plain `chromadb.PersistentClient` opens and queries the folder from
any environment (with `query_embeddings`, or its own embedding function), and no path inside one
virtual environment is stored."""

from __future__ import annotations

import weakref
from pathlib import Path

from ftvsrag.errors import UserInputError

MODEL_KEY = "embedding_model"
UPSERT_BATCH = 1000
"""Documents sent per call: well under Chroma's per-call limit (5461 on this version)."""
HNSW_SETTINGS = {"hnsw:batch_size": 100, "hnsw:sync_threshold": 100}
"""Chroma writes its HNSW graph to the folder every `sync_threshold` additions (1000 by default) and
replays the rest into a new graph whenever the folder is opened, which ranks differently from one
opening to the next: two copies of one 748-passage index gave the reader other training contexts.
Written every 100 (its smallest), the graph on disk is the one every opening searches."""


def collection_metadata(embedder) -> dict:
    """What every knowledge collection is created with: its embedding model and HNSW_SETTINGS."""
    return {MODEL_KEY: embedder.model_id, **HNSW_SETTINGS}


def open_collection(persist_dir: Path, name: str, embedder):
    """The collection `name` in the Chroma folder, created if new. A collection that another
    embedding model built is refused: its vectors would not be comparable with the queries'."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(persist_dir), settings=Settings(anonymized_telemetry=False, allow_reset=False)
    )
    collection = client.get_or_create_collection(
        name=name, embedding_function=None, metadata=collection_metadata(embedder)
    )
    stored = (collection.metadata or {}).get(MODEL_KEY, "unknown")
    if stored != embedder.model_id:
        raise UserInputError(
            f"{persist_dir}: Chroma collection '{name}' was built with another embedding model "
            f"({stored}), not {embedder.model_id}; remove that folder to rebuild the index"
        )
    return collection


_WRITES: dict[int, tuple[weakref.ref, int]] = {}
"""Per live collection object, how many times it has been written to (see `content_version`)."""


def content_version(collection) -> int:
    """A number that changes whenever this process writes to this collection object: what a
    retriever keeps an index of the collection's texts by (the runs write through here only). Kept by
    the object, not by Chroma's id: a copied folder holds a collection of the same id."""
    entry = _WRITES.get(id(collection))
    return entry[1] if entry and entry[0]() is collection else 0


def _wrote(collection) -> None:
    key = id(collection)
    _WRITES[key] = (
        weakref.ref(collection, lambda _: _WRITES.pop(key, None)),
        content_version(collection) + 1,
    )


def upsert_documents(collection, embedder, ids: list[str], documents: list[str]) -> None:
    """Add or replace documents by id, with their vectors (a progress bar past one batch)."""
    from tqdm.auto import tqdm

    with tqdm(total=len(ids), desc="indexing", unit="passage", disable=len(ids) <= UPSERT_BATCH) as bar:
        for start in range(0, len(ids), UPSERT_BATCH):
            end = start + UPSERT_BATCH
            chunk = documents[start:end]
            collection.upsert(ids=ids[start:end], documents=chunk, embeddings=embedder(chunk))
            _wrote(collection)
            bar.update(len(chunk))


def release_chroma() -> None:
    """Let go of Chroma's handles on its folders, before one is renamed into place or copied."""
    import chromadb

    chromadb.api.client.SharedSystemClient.clear_system_cache()
