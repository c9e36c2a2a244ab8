"""Facts: one question with its answer. The blog's generated cities, a user's fact file (OpenAI chat or
question/answer records), the questions about a document knowledge base, and paraphrases."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge.records import read_records, text_field

CITIES_SYSTEM = "You're a helpful assistant"


@dataclass(frozen=True)
class Fact:
    """One question with its reference answer, as a chat record gives it."""

    id: str
    system: str
    question: str
    answer: str
    subject: str | None = None
    """What the question is about ('City_7'), when known: paraphrase templates need it."""
    context: str | None = None
    """The text to index when it is not the answer itself (a question/answer record's document)."""
    aliases: tuple[str, ...] = ()
    """Every acceptable wording of the answer (the answer first); empty: the answer alone."""
    document_ids: tuple[str, ...] = ()
    """Documents that hold the answer (for recall); empty: the fact's own indexed text."""
    extra: dict = dataclasses.field(default_factory=dict, compare=False)
    """The question record's other fields (e.g. 'pageviews'), kept on its answer records."""

    @property
    def document(self) -> str:
        """The text indexed for retrieval: the blog indexed the assistant answers."""
        return self.context or self.answer

    def messages(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [
            *system,
            {"role": "user", "content": self.question},
            {"role": "assistant", "content": self.answer},
        ]


def cities_records(num_cities: int = 100, seed: int = 42) -> list[dict]:
    """The blog's cities_population.jsonl records, in its order and with its random numbers."""
    rng = random.Random(seed)
    records = []
    for i in range(1, num_cities + 1):
        population = rng.randint(100000, 10000000)
        records.append(
            {
                "messages": [
                    {"role": "system", "content": CITIES_SYSTEM},
                    {"role": "user", "content": f"What is the population of City_{i}?"},
                    {"role": "assistant", "content": f"City_{i} has about {population} inhabitants."},
                ]
            }
        )
    return records


def cities_jsonl(num_cities: int = 100, seed: int = 42) -> str:
    """The blog's file, byte for byte: one `json.dumps` per record joined by newlines, with no
    newline after the last (its notebook reads it back with `split("\\n")`)."""
    return "\n".join(json.dumps(record) for record in cities_records(num_cities, seed))


def cities_facts(num_cities: int = 100, seed: int = 42, first_city: int = 1) -> list[Fact]:
    """The cities as facts; `first_city` > 1 makes cities disjoint from the blog's (the reader's)."""
    records = cities_records(num_cities + first_city - 1, seed)[first_city - 1 :]
    return [
        Fact(
            id=f"fact-{index:05d}" if first_city == 1 else f"city-{first_city + index:05d}",
            system=record["messages"][0]["content"],
            question=record["messages"][1]["content"],
            answer=record["messages"][2]["content"],
            subject=f"City_{first_city + index}",
        )
        for index, record in enumerate(records)
    ]


CHAT_FORMAT, QA_FORMAT = "OpenAI chat", "question/answer"


def load_knowledge_base(path: Path) -> tuple[list[Fact], str]:
    """Load a JSONL knowledge base in either format, told apart by its first record's keys:

    - OpenAI chat fine-tuning records, {"messages": [system?, user, assistant]};
    - question/answer records, {"question": ..., "answer": ..., "document": ...?}. The answer may be a
      number or short text. Without a document, the text indexed for retrieval is the question
      followed by its answer.
    """
    records = read_records(path)
    first_line, first = records[0]
    if "messages" in first:
        kind, build = CHAT_FORMAT, _fact_from_chat
    elif "question" in first or "answer" in first:
        kind, build = QA_FORMAT, _fact_from_qa
    else:
        raise UserInputError(
            f"{path}:{first_line}: neither an OpenAI chat record (a 'messages' key) nor a "
            "question/answer record ('question' and 'answer' keys)"
        )
    facts = [build(record, f"{path}:{line}", index) for index, (line, record) in enumerate(records)]
    _reject_conflicting_duplicates(facts, path, [line for line, _ in records])
    return facts, kind


QUESTION_KEYS = ("id", "question", "answer", "answers", "document_ids")


def load_questions(path: Path, document_ids: set[str]) -> list[Fact]:
    """Questions about a document knowledge base: JSONL of {"question", "answer"} or {"question",
    "answers": [aliases]}, with optional "id", "document_ids" (gold documents, which must exist) and
    any other fields, kept as `extra`."""
    records = read_records(path)
    facts = [
        _fact_from_question(record, f"{path}:{line}", index, document_ids)
        for index, (line, record) in enumerate(records)
    ]
    seen: set[str] = set()
    for fact, (line, _) in zip(facts, records, strict=True):
        if fact.id in seen:
            raise UserInputError(f"{path}:{line}: question id {fact.id!r} appears twice")
        seen.add(fact.id)
    return facts


def _fact_from_question(record: dict, where: str, index: int, document_ids: set[str]) -> Fact:
    question = text_field(record, "question", where)
    if "answers" in record:
        answers = record["answers"]
        if not isinstance(answers, list) or not answers:
            raise UserInputError(f"{where}: 'answers' must be a non-empty list of aliases")
    else:
        answers = [record.get("answer")]
    aliases = tuple(_answer_text(answer, where) for answer in answers)
    gold = record.get("document_ids") or []
    if not isinstance(gold, list) or not all(isinstance(d, (str, int)) for d in gold):
        raise UserInputError(f"{where}: 'document_ids' must be a list of document ids")
    unknown = [str(d) for d in gold if str(d) not in document_ids]
    if unknown:
        raise UserInputError(f"{where}: document_ids names no document: {unknown[0]!r}")
    raw_id = record.get("id", f"q-{index:05d}")
    return Fact(
        id=str(raw_id),
        system="",
        question=question,
        answer=aliases[0],
        aliases=aliases,
        document_ids=tuple(str(d) for d in gold),
        extra={k: v for k, v in record.items() if k not in QUESTION_KEYS},
    )


def _answer_text(answer, where: str) -> str:
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    return text_field({"answer": answer}, "answer", where)


def load_paraphrases(path: Path, facts: list[Fact]) -> dict[str, list[str]]:
    """A user's paraphrases: JSONL of {"question": <a training question>, "paraphrase": <new wording>},
    any number per question. Returns new wordings by fact id."""
    by_question = {fact.question: fact.id for fact in facts}
    wordings: dict[str, list[str]] = {}
    for line, record in read_records(path):
        where = f"{path}:{line}"
        question = text_field(record, "question", where)
        paraphrase = text_field(record, "paraphrase", where)
        if question not in by_question:
            raise UserInputError(f"{where}: question {question!r} is not in the knowledge base")
        if paraphrase == question:
            raise UserInputError(f"{where}: the paraphrase is the training question itself")
        wordings.setdefault(by_question[question], []).append(paraphrase)
    return wordings


def _fact_from_chat(record: dict, where: str, index: int) -> Fact:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise UserInputError(f"{where}: 'messages' must be a non-empty list (OpenAI chat format)")
    by_role: dict[str, str] = {}
    for message in messages:
        message = message if isinstance(message, dict) else {}
        role, content = message.get("role"), message.get("content")
        if role not in ("system", "user", "assistant"):
            raise UserInputError(f"{where}: unknown role {role!r}")
        if not isinstance(content, str) or not content.strip():
            raise UserInputError(f"{where}: empty {role} content")
        by_role.setdefault(role, content)
    for role in ("user", "assistant"):
        if role not in by_role:
            raise UserInputError(f"{where}: no {role} turn")
    return Fact(
        id=f"fact-{index:05d}",
        system=by_role.get("system", ""),
        question=by_role["user"].strip(),
        answer=by_role["assistant"].strip(),
    )


def _fact_from_qa(record: dict, where: str, index: int) -> Fact:
    if "messages" in record:
        raise UserInputError(f"{where}: an OpenAI chat record in a question/answer file")
    question = text_field(record, "question", where)
    answer = _answer_text(record.get("answer"), where)
    document = record.get("document")
    if document is not None:
        document = text_field(record, "document", where)
    return Fact(
        id=f"fact-{index:05d}",
        system="",
        question=question,
        answer=answer,
        context=document or f"{question} {answer}",
    )


def _reject_conflicting_duplicates(facts: list[Fact], path: Path, lines: list[int]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for fact, line in zip(facts, lines, strict=True):
        earlier = seen.setdefault(fact.question, (fact.answer, line))
        if earlier[0] != fact.answer:
            raise UserInputError(
                f"{path}:{line}: question {fact.question!r} also on line {earlier[1]} with a different answer"
            )
