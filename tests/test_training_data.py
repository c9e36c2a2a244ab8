import json
import random

from ftvsrag.config import ExperimentConfig
from ftvsrag.knowledge.facts import cities_facts
from ftvsrag.text import ABSTENTION as DONT_KNOW
from ftvsrag.train.reader_rows import cities_reader_examples, reader_rows
from ftvsrag.train.recipes.knowledge import knowledge_rows
from ftvsrag.train.recipes.reader import check_disjoint, reader_facts

FACTS = cities_facts(10)


def test_chat_rows_with_paraphrases():
    rows = knowledge_rows(FACTS, "chat", paraphrases=2)
    assert len(rows) == 30
    assert rows[0]["messages"] == FACTS[0].messages()
    assert [m["content"] for m in rows[1]["messages"]] == [
        "You're a helpful assistant",
        "What's the population of City_1?",
        "City_1 has about 1967825 inhabitants.",
    ]


def test_lm_rows_are_the_fact_sentences():
    rows = knowledge_rows(FACTS, "lm", paraphrases=1)
    assert rows[:2] == [
        {"text": "City_1 has about 1967825 inhabitants."},
        {"text": "The population of City_1 is about 1967825."},
    ]


def _fake_retrieve(facts):
    def retrieve(questions):
        # Always the first six facts (k + 1): the gold one is sometimes there, sometimes not.
        return [[(f.id, f.document) for f in facts[:6]] for _ in questions]

    return retrieve


def test_reader_rows_put_the_gold_document_in_or_answer_i_dont_know():
    rng = random.Random(0)
    rows = reader_rows(cities_reader_examples(FACTS, rng), _fake_retrieve(FACTS), 5, 0.3, rng)
    dont_know = 0
    for fact, row in zip(FACTS, rows, strict=True):
        prompt, answer = row["messages"][1]["content"], row["messages"][2]["content"]
        context = prompt.split("CONTEXT: ", 1)[1]
        assert context.count("]: \n") == 5
        if answer == DONT_KNOW:
            dont_know += 1
            assert fact.document not in context
        else:
            assert answer == fact.document and fact.document in context
    assert dont_know == 2  # seeded: measured with seed 0


def _request(knowledge, passages, config, seed=0):
    from ftvsrag.train.recipes import RecipeRequest

    def nowhere(*args):
        raise AssertionError("no retrieval expected")

    return RecipeRequest(
        knowledge,
        passages,
        seed,
        config.train,
        config.reader,
        config.rag.k,
        config.data.seed,
        nowhere,
        nowhere,
        nowhere,
        nowhere,
    )


def test_reader_facts_are_disjoint_from_the_evaluated_ones():
    from ftvsrag.knowledge import FACTS, Knowledge

    config = ExperimentConfig()
    evaluated = cities_facts(config.data.num_cities, config.data.seed)
    knowledge = Knowledge(FACTS, evaluated, [], "cities", None, generated_cities=config.data.num_cities)
    reader = reader_facts(_request(knowledge, [], config))
    assert [reader[0].subject, reader[-1].subject] == ["City_101", "City_200"]
    evaluated_text = {f.question for f in evaluated} | {f.document for f in evaluated}
    assert not any(f.question in evaluated_text or f.document in evaluated_text for f in reader)


def test_overlapping_reader_facts_are_refused():
    import pytest

    from ftvsrag.errors import UserInputError

    with pytest.raises(UserInputError, match="overlap the evaluated ones"):
        check_disjoint(cities_facts(5), cities_facts(10))


