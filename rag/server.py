"""The knowledge base's collection on a Chroma server (`rag.server`), instead of a folder.

Vectors are still computed here, with the same embedding model, and handed to the server. The
server holds one collection per index content, named by the index stage's key, so every run of the
same knowledge base reuses it and a run of another never touches it. A run that upserts (the
updated split) works on its own copy, named after the run and removed when the run ends.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ftvsrag.errors import UserInputError
from ftvsrag.rag.store import MODEL_KEY, UPSERT_BATCH, collection_metadata, upsert_documents

HEARTBEAT = "/api/v2/heartbeat"
BUILT_KEY = "documents"
"""Collection metadata: how many documents a finished build holds (an interrupted one has fewer)."""


def sent_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers to send: ${VAR} read from the environment (a token stays out of config files)."""
    return {name: os.path.expandvars(value) for name, value in headers.items()}


def recorded_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers as a run folder records them: ${VAR} references kept, any other value hidden."""
    return {
        name: value if value.startswith("${") and value.endswith("}") else "<redacted>"
        for name, value in headers.items()
    }


def connect(url: str, headers: dict[str, str], timeout_s: float):
    """A `chromadb.HttpClient` for `url`, after a heartbeat answered within `timeout_s` (Chroma's
    HTTP client itself waits forever on a host that does not answer)."""
    import chromadb
    from chromadb.config import Settings

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(f"config key 'rag.server': {url!r} is not an http(s)://HOST:PORT address")
    request = urllib.request.Request(url.rstrip("/") + HEARTBEAT, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            json.load(response)
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise UserInputError(
            f"no Chroma server answers at {url} within {timeout_s:g} s ({reason}): start one with "
            "`chroma run --path DIR --port PORT`, or fix rag.server"
        ) from None
    return chromadb.HttpClient(
        host=parts.hostname,
        port=parts.port or (443 if parts.scheme == "https" else 80),
        ssl=parts.scheme == "https",
        headers=headers or None,
        settings=Settings(anonymized_telemetry=False),
    )


def knowledge_collection(client, name: str, embedder, ids: list[str], documents: list[str]):
    """The collection `name`, built from `ids` / `documents` unless a finished build is there;
    (collection, reused)."""
    existing = {collection.name for collection in client.list_collections()}
    if name in existing:
        collection = client.get_collection(name, embedding_function=None)
        metadata = collection.metadata or {}
        if metadata.get(BUILT_KEY) == len(ids) and metadata.get(MODEL_KEY) == embedder.model_id:
            return collection, True
        client.delete_collection(name)  # an interrupted build
    collection = client.create_collection(
        name, embedding_function=None, metadata=collection_metadata(embedder)
    )
    upsert_documents(collection, embedder, ids, documents)
    collection.modify(metadata={**collection_metadata(embedder), BUILT_KEY: len(ids)})
    return collection, False


@contextmanager
def run_copy(client, source, run_name: str) -> Iterator[object]:
    """A copy of `source` for one run to upsert into, removed when the block ends."""
    safe_run = re.sub(r"[^a-zA-Z0-9._-]", "-", run_name)[:200]
    name = f"{source.name}-{safe_run}-{uuid.uuid4().hex[:8]}"
    copy = client.create_collection(name, embedding_function=None, metadata=source.metadata)
    try:
        for start in range(0, source.count(), UPSERT_BATCH):
            page = source.get(offset=start, limit=UPSERT_BATCH, include=["documents", "embeddings"])
            copy.add(ids=page["ids"], documents=page["documents"], embeddings=page["embeddings"])
        yield copy
    finally:
        client.delete_collection(name)
