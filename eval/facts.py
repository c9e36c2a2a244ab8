"""The knowledge base: the blog's generated cities, or a user's OpenAI chat fine-tuning JSONL."""

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

    @property
    def document(self) -> str:
        """The text indexed for retrieval: the blog indexed the assistant answers."""
        return self.answer

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


def load_chat_jsonl(path: Path) -> list[Fact]:
    """Load and validate an OpenAI chat fine-tuning JSONL through `datasets`."""
    lines = _check_json_lines(path)
    dataset = _load_with_datasets(path)
    if "messages" not in dataset.column_names:
        raise UserInputError(f"{path}:{lines[0]}: no 'messages' key (expected OpenAI chat format)")
    facts = [
        _fact_from_record(row["messages"], f"{path}:{line}", index)
        for index, (row, line) in enumerate(zip(dataset, lines, strict=True))
    ]
    _reject_conflicting_duplicates(facts, path, lines)
    return facts


def _check_json_lines(path: Path) -> list[int]:
    """Line numbers of the records, after checking each is a JSON object: datasets' own parse
    error names no line and logs a traceback, so bad lines are found here first."""
    if not path.is_file():
        raise UserInputError(f"data file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    numbers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserInputError(f"{path}:{number}: malformed JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UserInputError(f"{path}:{number}: each line must be a JSON object")
        numbers.append(number)
    if not numbers:
        raise UserInputError(f"{path}: the file is empty")
    return numbers


def _load_with_datasets(path: Path):
    from datasets import Dataset
    from datasets.utils import logging as datasets_logging

    bars_were_on = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()  # a one-line progress bar for a small file is noise
    try:
        return Dataset.from_json(str(path), keep_in_memory=True)
    except Exception as error:  # Arrow rejects records whose fields change type between lines
        raise UserInputError(
            f"{path}: records do not share one structure ({str(error).splitlines()[0]})"
        ) from None
    finally:
        if bars_were_on:
            datasets_logging.enable_progress_bar()


def _fact_from_record(messages: object, where: str, index: int) -> Fact:
    if not isinstance(messages, list) or not messages:
        raise UserInputError(f"{where}: 'messages' must be a non-empty list")
    by_role: dict[str, str] = {}
    for message in messages:
        role, content = (message or {}).get("role"), (message or {}).get("content")
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


def _reject_conflicting_duplicates(facts: list[Fact], path: Path, lines: list[int]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for fact, line in zip(facts, lines, strict=True):
        earlier = seen.setdefault(fact.question, (fact.answer, line))
        if earlier[0] != fact.answer:
            raise UserInputError(
                f"{path}:{line}: question {fact.question!r} also on line {earlier[1]} with a different answer"
            )
