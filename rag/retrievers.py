"""Retrievers over a Chroma collection: dense (the blog's), and hybrid (dense fused with BM25)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
"""Reciprocal-rank-fusion constant from Cormack et al. (2009); damps the weight of the very top ranks."""


@dataclass(frozen=True)
class Retrieved:
    id: str
    text: str
    score: float
    """Higher is closer: the negated Chroma distance (dense) or the fused RRF score (hybrid)."""


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased word tokens; 'City_7' stays one token, so it never matches 'City_77'."""
    return re.findall(r"\w+", text.lower())


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each list adds 1 / (k + rank) to an id; best first, ties in first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


class DenseRetriever:
    name = "dense"

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


class HybridRetriever:
    """Dense candidates and BM25 candidates fused by reciprocal rank.

    BM25 (bm25s, Lucene's idf) is rebuilt from the collection's current documents on each call, so
    upserted facts are found by both halves; one call serves a whole split of questions. At 100,000
    facts the rebuild takes about 3 s and scoring under a millisecond a question; rank_bm25, used
    before, scored for 126 ms a question (bench/scale.py, README "How cost grows").
    """

    name = "hybrid"

    def __init__(self, collection, embedder, candidates: int = 50) -> None:
        self.collection = collection
        self.dense = DenseRetriever(collection, embedder)
        self.candidates = candidates

    def retrieve(self, questions: list[str], k: int) -> list[list[Retrieved]]:
        import bm25s
        import numpy as np

        stored = self.collection.get(include=["documents"])
        texts = dict(zip(stored["ids"], stored["documents"], strict=True))
        ids = list(texts)
        bm25 = bm25s.BM25(method="lucene")
        bm25.index([lexical_tokens(texts[i]) for i in ids], show_progress=False)
        dense_hits = self.dense.retrieve(questions, self.candidates)
        results = []
        for question, dense in zip(questions, dense_hits, strict=True):
            tokens = lexical_tokens(question)
            scores = bm25.get_scores(tokens) if tokens else np.zeros(len(ids))  # bm25s needs a token
            best = np.argsort(-scores, kind="stable")[: self.candidates]  # ties stay in collection order
            lexical = [ids[i] for i in best if scores[i] > 0]
            fused = reciprocal_rank_fusion([[hit.id for hit in dense], lexical])
            results.append([Retrieved(doc_id, texts[doc_id], score) for doc_id, score in fused[:k]])
        return results


def make_retriever(name: str, collection, embedder):
    from ftvsrag.errors import UserInputError

    if name == "dense":
        return DenseRetriever(collection, embedder)
    if name == "hybrid":
        return HybridRetriever(collection, embedder)
    raise UserInputError(f"unknown retriever '{name}': use 'dense' or 'hybrid'")
