"""The cross-fitted reader: every question is answered by a reader that never trained on it, over a
real Chroma index of the knowledge base's own passages (training itself is stubbed: this is about
which rows go where)."""

import random
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from ftvsrag import adapters as adapters_module
from ftvsrag.adapters import TrainedAdapter, held_out_notes, train_adapters
from ftvsrag.asking import Asker, AskSettings
from ftvsrag.config import ExperimentConfig
from ftvsrag.configtools import apply_override, from_dict
from ftvsrag.context import RunContext
from ftvsrag.generation.answering import Answers
from ftvsrag.knowledge import DOCUMENTS, Knowledge
from ftvsrag.knowledge.facts import Fact
from ftvsrag.knowledge.questions import train_questions
from ftvsrag.names import READER_RAG
from ftvsrag.rag.chunking import Passage
from ftvsrag.rag.embeddings import Embedder
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents
from ftvsrag.team import SOLO
from ftvsrag.text import ABSTENTION as DONT_KNOW
from ftvsrag.train.reader_rows import (
    crossfit_folds,
    document_reader_examples,
    reader_rows,
    sentences,
)
from ftvsrag.train.recipes.reader import reader_settings

PEOPLE = [
    "Ada Brook",
    "Ben Carr",
    "Cleo Dunn",
    "Dov Ehrl",
    "Eve Falk",
    "Finn Gale",
    "Gus Hale",
    "Ida Iles",
    "Jo Kemp",
]
JOBS = ["politician", "actress", "journalist", "composer", "lawyer", "architect", "poet", "surgeon", "jockey"]


def _knowledge():
    facts = [
        Fact(
            id=f"q{i}",
            system="",
            question=f"What is {name}'s occupation?",
            answer="actor" if job == "actress" else job,
            aliases=("actor", "actress") if job == "actress" else (job,),
            document_ids=(f"d{i}",),
        )
        for i, (name, job) in enumerate(zip(PEOPLE, JOBS, strict=True))
    ]
    passages = [
        Passage(f"d{i}#0", f"d{i}", f"{name}\n{name} (born 1901) was a celebrated {job} from Oslo.")
        for i, (name, job) in enumerate(zip(PEOPLE, JOBS, strict=True))
    ] + [Passage(f"d{i}#1", f"d{i}", f"{name}\n{name} lived by the sea.") for i, name in enumerate(PEOPLE)]
    return facts, passages


def _config(*overrides):
    raw: dict = {}
    for override in (
        "reader.folds=3",
        "rag.k=2",
        "eval.arms=[reader+rag]",
        "eval.forgetting_probe=false",
        *overrides,
    ):
        apply_override(raw, override)
    return from_dict(ExperimentConfig, raw)


def test_folds_are_seeded_balanced_and_cover_every_question():
    ids = [f"q{i}" for i in range(10)]
    folds = crossfit_folds(ids, 3, seed=0)
    assert sorted(folds) == sorted(ids)
    assert sorted(list(folds.values()).count(f) for f in range(3)) == [3, 3, 4]
    assert folds == crossfit_folds(list(reversed(ids)), 3, seed=0)
    assert folds != crossfit_folds(ids, 3, seed=1)


def test_reader_examples_answer_with_the_sentence_that_states_an_alias():
    facts, passages = _knowledge()
    examples = document_reader_examples(facts, passages)
    by_question = {e.question: e for e in examples}
    ben = by_question["What is Ben Carr's occupation?"]
    # The passage says 'actress' (an alias; the canonical answer is 'actor'); the title line does not.
    assert ben.answer == "Ben Carr (born 1901) was a celebrated actress from Oslo."
    assert [passage_id for passage_id, _ in ben.gold] == ["d1#0"]  # d1#1 holds no alias


def test_sentences_cut_at_ends_and_line_breaks_and_keep_the_whole_last():
    text = "Ada Brook\nAda Brook was a poet. She lived in Oslo! Did she sail? Yes"
    assert sentences(text) == [
        "Ada Brook",
        "Ada Brook was a poet.",
        "She lived in Oslo!",
        "Did she sail?",
        "Yes",
        text,
    ]


@pytest.fixture(scope="module")
def embedder():
    return Embedder("all-minilm-l6-v2")


def test_cross_fitting_never_answers_a_question_with_a_reader_trained_on_it(tmp_path, monkeypatch, embedder):
    facts, passages = _knowledge()
    config = _config()
    collection = open_collection(tmp_path / "chroma", "knowledge", embedder)
    upsert_documents(collection, embedder, [p.id for p in passages], [p.text for p in passages])
    trained_on: dict[str, set[str]] = {}

    def train_adapter(inputs, setup, cache, label, training):
        sha = f"reader-{len(trained_on)}"
        trained_on[sha] = {_question_of(row) for row in inputs.rows}
        return TrainedAdapter(sha, Path(sha), None, training.answers)

    monkeypatch.setattr(adapters_module, "train_adapter", train_adapter)
    setup = _stub_setup(embedder)
    knowledge = Knowledge(DOCUMENTS, facts, [object()], "test", None)
    no_generator = SimpleNamespace(generated=None, reworded=None)
    adapters = train_adapters(
        RunContext.of(config), setup, knowledge, passages, collection, cache=None, writer=no_generator
    )
    release_chroma()
    assert sorted(key.fold for key in adapters) == [0, 1, 2]
    assert set().union(*trained_on.values()) == {f.question for f in facts}

    answered_by: dict[str, str] = {}
    asker = _recording_asker(config, adapters, passages, answered_by, lambda c: _question_of({"messages": c}))
    questions = train_questions(facts)
    contexts = {"hybrid": [[(passages[0].id, passages[0].text)] for _ in questions]}
    records = asker.ask(config.resolve_arm(READER_RAG), 0, questions, contexts)
    assert [r.question for r in records] == [q.text for q in questions]  # back in question order
    assert set(answered_by) == {f.question for f in facts}
    for question, sha in answered_by.items():
        assert question not in trained_on[sha]
    assert len(set(answered_by.values())) == 3


