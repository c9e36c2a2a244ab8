"""The context reader's training rows: generated cities (disjoint from the evaluated facts), or the
user's own questions for cross-fitting, each over passages a retriever found, RAFT-style."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.facts import Fact, cities_facts
from ftvsrag.eval.training_data import cities_reader_examples, document_reader_examples, reader_rows
from ftvsrag.rag.chunking import Passage
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents

READER_SPARE_PASSAGES = 5
"""Passages retrieved beyond k for a reader's training context, to stand in for the gold ones."""


def cities_reader_rows(config: ExperimentConfig, facts: list[Fact], embedder, seed: int) -> list[dict]:
    """The generated-cities reader's rows: cities numbered after the evaluated ones (the reader never
    sees an evaluated fact), over contexts retrieved from an index of their own, built in a scratch
    folder since only these rows need it."""
    reader = reader_facts(config, facts)
    rng = random.Random(seed)
    examples = cities_reader_examples(reader, rng)
    with tempfile.TemporaryDirectory(prefix="ftvsrag-reader-index-") as scratch:
        collection = open_collection(Path(scratch), f"{config.rag.collection}-reader-train", embedder)
        upsert_documents(collection, embedder, [f.id for f in reader], [f.document for f in reader])
        rows = reader_rows(
            examples,
            context_finder(config, collection, embedder),
            config.rag.k,
            config.reader.without_gold,
            rng,
        )
        release_chroma()
    return rows


def crossfit_reader_rows(
    config: ExperimentConfig, facts: list[Fact], passages: list[Passage], collection, embedder, seed: int
) -> list[dict]:
    """A cross-fitted reader's rows: `facts` (the other folds' questions) over passages retrieved
    from the knowledge base's own index, RAFT-style."""
    examples = document_reader_examples(facts, passages)
    if not examples:
        raise UserInputError(
            "the cross-fitted reader has nothing to learn from: no training question's answer appears in "
            "its passages; set reader.train_on=cities"
        )
    finder = context_finder(config, collection, embedder)
    return reader_rows(examples, finder, config.rag.k, config.reader.without_gold, random.Random(seed))


def context_finder(config: ExperimentConfig, collection, embedder):
    """The reader retriever's (id, text) passages per question, more than k of them: with the gold
    passages taken out, k others must remain."""
    retriever = make_retriever(config.reader.retriever, collection, embedder)

    def find(questions: list[str]) -> list[list[tuple[str, str]]]:
        hits = retriever.retrieve(questions, config.rag.k + READER_SPARE_PASSAGES)
        return [[(h.id, h.text) for h in found] for found in hits]

    return find


def reader_facts(config: ExperimentConfig, facts: list[Fact]) -> list[Fact]:
    """Generated cities numbered after the evaluated ones: the reader never sees an evaluated fact."""
    first_city = config.data.num_cities + 1 if not config.data.path else 1
    reader = cities_facts(config.reader.num_facts, config.data.seed, first_city=first_city)
    check_disjoint(reader, facts)
    return reader


def check_disjoint(reader: list[Fact], evaluated: list[Fact]) -> None:
    seen = (
        {f.question for f in evaluated}
        | {f.document for f in evaluated}
        | {f.subject for f in evaluated if f.subject}
    )
    overlap = [f for f in reader if {f.question, f.document, f.subject} & seen]
    if overlap:
        raise UserInputError(
            f"the reader's training facts overlap the evaluated ones (e.g. {overlap[0].question!r})"
        )
