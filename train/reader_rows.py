"""The context reader's training rows, RAFT-style: each question over passages a retriever found,
answered from the gold passage (or "I don't know" when the context lacks it). Pure: retrieval comes
in as a function."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from ftvsrag.knowledge.facts import Fact
from ftvsrag.knowledge.questions import TRAIN_PARAPHRASES
from ftvsrag.rag.chunking import Passage
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.text import ABSTENTION, padded_words

AUTO = "auto"


@dataclass(frozen=True)
class ReaderExample:
    """One question the reader learns to answer from context."""

    question: str
    gold: list[tuple[str, str]]
    """The passages that hold the answer, (id, text), best first: put into a context that lacks them."""
    answer: str
    """The target: the sentence of the gold passage that states the answer (the cities reader's
    target too: the fact's own sentence)."""


def reader_rows(
    examples: list[ReaderExample],
    retrieve: Callable[[list[str]], list[list[tuple[str, str]]]],
    k: int,
    without_gold: float | str,
    rng: random.Random,
    asked: int | None = None,
) -> list[dict]:
    """RAFT-style rows: the blog's RAG prompt over retrieved passages, answered from the gold one.

    With probability `without_gold` every gold passage is taken out of the context and the target is
    "I don't know"; otherwise the context is the retriever's top k (a gold passage put in at a random
    place if retrieval missed them all; the others stay as distractors) and the target is the answer.
    `without_gold` 'auto' is `unanswerable_share` of these contexts among the `asked` questions the
    examples came from (default: the examples alone).
    `retrieve` must give more than k passages per question, so that k remain without the gold ones.
    """
    contexts = retrieve([example.question for example in examples])
    if without_gold == AUTO:
        without_gold = unanswerable_share(examples, contexts, k, asked or len(examples))
    rows = []
    for example, context in zip(examples, contexts, strict=True):
        gold_ids = {passage_id for passage_id, _ in example.gold}
        others = [text for passage_id, text in context if passage_id not in gold_ids]
        if rng.random() < without_gold:
            documents, answer = others[:k], ABSTENTION
        elif gold_ids & {passage_id for passage_id, _ in context[:k]}:
            # Where the retriever put it: the reader trains on the contexts it will be given.
            documents, answer = [text for _, text in context[:k]], example.answer
        else:
            documents = others[: k - 1]
            documents.insert(rng.randint(0, len(documents)), example.gold[0][1])
            answer = example.answer
        rows.append(
            {
                "messages": [
                    *rag_messages(example.question, documents),
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return rows


def unanswerable_share(
    examples: list[ReaderExample], contexts: list[list[tuple[str, str]]], k: int, asked: int
) -> float:
    """Of `asked` questions, the share whose top k passages hold no gold passage: those left without
    an example (the knowledge base never states their answer) and those whose retrieval missed."""
    if asked == 0:
        return 0.0
    found = sum(
        bool({passage_id for passage_id, _ in example.gold} & {passage_id for passage_id, _ in context[:k]})
        for example, context in zip(examples, contexts, strict=True)
    )
    return 1 - found / asked


def cities_reader_examples(facts: list[Fact], rng: random.Random) -> list[ReaderExample]:
    """The generated cities as reader examples: a training wording of each question, the fact's
    sentence as both the gold passage and the target."""
    return [ReaderExample(_reader_question(f, rng), [(f.id, f.document)], f.document) for f in facts]


def crossfit_folds(fact_ids: list[str], folds: int, seed: int) -> dict[str, int]:
    """Each question's fold, 0..folds-1: a seeded shuffle dealt round robin (sizes differ by one at most)."""
    order = sorted(fact_ids)
    random.Random(seed).shuffle(order)
    return {fact_id: position % folds for position, fact_id in enumerate(order)}


def document_reader_examples(facts: list[Fact], passages: list[Passage]) -> list[ReaderExample]:
    """The user's own questions as reader examples. Gold passages: those of the question's gold
    documents (its own passage, for a fact) that contain an answer alias; with no gold documents
    known, any passage that contains one. The target is the first sentence of a gold passage that
    contains an alias: the reader learns to answer with the evidence, worded as the text words it
    (as the cities reader answers with the fact's sentence). A question whose passages never state
    its answer is left out: it could only teach the reader to answer from somewhere else."""
    by_document: dict[str, list] = {}
    for passage in passages:
        by_document.setdefault(passage.document_id, []).append(passage)
    normalised = {p.id: padded_words(p.text) for p in passages}
    examples = []
    for fact in facts:
        wordings = [padded_words(alias) for alias in fact.aliases or (fact.answer,)]
        own = [p for d in fact.document_ids or (fact.id,) for p in by_document.get(d, [])]
        gold = [p for p in own or passages if any(w in normalised[p.id] for w in wordings)]
        if gold:
            answer = next(s for p in gold for s in sentences(p.text) if _states(s, wordings))
            examples.append(ReaderExample(fact.question, [(p.id, p.text) for p in gold], answer))
    return examples


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The text cut after each '.', '!' or '?' followed by a space, and at line breaks. Rough on
    abbreviations ('Dr. Smith'), which only makes a target sentence shorter or longer, never wrong:
    when no piece holds the answer alone, the whole text is the last piece."""
    return [piece.strip() for piece in _SENTENCE_END.split(text) if piece.strip()] + [text.strip()]


def _states(sentence: str, wordings: list[str]) -> bool:
    padded = padded_words(sentence)
    return any(wording in padded for wording in wordings)


def _reader_question(fact: Fact, rng: random.Random) -> str:
    if not fact.subject:
        return fact.question
    return rng.choice([fact.question, *(t.format(subject=fact.subject) for t in TRAIN_PARAPHRASES)])
