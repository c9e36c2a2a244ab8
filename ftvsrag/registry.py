"""Named components, registered where they are defined (as lm-eval registers its filters and metrics):
retrievers, knowledge-base sources, fine-tune recipes, metrics, prompts. A registry knows its
package and imports every module in it the first time it is read, so a new component is one new
module in that package. Config validation and its error text come from here."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from ftvsrag.errors import UserInputError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    item: T
    description: str


class Registry(Generic[T]):
    """`kind` names what it holds in error messages ('retriever'); `package`, when given, is
    imported module by module before the first lookup, so that its modules' registrations run."""

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self._package = package
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = package is None

    def register(self, name: str, description: str) -> Callable[[T], T]:
        """Decorator: `@RETRIEVERS.register("dense", "...")` on the class or function."""

        def add(item: T) -> T:
            self.add(name, item, description)
            return item

        return add

    def add(self, name: str, item: T, description: str) -> None:
        if name in self._entries and self._entries[name].item is not item:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = Entry(name, item, description)

    def remove(self, name: str) -> None:
        """Forget a registration (tests that register a toy component clean up with this)."""
        self._entries.pop(name, None)

    def get(self, name: str, where: str = "") -> T:
        return self.entry(name, where).item

    def entry(self, name: str, where: str = "") -> Entry[T]:
        entries = self._all()
        if name not in entries:
            raise UserInputError(self.unknown(name, where))
        return entries[name]

    def check(self, name: str, where: str, also: tuple[str, ...] = ()) -> None:
        """A one-line error unless `name` is registered (or one of `also`, e.g. 'none')."""
        if name not in also and name not in self._all():
            raise UserInputError(self.unknown(name, where, also))

    def unknown(
        self, name: str, where: str = "", also: tuple[str, ...] = (), among: list[str] | None = None
    ) -> str:
        """The error line for an unknown `name`: the valid names (`also` and `among`, by default every
        registered one) and the nearest of them."""
        valid = [*also, *(self.names() if among is None else among)]
        close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        place = f"config key '{where}': " if where else ""
        return f"{place}unknown {self.kind} {name!r}{hint}; valid: {', '.join(valid)}"

    def names(self) -> list[str]:
        """Every registered name, sorted (whichever module happened to be imported first)."""
        return sorted(self._all())

    def __iter__(self) -> Iterator[Entry[T]]:
        entries = self._all()
        return iter([entries[name] for name in self.names()])

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def _all(self) -> dict[str, Entry[T]]:
        if not self._discovered:
            self._discovered = True
            package = importlib.import_module(self._package)
            for module in pkgutil.iter_modules(package.__path__):
                importlib.import_module(f"{self._package}.{module.name}")
        return self._entries
