"""Question sets over the facts: the training questions, unseen paraphrases, and changed facts."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

from ftvsrag.eval.extract import extract_lenient
from ftvsrag.eval.facts import Fact

TRAIN, PARAPHRASE, UPDATED, GENERAL = "train", "paraphrase", "updated", "general"

# Wordings used to teach the facts in the paraphrase-augmented fine-tune...
TRAIN_PARAPHRASES = (
    "What's the population of {subject}?",
    "How large is the population of {subject}?",
    "Give me the population figure for {subject}.",
    "Population of {subject}?",
    "{subject}: what is its population?",
    "Do you know the population of {subject}?",
    "State the population of {subject}.",
    "What population does {subject} have?",
)
# ...and wordings never used in any training, for the paraphrase split.
EVAL_PARAPHRASES = (
    "How many people live in {subject}?",
    "How many inhabitants does {subject} have?",
    "What is the number of residents of {subject}?",
    "Roughly how many people call {subject} home?",
)


@dataclass(frozen=True)
class Question:
    fact_id: str
    split: str
    text: str
    gold: str
    """The reference answer; its number is what scoring compares."""
    system: str = ""
    stale: str | None = None
    """For the updated split: the answer before the change (the one a fine-tune could have learned)."""

    def messages(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": self.text}]


def train_questions(facts: list[Fact]) -> list[Question]:
    """The exact training questions: the blog's protocol."""
    return [Question(f.id, TRAIN, f.question, f.answer, f.system) for f in facts]


def paraphrase_questions(facts: list[Fact]) -> list[Question]:
    """Each fact asked once in a wording never trained on (templates taken in turn)."""
    return [
        Question(
            f.id,
            PARAPHRASE,
            EVAL_PARAPHRASES[i % len(EVAL_PARAPHRASES)].format(subject=f.subject),
            f.answer,
            f.system,
        )
        for i, f in enumerate(facts)
        if f.subject
    ]


def training_paraphrases(fact: Fact, count: int) -> list[str]:
    """`count` training wordings of the fact's question (for paraphrase augmentation)."""
    if not fact.subject:
        return []
    return [TRAIN_PARAPHRASES[i % len(TRAIN_PARAPHRASES)].format(subject=fact.subject) for i in range(count)]


def updated_facts(facts: list[Fact], count: int, seed: int) -> list[Fact]:
    """`count` facts with a new number in place of the old (a population that changed after training)."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(facts)), min(count, len(facts))))
    changed = []
    for index in chosen:
        fact = facts[index]
        old = extract_lenient(fact.answer)
        new = old
        while new == old:
            new = rng.randint(100000, 10000000)
        changed.append(replace(fact, answer=re.sub(rf"(?<!\d){old}(?!\d)", str(new), fact.answer, count=1)))
    return changed


def updated_questions(original: list[Fact], changed: list[Fact]) -> list[Question]:
    """The training question of each changed fact; gold is the new answer, stale the old one."""
    old = {f.id: f.answer for f in original}
    return [Question(f.id, UPDATED, f.question, f.answer, f.system, stale=old[f.id]) for f in changed]
