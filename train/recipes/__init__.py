"""Fine-tune recipes: what an adapter trains on. A recipe turns the knowledge base (and, for a
reader, retrieval over it) into one or more trainings, each a list of rows with its settings and
the questions it may answer (cross-fitting trains one adapter per fold). A new recipe is one module
in this package that registers itself:

    @register_recipe("qa-gen", "question-answer pairs generated from the passages", knowledge=True)
    def qa_gen(request: RecipeRequest) -> list[Training]: ...

Any registered recipe can answer in an arm (`arms: {mine: {adapter: qa-gen}}`); a knowledge recipe
can also be the `ft` adapter (`train.method`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ftvsrag.knowledge import Knowledge
from ftvsrag.rag.chunking import Passage
from ftvsrag.registry import Registry
from ftvsrag.train.config import ReaderSettings, TrainSettings
from ftvsrag.train.generated_qa import GeneratedPair

Hits = list[list[tuple[str, str]]]
"""Per question, the (passage id, text) a retriever found, best first."""


@dataclass(frozen=True)
class RecipeRequest:
    """What a recipe may read."""

    knowledge: Knowledge
    passages: list[Passage]
    seed: int
    train: TrainSettings
    """The knowledge fine-tune's settings."""
    reader: ReaderSettings
    k: int
    """Passages in a retrieval prompt (rag.k)."""
    data_seed: int
    find: Callable[[str, list[str], int], Hits]
    """(retriever, questions, depth) -> passages from the knowledge base's own index."""
    find_in: Callable[[str, list[tuple[str, str]], list[str], int], Hits]
    """(retriever, (id, text) corpus, questions, depth) -> passages from an index of that corpus alone."""
    generated_qa: Callable[[], list[GeneratedPair]]
    """The generator's question-answer pairs about the passages, each kept or dropped by the checks
    (generated on first call, through its cached stage)."""
    reworded: Callable[[list[str], int], dict[str, list[str]]]
    """(questions, count) -> up to `count` checked rewordings of each, by the generator."""


@dataclass(frozen=True)
class Training:
    """One adapter to train."""

    rows: list[dict]
    """{"messages": [..., assistant]} chat rows or {"text"} rows, exactly as trained on."""
    settings: TrainSettings
    fold: int | None = None
    """The cross-fitting fold it was trained without (None: no cross-fitting)."""
    answers: frozenset[str] | None = None
    """The questions (fact ids) it answers; None: every question."""


@dataclass(frozen=True)
class Recipe:
    trainings: Callable[[RecipeRequest], list[Training]]
    family: str
    """Which adapter kind its cache entries are filed under ('ft' for knowledge recipes, 'reader')."""
    knowledge: bool
    """A knowledge fine-tune: `train.method` can name it."""
    augmentation: str | None = None
    """The setting that multiplies its training data, which the sweep's grid varies:
    'paraphrases' (train.paraphrases) or 'pairs_per_passage' (generator.pairs_per_passage)."""
    phrase: str = ""
    """What it trains on, in a few words, for the report's sentence about the knowledge fine-tune
    ("The knowledge fine-tune (PHRASE) answered ...")."""


RECIPES: Registry[Recipe] = Registry("fine-tune recipe", __name__)


PARAPHRASES, PAIRS_PER_PASSAGE = "paraphrases", "pairs_per_passage"


def register_recipe(
    name: str,
    description: str,
    knowledge: bool,
    family: str | None = None,
    augmentation: str | None = None,
    phrase: str = "",
):
    def add(function: Callable[[RecipeRequest], list[Training]]):
        recipe = Recipe(function, family or ("ft" if knowledge else name), knowledge, augmentation, phrase)
        RECIPES.add(name, recipe, description)
        return function

    return add


def recipe_phrase(method: str | None) -> str:
    """What a knowledge fine-tune of `method` trained on, in its recipe's words (empty: none, or a
    recipe no longer registered, as in a run folder written before it was removed)."""
    return RECIPES.get(method).phrase if method in RECIPES else ""


def knowledge_recipes() -> list[str]:
    return [entry.name for entry in RECIPES if entry.item.knowledge]
