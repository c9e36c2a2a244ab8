"""The registries: each finds its package's modules by itself, names the valid components when a
name is wrong, and takes a component registered from anywhere (here, this test file)."""

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.eval.metrics import METRICS, Reference
from ftvsrag.eval.records import score
from ftvsrag.eval.results import metric_means
from ftvsrag.knowledge.sources import SOURCES
from ftvsrag.rag.prompts import PROMPTS
from ftvsrag.rag.retrievers import RETRIEVERS
from ftvsrag.registry import Registry
from ftvsrag.train.recipes import RECIPES, knowledge_recipes


def test_each_registry_holds_its_packages_components():
    assert RETRIEVERS.names() == ["dense", "hybrid"]
    assert SOURCES.names() == ["cities", "documents", "facts"]
    assert RECIPES.names() == ["chat", "held-out", "lm", "lm+chat", "qa-gen", "reader"]
    assert knowledge_recipes() == ["chat", "held-out", "lm", "lm+chat", "qa-gen"]
    assert METRICS.names() == ["f1", "format", "lenient", "prefix", "stale", "strict", "substring"]
    assert METRICS.matching() == ["lenient", "prefix", "strict", "substring"]
    assert PROMPTS.names() == ["blog", "rag", "training"]


def test_an_unknown_name_is_one_line_naming_the_valid_ones():
    with pytest.raises(UserInputError) as error:
        RETRIEVERS.get("hybird", "arms.x.retriever")
    assert str(error.value) == (
        "config key 'arms.x.retriever': unknown retriever 'hybird' (did you mean 'hybrid'?); "
        "valid: dense, hybrid"
    )
    with pytest.raises(
        UserInputError,
        match="unknown fine-tune recipe 'qa'; valid: none, ft, chat, held-out, lm, lm\\+chat, qa-gen, reader",
    ):
        RECIPES.check("qa", "", ("none", "ft"))


def test_a_name_registered_twice_is_refused():
    registry: Registry[int] = Registry("thing")
    registry.add("a", 1, "one")
    registry.add("a", 1, "one")  # the same registration again is harmless (a module imported twice)
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        registry.add("a", 2, "two")


def test_a_metric_registered_here_is_scored_and_summarised():
    @METRICS.register("test-short", "the output has at most three words (this test)")
    def short(output: str, reference: Reference) -> bool:
        return len(output.split()) <= 3

    try:
        rows = [score(output, Reference("Paris")) for output in ("Paris.", "It is Paris, in France.")]
        assert [row["metrics"]["test-short"] for row in rows] == [True, False]
        assert metric_means(rows)["test-short"] == 0.5
        assert "test-short" not in METRICS.matching()  # graded unless registered with matches=True
    finally:
        METRICS.remove("test-short")
    assert "test-short" not in METRICS


def test_the_report_words_a_knowledge_fine_tune_as_its_recipe_does():
    """A recipe registered in one file words itself in the report: no list of recipes elsewhere
    (the report once said the cities' `lm` fine-tune trained on 'documents')."""
    from ftvsrag.config import ExperimentConfig
    from ftvsrag.context import RunContext
    from ftvsrag.knowledge.sources import load_knowledge
    from ftvsrag.pipeline import knowledge_method
    from ftvsrag.train.config import TrainSettings
    from ftvsrag.train.recipes import recipe_phrase, register_recipe

    assert all(RECIPES.get(name).phrase for name in knowledge_recipes())
    register_recipe("toy", "a toy recipe", knowledge=True, phrase="the toy's own words")(lambda request: [])
    try:
        config = ExperimentConfig(train=TrainSettings(method="toy"))
        knowledge = load_knowledge(config.data)
        assert recipe_phrase(knowledge_method(RunContext.of(config), knowledge)) == "the toy's own words"
        lm = ExperimentConfig(train=TrainSettings(method="lm"))
        words = "continued pre-training on the knowledge text"
        assert recipe_phrase(knowledge_method(RunContext.of(lm), knowledge)) == words
    finally:
        RECIPES.remove("toy")
