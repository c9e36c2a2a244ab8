"""Training rows for the two fine-tunes: the knowledge fine-tune (facts, optionally paraphrased) and
the RAFT-style reader (answer from retrieved context, on facts disjoint from the evaluated ones)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from ftvsrag.eval.extract import extract_lenient
from ftvsrag.eval.facts import Fact
from ftvsrag.eval.questions import TRAIN_PARAPHRASES, training_paraphrases
from ftvsrag.rag.prompts import rag_messages

DONT_KNOW = "I don't know."

# Rewordings of a fact sentence for the 'lm' method's paraphrase augmentation.
SENTENCE_PARAPHRASES = (
    "The population of {subject} is about {number}.",
    "About {number} people live in {subject}.",
    "{subject} is home to roughly {number} people.",
    "{subject}'s population is about {number}.",
    "Roughly {number} inhabitants live in {subject}.",
    "There are about {number} residents in {subject}.",
    "{subject} counts about {number} inhabitants.",
    "In {subject} there are about {number} inhabitants.",
)


def knowledge_rows(facts: list[Fact], method: str, paraphrases: int) -> list[dict]:
    """The knowledge fine-tune's rows: each fact once as given, plus `paraphrases` rewordings."""
    rows: list[dict] = []
    for fact in facts:
        if method == "lm":
            rows.append({"text": fact.document})
            rows += [{"text": sentence} for sentence in _sentence_paraphrases(fact, paraphrases)]
        else:
            rows.append({"messages": fact.messages()})
            rows += [
                {"messages": replace(fact, question=question).messages()}
                for question in training_paraphrases(fact, paraphrases)
            ]
    return rows


def _sentence_paraphrases(fact: Fact, count: int) -> list[str]:
    number = extract_lenient(fact.answer)
    if not fact.subject or number is None:
        return []
    return [
        SENTENCE_PARAPHRASES[i % len(SENTENCE_PARAPHRASES)].format(subject=fact.subject, number=number)
        for i in range(count)
    ]


def reader_rows(
    facts: list[Fact],
    retrieve: Callable[[list[str]], list[list[tuple[str, str]]]],
    k: int,
    without_gold: float,
    seed: int,
) -> list[dict]:
    """RAFT-style rows: the blog's RAG prompt over retrieved documents, answered from the gold one.

    Questions use the training wordings (never the evaluation paraphrases). With probability
    `without_gold` the gold document is taken out of the context and the target is "I don't know";
    otherwise the context is the retriever's top k (the gold document put in at a random place if
    retrieval missed it) and the target is the gold sentence.
    `retrieve` must give k + 1 documents per question, so that k remain without the gold one.
    """
    rng = random.Random(seed)
    wordings = [(fact, _reader_question(fact, rng)) for fact in facts]
    contexts = retrieve([question for _, question in wordings])
    rows = []
    for (fact, question), context in zip(wordings, contexts, strict=True):
        ranked = [doc_id for doc_id, _ in context]
        others = [text for doc_id, text in context if doc_id != fact.id]
        if rng.random() < without_gold:
            documents, answer = others[:k], DONT_KNOW
        elif fact.id in ranked[:k]:
            # Where the retriever put it: the reader trains on the contexts it will be given.
            documents, answer = [text for _, text in context[:k]], fact.document
        else:
            documents = others[: k - 1]
            documents.insert(rng.randint(0, len(documents)), fact.document)
            answer = fact.document
        rows.append(
            {"messages": [*rag_messages(question, documents), {"role": "assistant", "content": answer}]}
        )
    return rows


def _reader_question(fact: Fact, rng: random.Random) -> str:
    if not fact.subject:
        return fact.question
    return rng.choice([fact.question, *(t.format(subject=fact.subject) for t in TRAIN_PARAPHRASES)])
