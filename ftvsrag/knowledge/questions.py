"""Question sets over the facts: the training questions, unseen paraphrases, and changed facts."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.facts import Fact, load_paraphrases
from ftvsrag.names import PARAPHRASE, TRAIN, UPDATED
from ftvsrag.text import first_number, numbers_in

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
    aliases: tuple[str, ...] = ()
    """Every acceptable wording of the answer; empty: `gold` alone."""
    gold_documents: tuple[str, ...] = ()
    """Documents that hold the answer, for recall."""
    extra: dict = field(default_factory=dict, compare=False)
    """The question record's own extra fields (e.g. 'pageviews')."""

    def messages(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": self.text}]


def question_of(fact: Fact, split: str, text: str | None = None, stale: str | None = None) -> Question:
    """The fact asked in `split`, in its own wording unless `text` gives another."""
    return Question(
        fact.id,
        split,
        text or fact.question,
        fact.answer,
        fact.system,
        stale=stale,
        aliases=fact.aliases,
        gold_documents=fact.document_ids or (fact.id,),
        extra=fact.extra,
    )


def train_questions(facts: list[Fact]) -> list[Question]:
    """The exact training questions: the blog's protocol."""
    return [question_of(f, TRAIN) for f in facts]


def paraphrase_questions(
    facts: list[Fact], user_wordings: dict[str, list[str]] | None = None
) -> list[Question]:
    """Each fact asked in wordings never trained on: the user's own, when given (every wording of
    every fact that has one), else the city templates taken in turn."""
    if user_wordings is not None:
        return [question_of(f, PARAPHRASE, text) for f in facts for text in user_wordings.get(f.id, [])]
    return [
        question_of(f, PARAPHRASE, EVAL_PARAPHRASES[i % len(EVAL_PARAPHRASES)].format(subject=f.subject))
        for i, f in enumerate(facts)
        if f.subject
    ]


def training_paraphrases(fact: Fact, count: int) -> list[str]:
    """`count` training wordings of the fact's question (for paraphrase augmentation)."""
    if not fact.subject:
        return []
    return [TRAIN_PARAPHRASES[i % len(TRAIN_PARAPHRASES)].format(subject=fact.subject) for i in range(count)]


def updated_facts(facts: list[Fact], count: int, seed: int) -> list[Fact]:
    """`count` facts with a new number in place of the old (a population that changed after training).

    Only facts whose answer holds a number as written (e.g. '1967825', not '1,967,825') can change;
    the number changes in the answer and in the indexed document alike.
    """
    rng = random.Random(seed)
    numbered = [i for i, f in enumerate(facts) if _plain_number(f) is not None]
    chosen = sorted(rng.sample(numbered, min(count, len(numbered))))
    changed = []
    for index in chosen:
        fact = facts[index]
        old = _plain_number(fact)
        low, high = (100000, 10000000) if old >= 100000 else (1, max(10, old * 3))
        new = old
        while new == old:
            new = rng.randint(low, high)
        pattern = rf"(?<!\d){old}(?!\d)"
        changed.append(
            replace(
                fact,
                answer=re.sub(pattern, str(new), fact.answer, count=1),
                context=re.sub(pattern, str(new), fact.context) if fact.context else None,
            )
        )
    return changed


def _plain_number(fact: Fact) -> int | None:
    """The answer's own number (not one its question holds) when it appears as plain digits, so it
    can be swapped for another."""
    number = first_number(fact.answer, numbers_in(fact.question))
    return number if number is not None and re.search(rf"(?<!\d){number}(?!\d)", fact.answer) else None


def updated_questions(original: list[Fact], changed: list[Fact]) -> list[Question]:
    """The training question of each changed fact; gold is the new answer, stale the old one."""
    old = {f.id: f.answer for f in original}
    return [question_of(f, UPDATED, stale=old[f.id]) for f in changed]


@dataclass(frozen=True)
class QuestionSets:
    splits: dict[str, list[Question]]
    changed: list[Fact]
    """Facts given a new number after training (the updated split), upserted before it is asked."""
    notes: list[str]


def question_sets(
    knowledge: Knowledge, splits: list[str], paraphrases_path: str | None, updated: int, seed: int
) -> QuestionSets:
    """The question sets asked, in `splits` order: the training questions, their paraphrases (the
    user's file, or the cities' templates) and the facts that changed after training."""
    facts = knowledge.facts
    sets: dict[str, list[Question]] = {}
    notes: list[str] = []
    changed: list[Fact] = []
    if TRAIN in splits:
        sets[TRAIN] = train_questions(facts)
    if PARAPHRASE in splits:
        wordings = load_paraphrases(Path(paraphrases_path).expanduser(), facts) if paraphrases_path else None
        sets[PARAPHRASE] = paraphrase_questions(facts, wordings)
        if not sets[PARAPHRASE]:
            del sets[PARAPHRASE]
            notes.append(
                "paraphrase split skipped: this knowledge base has no paraphrases file "
                "(data.paraphrases_path)"
            )
    if UPDATED in splits and knowledge.has_documents:
        notes.append("updated split skipped: a document knowledge base has no facts to change")
    elif UPDATED in splits:
        changed = updated_facts(facts, updated, seed + 1)
        if changed:
            sets[UPDATED] = updated_questions(facts, changed)
            notes.append(
                f"updated split: {len(changed)} facts got a new number after training and were upserted "
                "into the Chroma collection; 'stale' counts answers that give the old number"
            )
        else:
            notes.append("updated split skipped: no answer holds a number that could change")
    return QuestionSets(sets, changed, notes)