def _stub_setup(embedder) -> SimpleNamespace:
    """What train_adapters reads of a Setup, with no model (training itself is stubbed)."""
    model_id = ("m", "cpu", "float32")
    return SimpleNamespace(
        model=SimpleNamespace(model_id=model_id, train_id=model_id, team=SOLO), embedder=embedder
    )


def _recording_asker(config, adapters, passages, answered_by: dict[str, str], question_of) -> Asker:
    """An asker whose answering stage records which adapter each question went to (no model)."""

    def run(stage, label, inputs, runtime, detail):
        for conversation in inputs.conversations:
            answered_by[question_of(conversation)] = inputs.adapter_sha256
        count = len(inputs.conversations)
        return SimpleNamespace(output=Answers(["x"] * count, [1] * count, [1] * count))

    return Asker(
        AskSettings.of(config, 5),
        ("m", "cpu", "float32"),
        SimpleNamespace(run=run),
        runtime=None,
        adapters=adapters,
        document_of={p.id: p.document_id for p in passages},
    )


def _question_of(row: dict) -> str:
    prompt = row["messages"][1]["content"]
    return prompt.split("QUESTION: ", 1)[1].split("\n", 1)[0]


def test_a_context_without_the_gold_passage_teaches_i_dont_know():
    facts, passages = _knowledge()
    examples = document_reader_examples(facts, passages)

    def retrieve(questions):
        return [[(p.id, p.text) for p in passages[:4]] for _ in questions]

    rows = reader_rows(examples, retrieve, k=2, without_gold=0.5, rng=random.Random(3))
    targets = [row["messages"][-1]["content"] for row in rows]
    assert DONT_KNOW in targets and any(t != DONT_KNOW for t in targets)
    for example, row in zip(examples, rows, strict=True):
        prompt, target = row["messages"][1]["content"], row["messages"][-1]["content"]
        gold_text = example.gold[0][1]
        if target == DONT_KNOW:
            assert gold_text not in prompt
        else:
            assert target == example.answer and gold_text in prompt


def test_a_question_its_passages_never_answer_teaches_no_reading():
    facts, passages = _knowledge()
    silent = Fact(
        "q9",
        "",
        "What is Zed Young's occupation?",
        "talent manager",
        aliases=("talent manager",),
        document_ids=("d0",),
    )
    examples = document_reader_examples([*facts, silent], passages)
    assert len(examples) == len(facts)
    assert "What is Zed Young's occupation?" not in {e.question for e in examples}


def test_the_readers_key_does_not_move_with_the_method_default():
    """Defect: `train.method` gained 'auto' as its default, and the reader's settings carried it into
    its cache key, so an unchanged cities reader was trained again after the upgrade."""
    config = _config()
    assert config.reader.train.method == "auto"
    assert reader_settings(config.reader.train).method == "chat"
    assert reader_settings(config.reader.train) == replace(config.reader.train, method="chat")


def test_held_out_never_answers_a_question_with_a_fine_tune_trained_on_its_pair(monkeypatch):
    """Recipe 'held-out': each fold's fine-tune trains on every passage and the other folds' turns;
    every question is answered by the one that never saw its pair, a probe question by the first."""
    from ftvsrag.knowledge.probe import general_questions

    facts, passages = _knowledge()
    config = _config("train.method=held-out", "eval.arms=[ft]", "eval.forgetting_probe=true")
    trained_on: dict[str, list[dict]] = {}

    def train_adapter(inputs, setup, cache, label, training):
        sha = f"ft-{training.fold}"
        trained_on[sha] = inputs.rows
        return TrainedAdapter(sha, Path(sha), None, training.answers)

    monkeypatch.setattr(adapters_module, "train_adapter", train_adapter)
    setup = _stub_setup(None)
    knowledge = Knowledge(DOCUMENTS, facts, [object()], "test", None)
    run = RunContext.of(config)
    adapters = train_adapters(
        run, setup, knowledge, passages, None, None, SimpleNamespace(generated=None, reworded=None)
    )
    assert sorted(key.fold for key in adapters) == [0, 1, 2]
    for rows in trained_on.values():  # every passage, then two thirds of the pairs
        assert [row["text"] for row in rows[: len(passages)]] == [p.text for p in passages]
        assert len(rows) - len(passages) == 6

    answered_by: dict[str, str] = {}
    asker = _recording_asker(config, adapters, passages, answered_by, lambda c: c[-1]["content"])
    asker.ask(config.resolve_arm("ft"), 0, train_questions(facts), {})
    assert {question for question in answered_by} == {f.question for f in facts}
    for fact in facts:
        sha = answered_by[fact.question]
        assert {"messages": fact.messages()} not in trained_on[sha]
        assert sum({"messages": fact.messages()} in rows for rows in trained_on.values()) == 2
    probe = general_questions("")
    asker.ask(config.resolve_arm("ft"), 0, probe, {}, probe=True)
    assert {answered_by[q.text] for q in probe} == {"ft-0"}
    assert held_out_notes(run, adapters) == [
        "adapter ft: cross-fitted, 3 folds (the reader's): each question was answered by a fine-tune "
        "trained on the knowledge text and the other folds' questions only"
    ]
