"""The context reader: a LoRA that learns to answer from retrieved passages, never from the facts
it is asked about. 'cities' trains it on generated cities numbered after the evaluated ones, over an
index of their own; 'crossfit' on the knowledge base's own questions, in folds, each fold answered
by a reader trained on the other folds only."""

from __future__ import annotations

import random
from dataclasses import replace

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge.facts import Fact, cities_facts
from ftvsrag.names import READER_ADAPTER
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.reader_rows import (
    cities_reader_examples,
    crossfit_folds,
    document_reader_examples,
    reader_rows,
)
from ftvsrag.train.recipes import RecipeRequest, Training, register_recipe

READER_SPARE_PASSAGES = 5
"""Passages retrieved beyond k for a reader's training context, to stand in for the gold ones."""


@register_recipe(
    READER_ADAPTER,
    "reads retrieved passages (RAFT-style), trained on other questions than the ones it answers",
    knowledge=False,
)
def reader(request: RecipeRequest) -> list[Training]:
    settings = reader_settings(request.reader.train)
    if request.reader.train_on == "cities":
        return [Training(cities_rows(request), settings)]
    facts = request.knowledge.facts
    folds = crossfit_folds([f.id for f in facts], request.reader.folds, request.seed)
    return [
        Training(
            crossfit_rows(request, [f for f in facts if folds[f.id] != fold]),
            settings,
            fold,
            frozenset(f.id for f in facts if folds[f.id] == fold),
        )
        for fold in range(request.reader.folds)
    ]


def reader_settings(settings: TrainSettings) -> TrainSettings:
    """Its rows are always conversations, so its method is 'chat' whatever the config says ('auto'
    would change the key of an unchanged reader)."""
    return replace(settings, method="chat")


def cities_rows(request: RecipeRequest) -> list[dict]:
    """Generated cities numbered after the evaluated ones, over contexts retrieved from an index of
    their own."""
    cities = reader_facts(request)
    rng = random.Random(request.seed)
    examples = cities_reader_examples(cities, rng)
    corpus = [(f.id, f.document) for f in cities]
    depth = request.k + READER_SPARE_PASSAGES

    def find(questions: list[str]):
        return request.find_in(request.reader.retriever, corpus, questions, depth)

    return reader_rows(examples, find, request.k, request.reader.without_gold, rng)


def crossfit_rows(request: RecipeRequest, facts: list[Fact]) -> list[dict]:
    """`facts` (the other folds' questions) over passages retrieved from the knowledge base's own index."""
    examples = document_reader_examples(facts, request.passages)
    if not examples:
        raise UserInputError(
            "the cross-fitted reader has nothing to learn from: no training question's answer appears in "
            "its passages; set reader.train_on=cities"
        )
    depth = request.k + READER_SPARE_PASSAGES

    def find(questions: list[str]):
        return request.find(request.reader.retriever, questions, depth)

    rng = random.Random(request.seed)
    return reader_rows(examples, find, request.k, request.reader.without_gold, rng, asked=len(facts))


def reader_facts(request: RecipeRequest) -> list[Fact]:
    """Generated cities numbered after the evaluated ones: the reader never sees an evaluated fact."""
    first_city = request.knowledge.generated_cities + 1
    cities = cities_facts(request.reader.num_facts, request.data_seed, first_city=first_city)
    check_disjoint(cities, request.knowledge.facts)
    return cities


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
