"""Question-answer pairs written from the passages by a generator model, for the `qa-gen` recipe
(synthetic QA as Soudani et al. 2024 fine-tune on): the prompt that asks for them, reading them out of
the generator's text, and the general checks a pair must pass to be trained on. Pure: the generation
itself is a cached stage (ftvsrag/generation/qa.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ftvsrag.text import normalise_text, padded_words

QA_SYSTEM = "You write quiz questions about a text. Each answer is a few words copied from the text."
# One worked example, invented and about no knowledge base, so that a small model sees the format.
EXAMPLE_TEXT = (
    "The Varn Bridge is a stone bridge over the river Elde in the town of Kessel. It was built in 1843 "
    "by the engineer Anna Holt and is 120 metres long."
)
EXAMPLE_PAIRS = (
    ("Which river does the Varn Bridge cross?", "the river Elde"),
    ("Who built the Varn Bridge?", "Anna Holt"),
    ("In which year was the Varn Bridge built?", "1843"),
    ("How long is the Varn Bridge?", "120 metres"),
    ("In which town is the Varn Bridge?", "Kessel"),
)
MAX_ANSWER_WORDS = 12
"""Longer answers are sentences restated, not the short answer a question has."""

KEPT = ""
NOT_WRITTEN, NOT_A_QUESTION, ANSWER_TOO_LONG = "not written", "not a question", "answer too long"
ANSWER_NOT_IN_PASSAGE, ANSWER_IN_QUESTION = "answer not in its passage", "answer given in the question"
QUESTION_COPIED, DUPLICATE = "question copied from the passage", "duplicate question"
DROP_REASONS = (
    NOT_WRITTEN,
    NOT_A_QUESTION,
    ANSWER_TOO_LONG,
    ANSWER_NOT_IN_PASSAGE,
    ANSWER_IN_QUESTION,
    QUESTION_COPIED,
    DUPLICATE,
)
"""Why a pair is not trained on, in the order the checks run."""

_LINE = re.compile(r"^\s*(?:\d+[.)]\s*)?(q|question|a|answer)\s*\d*\s*[:.-]\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class GeneratedPair:
    passage_id: str
    question: str
    answer: str
    dropped: str = KEPT
    """Why it is not trained on (one of DROP_REASONS); empty when kept."""

    @property
    def kept(self) -> bool:
        return self.dropped == KEPT


def qa_prompt(passage: str, pairs: int) -> list[dict[str, str]]:
    """The conversation that asks the generator for `pairs` questions about one passage."""
    ask = f"Write {pairs} questions this text answers."
    example = "\n".join(f"Q: {q}\nA: {a}" for q, a in EXAMPLE_PAIRS[:pairs])
    return [
        {"role": "system", "content": QA_SYSTEM},
        {"role": "user", "content": f"Text: {EXAMPLE_TEXT}\n\n{ask}"},
        {"role": "assistant", "content": example},
        {"role": "user", "content": f"Text: {passage}\n\n{ask}"},
    ]


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """The (question, answer) pairs in a generator's reply, in order: each 'Q:' line with the 'A:'
    line that follows it ('Question:'/'Answer:' and numbering also read); a question without an answer
    is left out."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for line in text.splitlines():
        found = _LINE.match(line)
        if not found:
            continue
        kind, content = found.group(1).lower(), found.group(2).strip()
        if kind.startswith("q"):
            question = content
        elif question is not None:
            pairs.append((question, content))
            question = None
    return pairs


def checked_pairs(
    passage_id: str, passage: str, text: str, wanted: int, seen: set[str]
) -> list[GeneratedPair]:
    """The first `wanted` pairs of the reply, each kept or dropped with its reason; a reply with
    fewer pairs counts the missing ones as not written. `seen` holds the normalised questions kept so
    far (across passages) and is updated."""
    pairs = []
    for question, answer in parse_pairs(text)[:wanted]:
        reason = drop_reason(question, answer, passage, seen)
        if reason == KEPT:
            seen.add(normalise_text(question))
        pairs.append(GeneratedPair(passage_id, question, answer, reason))
    missing = wanted - len(pairs)
    return pairs + [GeneratedPair(passage_id, "", "", NOT_WRITTEN)] * missing


