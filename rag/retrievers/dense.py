"""Dense retrieval: the question's embedding against the passages' in Chroma (the blog's)."""

from __future__ import annotations

from ftvsrag.rag.retrievers import RETRIEVERS, Retrieved


@RETRIEVERS.register("dense", "the question's embedding against the passages' (Chroma's nearest; the blog's)")
class DenseRetriever:
    def __init__(self, collection, embedder) -> None:
        self.collection = collection
        self.embedder = embedder

    def retrieve(self, questions: list[str], k: int) -> list[list[Retrieved]]:
        k = min(k, self.collection.count())
        found = self.collection.query(
            query_embeddings=self.embedder(questions), n_results=k, include=["documents", "distances"]
        )
        return [
            [Retrieved(i, text, -float(d)) for i, text, d in zip(ids, texts, dists, strict=True)]
            for ids, texts, dists in zip(found["ids"], found["documents"], found["distances"], strict=True)
        ]
