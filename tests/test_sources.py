"""Knowledge-base sources: chosen by `data.source` (or 'auto'), registered by name, reading JSONL,
CSV and Parquet records, every user file read with or without a byte-order mark."""

import json

import pytest

from ftvsrag.config import ExperimentConfig, load_config
from ftvsrag.configtools import apply_override, from_dict
from ftvsrag.errors import UserInputError
from ftvsrag.knowledge import DOCUMENTS, FACTS, Knowledge
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.knowledge.documents import load_documents
from ftvsrag.knowledge.facts import Fact, load_knowledge_base, load_paraphrases, load_questions
from ftvsrag.knowledge.sources import SOURCES, load_knowledge, source_name

BOM = "\ufeff"
QA = {
    "question": "How heavy is the X-74 lamp?",
    "answer": "6551 grams",
    "document": "The X-74 lamp weighs 6551 grams.",
}


def _jsonl(path, records, bom=""):
    path.write_text(bom + "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_auto_picks_the_source_the_settings_name():
    assert source_name(DataSettings()) == "cities"
    assert source_name(DataSettings(path="kb.jsonl")) == "facts"
    assert source_name(DataSettings(documents="docs", questions="q.jsonl")) == "documents"
    assert source_name(DataSettings(source="facts", path="kb.jsonl")) == "facts"


def test_a_byte_order_mark_is_read_past_in_every_user_file(tmp_path):
    facts, kind = load_knowledge_base(_jsonl(tmp_path / "kb.jsonl", [QA], BOM))
    assert (kind, facts[0].answer) == ("question/answer", "6551 grams")
    chat = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    assert load_knowledge_base(_jsonl(tmp_path / "chat.jsonl", [chat], BOM))[0][0].answer == "A."
    documents = load_documents(_jsonl(tmp_path / "docs.jsonl", [{"id": "d1", "text": "Lamps."}], BOM))
    assert documents[0].id == "d1"
    questions = _jsonl(
        tmp_path / "q.jsonl", [{"question": "What?", "answers": ["lamp"], "document_ids": ["d1"]}], BOM
    )
    assert load_questions(questions, {"d1"})[0].aliases == ("lamp",)
    paraphrases = _jsonl(
        tmp_path / "p.jsonl", [{"question": QA["question"], "paraphrase": "What does it weigh?"}], BOM
    )
    assert load_paraphrases(paraphrases, facts) == {facts[0].id: ["What does it weigh?"]}
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text(BOM + "The harbour opened in 1871.", encoding="utf-8")
    assert load_documents(folder)[0].text == "The harbour opened in 1871."
    (tmp_path / "c.yaml").write_text(BOM + "name: bom\ntrain:\n  epochs: 2\n", encoding="utf-8")
    assert load_config(tmp_path / "c.yaml").name == "bom"
    table = tmp_path / "kb.csv"
    table.write_text(
        BOM + "question,answer,document\n" + f'"{QA["question"]}",{QA["answer"]},{QA["document"]}\n'
    )
    assert load_knowledge_base(table)[0][0].question == QA["question"]


def test_csv_and_parquet_records_load_like_jsonl(tmp_path):
    import pandas as pd

    csv = tmp_path / "kb.csv"
    pd.DataFrame([QA, {"question": "How many docks?", "answer": 14}]).to_csv(csv, index=False)
    facts, kind = load_knowledge_base(csv)
    assert kind == "question/answer"
    assert [(f.answer, f.document) for f in facts] == [
        ("6551 grams", "The X-74 lamp weighs 6551 grams."),
        ("14", "How many docks? 14"),  # an empty cell is no document
    ]
    documents = tmp_path / "docs.parquet"
    pd.DataFrame([{"id": "d1", "title": "Lamp", "text": "The lamp weighs 6551 grams."}]).to_parquet(documents)
    assert load_documents(documents)[0].title == "Lamp"
    questions = tmp_path / "q.csv"
    # CSV has no lists: a list is a JSON list in its cell (PopQA's own CSV writes its aliases so).
    questions.write_text(
        'question,answers,document_ids,pageviews\n"What?","[""lamp"", ""light""]","[""d1""]",42\n'
    )
    (question,) = load_questions(questions, {"d1"})
    assert (question.aliases, question.document_ids, question.extra) == (
        ("lamp", "light"),
        ("d1",),
        {"pageviews": 42},
    )


def test_a_broken_table_is_one_line(tmp_path):
    broken = tmp_path / "kb.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(UserInputError, match="cannot be read as a table"):
        load_knowledge_base(broken)


def test_a_source_registered_in_a_test_is_chosen_by_name(tmp_path):
    @SOURCES.register("test-glossary", "a glossary of one entry (this test)")
    class Glossary:
        @staticmethod
        def claims(data):
            return False  # never picked by 'auto'

        @staticmethod
        def load(data):
            fact = Fact("g1", "", "What is a lamp?", "a light")
            return Knowledge(FACTS, [fact], [], "glossary", None)

    try:
        raw: dict = {}
        apply_override(raw, "data.source=test-glossary")
        knowledge = load_knowledge(from_dict(ExperimentConfig, raw).data)
        assert (knowledge.source, knowledge.facts[0].answer) == ("glossary", "a light")
        assert source_name(DataSettings()) == "cities"
        with pytest.raises(
            UserInputError, match="unknown knowledge-base source 'test-glosary' \\(did you mean"
        ):
            source_name(DataSettings(source="test-glosary"))
    finally:
        SOURCES.remove("test-glossary")


def test_the_documents_source_says_what_it_holds():
    from pathlib import Path

    popqa = Path(__file__).parent.parent / "examples" / "popqa_22_occupation"
    data = DataSettings(documents=str(popqa / "documents.jsonl"), questions=str(popqa / "questions.jsonl"))
    knowledge = load_knowledge(data)
    assert (knowledge.kind, len(knowledge.documents), len(knowledge.facts)) == (DOCUMENTS, 225, 70)
