"""Every registry in one list: what `ftvsrag run --help` and README's extending table say a config
can name. Read from the registries themselves, so a new component shows up without an edit here."""

from __future__ import annotations

from dataclasses import dataclass

from ftvsrag.eval.markdown import table


@dataclass(frozen=True)
class Components:
    kind: str
    config_key: str
    """Where a config names one."""
    package: str
    """Where a new one's module goes."""
    names: list[str]
    descriptions: list[str]


def components() -> list[Components]:
    from ftvsrag.eval.metrics import METRICS
    from ftvsrag.knowledge.sources import SOURCES
    from ftvsrag.rag.prompts import PROMPTS
    from ftvsrag.rag.retrievers import RETRIEVERS
    from ftvsrag.train.recipes import RECIPES

    knowledge = [entry for entry in RECIPES if entry.item.knowledge]
    matching = set(METRICS.matching())
    found = [
        (
            "retriever",
            "rag.retriever, reader.retriever, arms.X.retriever",
            "rag/retrievers/",
            list(RETRIEVERS),
        ),
        ("knowledge recipe", "train.method, arms.X.adapter", "train/recipes/", knowledge),
        ("other recipe", "arms.X.adapter", "train/recipes/", [e for e in RECIPES if e not in knowledge]),
        (
            "metric, right or wrong",
            "eval.metric",
            "eval/metrics/",
            [e for e in METRICS if e.name in matching],
        ),
        (
            "metric, reported beside",
            "(every one, always)",
            "eval/metrics/",
            [e for e in METRICS if e.name not in matching],
        ),
        ("knowledge-base source", "data.source", "ftvsrag/knowledge/sources/", list(SOURCES)),
        ("prompt", "arms.X.prompt, eval.closed_book_prompt", "rag/prompts.py", list(PROMPTS)),
    ]
    return [
        Components(kind, key, package, [e.name for e in entries], [e.description for e in entries])
        for kind, key, package, entries in found
    ]


def components_table() -> str:
    """Markdown: each kind of component, its registered names and where a new one goes."""
    rows = [
        [c.kind, ", ".join(f"`{name}`" for name in c.names), f"`{c.config_key}`", f"`{c.package}`"]
        for c in components()
    ]
    return table(["component", "registered", "a config names it as", "a new one goes in"], rows)
