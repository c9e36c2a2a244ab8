"""The metrics: each scores one output against its reference, and results.json averages it per arm
and split. A new metric is one module in this package that registers itself:

    @METRICS.register("exact", "the output is the gold answer, normalised", matches=True)
    def exact(output: str, reference: Reference) -> bool | None: ...

A metric returns None where it does not apply (token F1 on a numeric answer). `matches=True` marks
a right-or-wrong rule that `eval.metric` can pick for accuracy and the verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ftvsrag.eval.extract import NUMBER, TEXT, answer_kind
from ftvsrag.registry import Registry
from ftvsrag.text import first_number, numbers_in

DEFAULT_METRIC = "prefix"
"""What accuracy and the verdict use unless `eval.metric` says otherwise."""
LENIENT_METRIC = "lenient"


@dataclass(frozen=True)
class Reference:
    """What an output is scored against: the gold answer and its aliases, the question it answers
    (its own numbers are never the answer), the forgetting probe's accepted answers, and for a
    changed fact its old answer."""

    gold: str
    question: str = ""
    aliases: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    stale: str | None = None

    @cached_property
    def kind(self) -> str:
        return TEXT if self.accepted else answer_kind(self.gold, self.question)

    @property
    def wordings(self) -> tuple[str, ...]:
        return self.aliases or (self.gold,)

    @cached_property
    def restated(self) -> list[int]:
        """The question's own numbers: an output that repeats them has not answered."""
        return numbers_in(self.question)

    @cached_property
    def gold_number(self) -> int | None:
        return first_number(self.gold, self.restated) if self.kind == NUMBER else None


@dataclass(frozen=True)
class Metric:
    score: Callable[[str, Reference], bool | float | None]
    matches: bool
    """A right-or-wrong rule (accuracy can be counted by it), not a graded score."""


class MetricRegistry(Registry[Metric]):
    def register(self, name: str, description: str, matches: bool = False):  # type: ignore[override]
        def add(function):
            self.add(name, Metric(function, matches), description)
            return function

        return add

    def matching(self) -> list[str]:
        return [entry.name for entry in self if entry.item.matches]


METRICS = MetricRegistry("metric", __name__)


def describe(name: str) -> str:
    return METRICS.entry(name).description
