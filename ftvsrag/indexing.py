"""Where a run's index lives: a copy of the cached index stage in the run folder, or a collection
on a Chroma server (`rag.server`). Either way the run gets a collection to retrieve from and upsert
into, and the manifest gets where it was."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ftvsrag.asking import retrievers_needed
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.rag.chunking import Passage
from ftvsrag.rag.index import BUILD_INDEX, CHROMA_DIR, IndexInputs
from ftvsrag.rag.server import knowledge_collection, run_copy
from ftvsrag.rag.store import open_collection
from ftvsrag.stages import StageCache, stage_key

if TYPE_CHECKING:
    from ftvsrag.pipeline import Setup


@contextmanager
def knowledge_index(
    config: ExperimentConfig,
    setup: Setup,
    passages: list[Passage],
    cache: StageCache,
    run: Path,
    upserts: bool,
) -> Iterator[tuple[object, dict]]:
    """The knowledge base's Chroma collection for this run, and where it lives (for the manifest):
    a copy of the cached index in the run folder (so the updated split's upserts never touch the
    cache), or a collection on the server of `setup.server`. (None, {}) when no arm retrieves."""
    if not retrievers_needed(config):
        yield None, {}
        return
    inputs = IndexInputs(
        setup.embedder.model_id, config.rag.collection, [p.id for p in passages], [p.text for p in passages]
    )
    if setup.server is not None:
        with server_index(config, setup, inputs, cache, upserts) as found:
            yield found
        return
    done = cache.run(BUILD_INDEX, "index", inputs, setup.embedder, f"{len(passages)} passages")
    shutil.copytree(done.folder / CHROMA_DIR, run / CHROMA_DIR)
    yield open_collection(run / CHROMA_DIR, config.rag.collection, setup.embedder), {"folder": CHROMA_DIR}


@contextmanager
def server_index(
    config: ExperimentConfig, setup: Setup, inputs: IndexInputs, cache: StageCache, upserts: bool
) -> Iterator[tuple[object, dict]]:
    """The index on the Chroma server: one collection per index content (named by its stage key),
    and for a run that upserts, its own copy, removed when the run ends."""
    name = f"{config.rag.collection}-{stage_key(BUILD_INDEX.family, inputs)[:16]}"
    started = time.perf_counter()
    collection, reused = knowledge_collection(
        setup.server, name, setup.embedder, inputs.ids, inputs.documents
    )
    detail = f"{len(inputs.ids)} passages" + (f", reused {name} on {config.rag.server}" if reused else "")
    print(f"==> index ({detail})", flush=True)
    cache.ledger.add_wall("index", time.perf_counter() - started)
    if reused:
        cache.ledger.reused.append(f"index ({detail})")
    place = {"server": config.rag.server, "collection": name}
    if not upserts:
        yield collection, place
        return
    with run_copy(setup.server, collection, config.name) as copy:
        yield copy, {**place, "run_collection": copy.name, "run_collection_removed": True}