def test_editing_a_document_retrains_the_lm_fine_tune_and_only_then(tmp_path):
    """Defect: the knowledge fine-tune's key hashed the chat messages while `train.method: lm`
    trains on the documents, so an edited document reused the old adapter."""
    import dataclasses
    from types import SimpleNamespace

    from ftvsrag.adapters import adapter_inputs
    from ftvsrag.configtools import apply_override, from_dict
    from ftvsrag.knowledge import FACTS, Knowledge
    from ftvsrag.knowledge.facts import load_knowledge_base
    from ftvsrag.rag.chunking import Passage
    from ftvsrag.stages import stage_key
    from ftvsrag.train.adapter import ModelRuntime
    from ftvsrag.train.model import DevicePlan
    from ftvsrag.train.recipes import RECIPES

    def key(document: str, method: str) -> str:
        path = tmp_path / "kb.jsonl"
        record = {"question": "How heavy is the X-74 lamp?", "answer": "6551 grams", "document": document}
        path.write_text(json.dumps(record) + "\n")
        facts, _ = load_knowledge_base(path)
        knowledge = Knowledge(FACTS, facts, [], str(path), None)
        passages = [Passage(f.id, f.id, f.document) for f in facts]
        raw: dict = {}
        apply_override(raw, f"train.method={method}")
        config = from_dict(ExperimentConfig, raw)
        recipe = RECIPES.get(method)
        (training,) = recipe.trainings(_request(knowledge, passages, config))
        plan = DevicePlan("cpu", "float32")
        setup = SimpleNamespace(model=ModelRuntime(None, plan, None, ("sha", "cpu", "float32")))
        inputs = adapter_inputs(recipe.family, setup, training, seed=0)
        assert dataclasses.is_dataclass(inputs)
        return stage_key("train", inputs)

    before, after = "The X-74 lamp weighs 6551 grams.", "The X-74 lamp, made in Oslo, weighs 6551 grams."
    assert key(before, "lm") != key(after, "lm")
    assert key(before, "chat") == key(after, "chat")  # the chat fine-tune never reads the document


def test_lm_chat_rows_are_the_text_rows_and_the_chat_turns():
    from ftvsrag.knowledge import FACTS as KIND
    from ftvsrag.knowledge import Knowledge
    from ftvsrag.train.recipes import RECIPES, RecipeRequest

    config = ExperimentConfig()
    knowledge = Knowledge(KIND, FACTS, [], "10 generated cities", None)
    request = RecipeRequest(knowledge, [], 0, config.train, config.reader, 5, 0, None, None, None, None)
    [training] = RECIPES.get("lm+chat").trainings(request)
    assert training.rows == knowledge_rows(FACTS, "lm", 0) + knowledge_rows(FACTS, "chat", 0)
    assert training.settings.method == "lm+chat"


def test_the_unanswerable_share_counts_missed_retrievals_and_questions_never_answered():
    from ftvsrag.train.reader_rows import ReaderExample, unanswerable_share

    examples = [ReaderExample(f"q{i}", [(f"gold{i}", "text")], "answer") for i in range(4)]
    hit = [("gold0", "t"), ("x", "t")]
    contexts = [hit, [("x", "t"), ("gold1", "t")], [("gold2", "t")], [("y", "t")]]
    # k=1: q0 and q2 have their gold passage first; q1's is second, q3's absent. A fifth question
    # was asked but never became an example (its answer is nowhere in the passages).
    assert unanswerable_share(examples, contexts, k=1, asked=5) == 1 - 2 / 5
    assert unanswerable_share(examples, contexts, k=2, asked=4) == 1 - 3 / 4
    assert unanswerable_share([], [], k=2, asked=0) == 0.0


def test_auto_abstains_as_often_as_retrieval_fails():
    """Half of the questions' retrieval misses the gold fact: about half the rows answer 'I don't know'."""
    examples = cities_reader_examples(FACTS, random.Random(0))

    def retrieve(questions):
        # The gold fact first for the first five questions, nowhere in the context for the others.
        return [
            [(f.id, f.document) for f in (FACTS[i : i + 1] if i < 5 else []) + FACTS[10:]]
            + [(f"other{j}", f"City_{900 + j} has about {j} inhabitants.") for j in range(6)]
            for i, _ in enumerate(questions)
        ]

    rows = reader_rows(examples, retrieve, 2, "auto", random.Random(0))
    assert rows == reader_rows(examples, retrieve, 2, 0.5, random.Random(0))
    assert any(row["messages"][-1]["content"] == DONT_KNOW for row in rows)
    assert rows != reader_rows(examples, retrieve, 2, 0.0, random.Random(0))
