"""The knowledge base: the blog's generated cities, or a user's JSONL (OpenAI chat or question/answer)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from ftvsrag.errors import UserInputError

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
    records = _json_records(path)
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


def load_paraphrases(path: Path, facts: list[Fact]) -> dict[str, list[str]]:
    """A user's paraphrases: JSONL of {"question": <a training question>, "paraphrase": <new wording>},
    any number per question. Returns new wordings by fact id."""
    by_question = {fact.question: fact.id for fact in facts}
    wordings: dict[str, list[str]] = {}
    for line, record in _json_records(path):
        where = f"{path}:{line}"
        question = _text_field(record, "question", where)
        paraphrase = _text_field(record, "paraphrase", where)
        if question not in by_question:
            raise UserInputError(f"{where}: question {question!r} is not in the knowledge base")
        if paraphrase == question:
            raise UserInputError(f"{where}: the paraphrase is the training question itself")
        wordings.setdefault(by_question[question], []).append(paraphrase)
    return wordings


def _json_records(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) for each non-blank line, after checking each is a JSON object."""
    if not path.is_file():
        raise UserInputError(f"data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path}:{number}: malformed JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UserInputError(f"{path}:{number}: each line must be a JSON object")
        records.append((number, record))
    if not records:
        raise UserInputError(f"{path}: the file is empty")
    return records


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
    question = _text_field(record, "question", where)
    answer = record.get("answer")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    answer = _text_field({"answer": answer}, "answer", where)
    document = record.get("document")
    if document is not None:
        document = _text_field(record, "document", where)
    return Fact(
        id=f"fact-{index:05d}",
        system="",
        question=question,
        answer=answer,
        context=document or f"{question} {answer}",
    )


def _text_field(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if value is None:
        raise UserInputError(f"{where}: no '{key}'")
    if not isinstance(value, str):
        raise UserInputError(f"{where}: '{key}' must be text, got {type(value).__name__}")
    if not value.strip():
        raise UserInputError(f"{where}: empty '{key}'")
    return value.strip()


def _reject_conflicting_duplicates(facts: list[Fact], path: Path, lines: list[int]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for fact, line in zip(facts, lines, strict=True):
        earlier = seen.setdefault(fact.question, (fact.answer, line))
        if earlier[0] != fact.answer:
            raise UserInputError(
                f"{path}:{line}: question {fact.question!r} also on line {earlier[1]} with a different answer"
            )
