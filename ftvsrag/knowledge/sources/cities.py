"""The blog's knowledge base: N fake cities with random populations (random.seed 42, as it did)."""

from __future__ import annotations

from ftvsrag.knowledge import FACTS, Knowledge
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.knowledge.facts import cities_facts
from ftvsrag.knowledge.sources import SOURCES


@SOURCES.register("cities", "the blog's generated cities (data.num_cities, data.seed)")
class Cities:
    @staticmethod
    def claims(data: DataSettings) -> bool:
        return not data.path and not data.documents

    @staticmethod
    def load(data: DataSettings) -> Knowledge:
        facts = cities_facts(data.num_cities, data.seed)
        source = f"cities(num_cities={data.num_cities}, seed={data.seed})"
        return Knowledge(FACTS, facts, [], source, None, generated_cities=data.num_cities)
