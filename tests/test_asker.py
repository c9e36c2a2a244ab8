"""Asking through the answering stage: answers cut at the generation limit are asked again with a
longer one (the stage is stubbed: this is about which conversations go out with which limit)."""

from types import SimpleNamespace

from ftvsrag.asking import Asker, AskSettings
from ftvsrag.config import ExperimentConfig
from ftvsrag.configtools import apply_override, from_dict
from ftvsrag.generation.answering import Answers
from ftvsrag.knowledge.facts import Fact
from ftvsrag.knowledge.questions import train_questions
from ftvsrag.names import RAG

FACTS = [
    Fact(f"q{i}", "", f"What is person {i}'s occupation?", "poet", aliases=("poet",), document_ids=(f"d{i}",))
    for i in range(4)
]


def _asker(retry: int, calls: list):
    raw: dict = {}
    for override in ("eval.max_new_tokens=8", f"eval.retry_cut_answers={retry}"):
        apply_override(raw, override)
    config = from_dict(ExperimentConfig, raw)

    def run(stage, label, inputs, runtime, detail):
        calls.append((len(inputs.conversations), inputs.max_new_tokens))
        # Questions 1 and 3 ramble: cut at 8 tokens, finished (with the answer) within 30.
        texts, generated = [], []
        for conversation in inputs.conversations:
            rambles = any(f"person {i}'s" in conversation[-1]["content"] for i in (1, 3))
            long = inputs.max_new_tokens > 8
            texts.append(
                "A long preamble about the person, then: poet" if rambles and long else "A long preamble"
            )
            generated.append((30 if long else 8) if rambles else 4)
        count = len(texts)
        return SimpleNamespace(output=Answers(texts, [10] * count, generated))

    asker = Asker(
        AskSettings.of(config, 5),
        ("m", "cpu", "float32"),
        SimpleNamespace(run=run),
        runtime=None,
        adapters={},
        document_of={f"d{i}#0": f"d{i}" for i in range(4)},
    )
    return asker, config


def _ask(made):
    asker, config = made
    questions = train_questions(FACTS)
    contexts = {"dense": [[(f"d{i}#0", "Person is a poet.")] for i in range(4)]}
    return asker.ask(config.resolve_arm(RAG), 0, questions, contexts)


def test_answers_cut_at_the_limit_are_asked_again_with_the_longer_one():
    calls: list = []
    records = _ask(_asker(retry=64, calls=calls))
    assert calls == [(4, 8), (2, 64)]
    assert [r.scores["correct"] for r in records] == [False, True, False, True]
    assert [r.truncated for r in records] == [False, False, False, False]


def test_without_retry_a_cut_answer_is_flagged():
    calls: list = []
    records = _ask(_asker(retry=0, calls=calls))
    assert calls == [(4, 8)]
    assert [r.truncated for r in records] == [False, True, False, True]
    assert not any(r.scores["correct"] for r in records)