def drop_reason(question: str, answer: str, passage: str, seen: set[str]) -> str:
    """Why a generated pair cannot teach the passage (KEPT when it can): the answer must be stated
    in the passage as whole words and not given away by the question, and the question must be one,
    new and not a span of the passage."""
    asked, said = normalise_text(question), normalise_text(answer)
    if not question.rstrip().endswith("?") or len(asked.split()) < 2:
        return NOT_A_QUESTION
    if not said or len(said.split()) > MAX_ANSWER_WORDS:
        return ANSWER_TOO_LONG
    if f" {said} " not in padded_words(passage):
        return ANSWER_NOT_IN_PASSAGE
    if f" {said} " in f" {asked} ":
        return ANSWER_IN_QUESTION
    if f" {asked} " in padded_words(passage):
        return QUESTION_COPIED
    if asked in seen:
        return DUPLICATE
    return KEPT


def drop_counts(pairs: list[GeneratedPair]) -> dict[str, int]:
    """Dropped pairs by reason, in the checks' order, reasons that dropped none left out."""
    counts = {reason: sum(p.dropped == reason for p in pairs) for reason in DROP_REASONS}
    return {reason: count for reason, count in counts.items() if count}


# Rewordings of a training question by the generator (the `paraphrases` augmentation of a knowledge
# base whose questions have no templates), with a worked example about no knowledge base.
REWORD_SYSTEM = "You reword questions. Each rewording asks the same thing in other words."
EXAMPLE_QUESTION = "Which river does the Varn Bridge cross?"
EXAMPLE_REWORDINGS = (
    "What river does the Varn Bridge span?",
    "The Varn Bridge crosses which river?",
    "Over which river was the Varn Bridge built?",
    "What is the name of the river under the Varn Bridge?",
    "Which river is crossed by the Varn Bridge?",
)
_LISTED = re.compile(r"^\s*(?:[-*•]|\d+[.)]|q\d*\s*[:.]|question\s*\d*\s*[:.])?\s*(.*)$", re.IGNORECASE)


def reword_prompt(question: str, count: int) -> list[dict[str, str]]:
    """The conversation that asks the generator for `count` rewordings of one question."""
    ask = f"Reword this question {count} ways, one per line."
    example = "\n".join(EXAMPLE_REWORDINGS[:count])
    return [
        {"role": "system", "content": REWORD_SYSTEM},
        {"role": "user", "content": f"Question: {EXAMPLE_QUESTION}\n\n{ask}"},
        {"role": "assistant", "content": example},
        {"role": "user", "content": f"Question: {question}\n\n{ask}"},
    ]


def checked_rewordings(question: str, reply: str, count: int) -> list[str]:
    """Up to `count` rewordings from the reply, in order: each a question, new (not the question nor
    an earlier rewording), and keeping every name of the question (its capitalised words after the
    first), so that it still asks about the same thing."""
    names = question_names(question)
    seen = {normalise_text(question)}
    kept = []
    for line in reply.splitlines():
        candidate = _LISTED.match(line).group(1).strip()
        words = {_bare(word) for word in candidate.split()}
        if candidate.endswith("?") and normalise_text(candidate) not in seen and names <= words:
            seen.add(normalise_text(candidate))
            kept.append(candidate)
        if len(kept) == count:
            break
    return kept


def question_names(question: str) -> set[str]:
    """The capitalised words of a question after its first word, without a possessive 's."""
    words = [_bare(word) for word in question.split()[1:]]
    return {word for word in words if word[:1].isupper()}


def _bare(word: str) -> str:
    return word.strip(".,;:!?\"'()").removesuffix("'s").removesuffix("\u2019s")
