"""The knowledge base's collection on a Chroma server (`rag.server`), instead of a folder.

Vectors are still computed here, with the same embedding model, and handed to the server. The
server holds one collection per index content, named by the index stage's key, so every run of the
same knowledge base reuses it and a run of another never touches it. A run that upserts (the
updated split) works on its own copy, named after the run and removed when the run ends.

A server that stops answering mid-run (restarted, its machine asleep, its network gone) is asked
again with doubling waits for up to `rag.server_timeout_s`; then the run ends in one line naming
it. Every call the run makes can be repeated safely (queries, reads, upserts, creating a collection
by a name only this run uses), so a retry never doubles a write.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
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
    port = parts.port or (443 if parts.scheme == "https" else 80)
    client = chromadb.HttpClient(
        host=parts.hostname,
        port=port,
        ssl=parts.scheme == "https",
        headers=headers or None,
        settings=Settings(anonymized_telemetry=False),
    )
    return Retrying(client, f"{parts.hostname}:{port}", timeout_s)


class ServerGone(UserInputError):
    """The Chroma server stopped answering and did not come back within the run's patience."""


class Retrying:
    """A Chroma client or collection whose every call is retried while the server does not answer
    (a connection refused or dropped, a timeout), with doubling waits for up to `patience_s`.
    Collections it hands out retry the same way; plain attributes (a name, metadata) pass through."""

    def __init__(self, target, address: str, patience_s: float) -> None:
        self._target, self._address, self._patience_s = target, address, patience_s

    def __getattr__(self, name: str):
        value = getattr(self._target, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            return self._wrapped(retried(lambda: value(*args, **kwargs), self._address, self._patience_s))

        return call

    def _wrapped(self, result):
        from chromadb.api.models.Collection import Collection

        return Retrying(result, self._address, self._patience_s) if isinstance(result, Collection) else result


def retried(call, address: str, patience_s: float, first_wait_s: float = 0.25):
    """`call()`, asked again after 0.25, 0.5, 1 ... s while the server does not answer, for up to
    `patience_s` in all; then one line naming the server."""
    import httpx

    waited, wait, tries = 0.0, first_wait_s, 1
    while True:
        try:
            return call()
        except httpx.TransportError as error:
            if waited + wait > patience_s:
                raise ServerGone(
                    f"the Chroma server at {address} stopped answering ({type(error).__name__}: {error}; "
                    f"asked {tries} times over {waited:.1f} s): stages already computed are kept in the "
                    "cache; restart the server and run again"
                ) from None
            time.sleep(wait)
            waited, wait, tries = waited + wait, wait * 2, tries + 1


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
    collection = client.get_or_create_collection(
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
    copy = client.get_or_create_collection(name, embedding_function=None, metadata=source.metadata)
    try:
        for start in range(0, source.count(), UPSERT_BATCH):
            page = source.get(offset=start, limit=UPSERT_BATCH, include=["documents", "embeddings"])
            copy.upsert(ids=page["ids"], documents=page["documents"], embeddings=page["embeddings"])
        yield copy
    except ServerGone:
        raise  # nothing can remove the copy from a server that is gone; the next run makes its own
    except BaseException:
        client.delete_collection(name)
        raise
    client.delete_collection(name)
