"""Knowledge-base sources. A source reads `data:` settings into a `Knowledge`, every record checked
before any work starts. A new source is one module in this package that registers itself:

    @SOURCES.register("wiki-dump", "a MediaWiki XML dump as documents (data.documents)")
    class WikiDump:
        @staticmethod
        def claims(data: DataSettings) -> bool: ...   # picked by data.source: auto
        @staticmethod
        def load(data: DataSettings) -> Knowledge: ...

`data.source: auto` takes the first registered source whose `claims` is true."""

from __future__ import annotations

from typing import Protocol

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.registry import Registry

AUTO = "auto"


class Source(Protocol):
    @staticmethod
    def claims(data: DataSettings) -> bool: ...

    @staticmethod
    def load(data: DataSettings) -> Knowledge: ...


SOURCES: Registry[Source] = Registry("knowledge-base source", __name__)


def source_name(data: DataSettings) -> str:
    """The source `data.source` names, or for 'auto' the first that claims these settings."""
    if data.source != AUTO:
        SOURCES.check(data.source, "data.source", (AUTO,))
        return data.source
    claiming = [entry.name for entry in SOURCES if entry.item.claims(data)]
    if not claiming:
        raise UserInputError("config: no knowledge-base source reads these data settings; set data.source")
    return claiming[0]


def load_knowledge(data: DataSettings) -> Knowledge:
    return SOURCES.get(source_name(data), "data.source").load(data)
