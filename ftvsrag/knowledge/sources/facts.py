"""A user's one-sentence facts (data.path): OpenAI chat fine-tuning records or question/answer
records, in JSONL, CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

from ftvsrag.files import sha256_file
from ftvsrag.knowledge import FACTS, Knowledge
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.knowledge.facts import load_knowledge_base
from ftvsrag.knowledge.sources import SOURCES


@SOURCES.register("facts", "one-sentence facts from data.path (OpenAI chat or question/answer records)")
class Facts:
    @staticmethod
    def claims(data: DataSettings) -> bool:
        return bool(data.path)

    @staticmethod
    def load(data: DataSettings) -> Knowledge:
        path = Path(data.path).expanduser()
        facts, kind = load_knowledge_base(path)
        return Knowledge(FACTS, facts, [], f"{path} ({kind} format)", sha256_file(path))
