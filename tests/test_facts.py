import hashlib
import json
from pathlib import Path

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.files import write_jsonl
from ftvsrag.knowledge.facts import (
    CHAT_FORMAT,
    QA_FORMAT,
    cities_jsonl,
    cities_records,
    load_knowledge_base,
    load_paraphrases,
)

# sha256 of the blog's 100-city file (dylanjcastillo/rag-vs-finetune): "\n".join of one json.dumps per
# record, 21,875 bytes, no newline after the last record.
CITIES_SHA256 = "22b811db6dcfb1cafbb5c397881138a0a0f1e9e75657dc8e076ec2f4bf5b710f"


def _population(record):
    return int(record["messages"][2]["content"].split()[3])


def test_cities_match_the_blog():
    records = cities_records()
    assert len(records) == 100
    assert _population(records[0]) == 1967825
    assert _population(records[1]) == 519610
    assert _population(records[99]) == 9907725
    assert records[6]["messages"] == [
        {"role": "system", "content": "You're a helpful assistant"},
        {"role": "user", "content": "What is the population of City_7?"},
        {"role": "assistant", "content": f"City_7 has about {_population(records[6])} inhabitants."},
    ]


EXAMPLES = Path(__file__).parent.parent / "examples"


def test_cities_file_is_the_blogs_bytes():
    """Defect: the file ended with a newline (21,876 bytes), and the blog's notebook, reading it with
    split("\\n"), failed on the empty last line."""
    text = cities_jsonl()
    assert len(text.encode()) == 21875 and not text.endswith("\n")
    assert hashlib.sha256(text.encode()).hexdigest() == CITIES_SHA256
    assert [json.loads(line) for line in text.split("\n")] == cities_records()


def test_chat_jsonl_is_detected_and_read(tmp_path):
    path = tmp_path / "kb.jsonl"
    write_jsonl(path, cities_records(3))
    facts, kind = load_knowledge_base(path)
    assert kind == CHAT_FORMAT
    assert [f.question for f in facts] == [f"What is the population of City_{i}?" for i in (1, 2, 3)]
    assert facts[1].answer == "City_2 has about 519610 inhabitants."
    assert facts[1].document == facts[1].answer
    assert facts[0].system == "You're a helpful assistant"


GOOD = '{"messages": [{"role": "user", "content": "Q1?"}, {"role": "assistant", "content": "A 1."}]}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (GOOD.encode() + b"\n{not json\n", "kb.jsonl:2: malformed JSON"),
        (b'{"messages": [{"role": "user", "content": "Q?"}]}\n', "kb.jsonl:1: no assistant turn"),
        (
            b'{"messages": [{"role": "user", "content": " "}, {"role": "assistant", "content": "A"}]}\n',
            "kb.jsonl:1: empty user content",
        ),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (
            GOOD.encode() + b"\n" + GOOD.replace("A 1.", "A 2.").encode() + b"\n",
            "kb.jsonl:2: question 'Q1?' also on line 1",
        ),
        (b'{"text": "hello"}\n', "kb.jsonl:1: neither an OpenAI chat record"),
        (b"\n  \n", "the file is empty"),
        (b'{"question": "Q?", "answer": "A"}\n{"question": "R?"}\n', "kb.jsonl:2: no 'answer'"),
        (b'{"question": "Q?", "answer": ""}\n', "kb.jsonl:1: empty 'answer'"),
        (b'{"question": "Q?", "answer": ["A"]}\n', "kb.jsonl:1: 'answer' must be text, got list"),
        (b'{"question": "Q?", "answer": "A"}\n' + GOOD.encode() + b"\n", "kb.jsonl:2: an OpenAI chat record"),
        (
            b'{"question": "Q?", "answer": 1}\n{"question": "Q?", "answer": 2}\n',
            "kb.jsonl:2: question 'Q?' also on line 1",
        ),
    ],
)
def test_bad_data_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "kb.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message.replace("?", r"\?").replace("[", r"\[")):
        load_knowledge_base(path)


def test_missing_data_file(tmp_path):
    with pytest.raises(UserInputError, match="data file not found"):
        load_knowledge_base(tmp_path / "nope.jsonl")


def test_question_answer_records_take_numbers_text_and_an_optional_document(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(
        '{"question": "How many desks?", "answer": 48}\n'
        '{"question": "Who leads it?", "answer": "Ines Halvorsen", "document": "Ines Halvorsen leads it."}\n',
        encoding="utf-8",
    )
    facts, kind = load_knowledge_base(path)
    assert kind == QA_FORMAT
    assert [(f.question, f.answer, f.document) for f in facts] == [
        ("How many desks?", "48", "How many desks? 48"),
        ("Who leads it?", "Ines Halvorsen", "Ines Halvorsen leads it."),
    ]
    assert facts[0].messages()[-1] == {"role": "assistant", "content": "48"}


def test_paraphrases_map_to_their_facts_and_unknown_questions_are_named(tmp_path):
    kb = tmp_path / "kb.jsonl"
    kb.write_text('{"question": "Q1?", "answer": "A"}\n{"question": "Q2?", "answer": 2}\n', encoding="utf-8")
    facts, _ = load_knowledge_base(kb)
    wordings = tmp_path / "p.jsonl"
    wordings.write_text(
        '{"question": "Q2?", "paraphrase": "Second?"}\n{"question": "Q2?", "paraphrase": "2nd?"}\n',
        encoding="utf-8",
    )
    assert load_paraphrases(wordings, facts) == {facts[1].id: ["Second?", "2nd?"]}
    wordings.write_text('{"question": "Q3?", "paraphrase": "Third?"}\n', encoding="utf-8")
    with pytest.raises(UserInputError, match=r"p.jsonl:1: question 'Q3\?' is not in the knowledge base"):
        load_paraphrases(wordings, facts)


def test_the_example_knowledge_base_mixes_numbers_and_text():
    from ftvsrag.eval.extract import NUMBER, TEXT, answer_kind

    facts, kind = load_knowledge_base(EXAMPLES / "example_kb.jsonl")
    assert kind == QA_FORMAT and len(facts) == 64
    kinds = [answer_kind(f.answer) for f in facts]
    assert kinds.count(NUMBER) == 31 and kinds.count(TEXT) == 33
    assert facts[0].answer == "1987" and facts[1].answer == "Odile Marchetti"
    assert len(load_paraphrases(EXAMPLES / "example_kb_paraphrases.jsonl", facts)) == 30
