"""A persistent Chroma collection of the knowledge base, and top-k retrieval from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Retrieved:
    id: str
    text: str
    distance: float


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
    step = UPSERT_BATCH
    for start in range(0, len(ids), step):
        collection.upsert(ids=ids[start : start + step], documents=documents[start : start + step])


def retrieve(collection, questions: list[str], k: int) -> list[list[Retrieved]]:
    """The k nearest documents for each question, best first."""
    k = min(k, collection.count())
    found = collection.query(query_texts=questions, n_results=k, include=["documents", "distances"])
    return [
        [Retrieved(id_, text, float(distance)) for id_, text, distance in zip(ids, texts, dists, strict=True)]
        for ids, texts, dists in zip(found["ids"], found["documents"], found["distances"], strict=True)
    ]
