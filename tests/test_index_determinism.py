"""The same index gives the same passages every time it is opened. Defect: Chroma persists its HNSW
graph only every `sync_threshold` (1000) additions and replays the rest when a folder is opened, so
two copies of one cached index of 748 PopQA passages ranked differently, and the cross-fitted
reader's training rows (and cache key) changed from one run to the next."""

import hashlib
import shutil

import numpy as np

from ftvsrag.rag.retrievers.dense import DenseRetriever
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents


class HashedVectors:
    """Unit vectors drawn from each text's hash: an embedding function with no model."""

    model_id = "hashed-vectors@test"

    def __call__(self, texts):
        vectors = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(64).astype(np.float32)
            vectors.append(vector / np.linalg.norm(vector))
        return vectors


def test_two_copies_of_one_index_rank_alike(tmp_path):
    embedder = HashedVectors()
    texts = [f"passage {i}" for i in range(750)]
    built = tmp_path / "built"
    collection = open_collection(built, "knowledge", embedder)
    upsert_documents(collection, embedder, [f"p{i}" for i in range(750)], texts)
    release_chroma()
    questions = [f"question {i}" for i in range(60)]
    rankings = []
    for copy in ("a", "b", "c"):
        shutil.copytree(built, tmp_path / copy)
        retriever = DenseRetriever(open_collection(tmp_path / copy, "knowledge", embedder), embedder)
        rankings.append([[hit.id for hit in hits] for hits in retriever.retrieve(questions, 50)])
        release_chroma()
    assert rankings[0] == rankings[1] == rankings[2]
