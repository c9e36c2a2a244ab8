"""Where a run's index lives: a copy of the cached index stage in the run folder, or a collection
on a Chroma server (`rag.server`). Either way the run gets a collection to retrieve from and upsert
into, and the manifest gets where it was. Also retrieval as functions, for the recipes."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ftvsrag.context import RunContext, Setup
from ftvsrag.rag.chunking import Passage
from ftvsrag.rag.index import BUILD_INDEX, CHROMA_DIR, IndexInputs
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.server import knowledge_collection, run_copy
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents
from ftvsrag.stages import StageCache, stage_key

Hits = list[list[tuple[str, str]]]


@contextmanager
def knowledge_index(
    run: RunContext, setup: Setup, passages: list[Passage], cache: StageCache, folder: Path, upserts: bool
) -> Iterator[tuple[object, dict]]:
    """The knowledge base's Chroma collection for this run, and where it lives (for the manifest):
    a copy of the cached index in the run folder (so the updated split's upserts never touch the
    cache), or a collection on the server of `setup.server`. (None, {}) when nothing retrieves."""
    if not setup.embedder or not (run.retrievers or passages_needed(run)):
        yield None, {}
        return
    rag = run.config.rag
    inputs = index_inputs(setup, rag.collection, passages)
    if setup.server is not None:
        with server_index(run, setup, inputs, cache, upserts) as found:
            yield found
        return
    done = cache.run(BUILD_INDEX, "index", inputs, setup.embedder, f"{len(passages)} passages")
    shutil.copytree(done.folder / CHROMA_DIR, folder / CHROMA_DIR)
    yield open_collection(folder / CHROMA_DIR, rag.collection, setup.embedder), {"folder": CHROMA_DIR}


def passages_needed(run: RunContext) -> bool:
    """A cross-fitted reader retrieves its training contexts from the knowledge base's own index."""
    return run.needs_embedder and run.config.reader.train_on == "crossfit"


def index_inputs(setup: Setup, collection: str, passages: list[Passage]) -> IndexInputs:
    return IndexInputs(
        setup.embedder.model_id, collection, [p.id for p in passages], [p.text for p in passages]
    )


@contextmanager
def server_index(
    run: RunContext, setup: Setup, inputs: IndexInputs, cache: StageCache, upserts: bool
) -> Iterator[tuple[object, dict]]:
    """The index on the Chroma server: one collection per index content (named by its stage key),
    and for a run that upserts, its own copy, removed when the run ends."""
    rag = run.config.rag
    name = f"{rag.collection}-{stage_key(BUILD_INDEX.family, inputs)[:16]}"
    started = time.perf_counter()
    collection, reused = knowledge_collection(
        setup.server, name, setup.embedder, inputs.ids, inputs.documents
    )
    detail = f"{len(inputs.ids)} passages" + (f", reused {name} on {rag.server}" if reused else "")
    print(f"==> index ({detail})", flush=True)
    cache.ledger.add_wall("index", time.perf_counter() - started)
    if reused:
        cache.ledger.reused.append(f"index ({detail})")
    place = {"server": rag.server, "collection": name}
    if not upserts:
        yield collection, place
        return
    with run_copy(setup.server, collection, run.config.name) as copy:
        yield copy, {**place, "run_collection": copy.name, "run_collection_removed": True}


def finder(collection, embedder) -> Callable[[str, list[str], int], Hits]:
    """(retriever, questions, depth) -> each question's (id, text) passages from `collection`."""

    def find(retriever: str, questions: list[str], depth: int) -> Hits:
        hits = make_retriever(retriever, collection, embedder).retrieve(questions, depth)
        return [[(h.id, h.text) for h in found] for found in hits]

    return find


def scratch_finder(name: str, embedder) -> Callable[[str, list[tuple[str, str]], list[str], int], Hits]:
    """(retriever, corpus, questions, depth) -> passages from an index of `corpus` alone, built in a
    scratch folder that is gone afterwards (the generated-cities reader's own index)."""

    def find(retriever: str, corpus: list[tuple[str, str]], questions: list[str], depth: int) -> Hits:
        with tempfile.TemporaryDirectory(prefix="ftvsrag-reader-index-") as scratch:
            collection = open_collection(Path(scratch), name, embedder)
            upsert_documents(collection, embedder, [i for i, _ in corpus], [text for _, text in corpus])
            hits = finder(collection, embedder)(retriever, questions, depth)
            release_chroma()
        return hits

    return find
