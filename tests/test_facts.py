import hashlib

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.eval.facts import cities_records, load_chat_jsonl
from ftvsrag.eval.rundir import write_jsonl

# sha256 of the 100-city file as the blog's script writes it (json.dumps per line, "\n" endings).
CITIES_SHA256 = "848311582bea46b5f994b232990de63948744574e29a5daa61b16f41efad28de"


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


def test_cities_file_bytes_are_stable(tmp_path):
    path = tmp_path / "cities_population.jsonl"
    write_jsonl(path, cities_records())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == CITIES_SHA256


def test_chat_jsonl_round_trips_through_datasets(tmp_path):
    path = tmp_path / "kb.jsonl"
    write_jsonl(path, cities_records(3))
    facts = load_chat_jsonl(path)
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
        (b'{"text": "hello"}\n', "no 'messages' key"),
    ],
)
def test_bad_data_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "kb.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserInputError, match=message.replace("?", r"\?")):
        load_chat_jsonl(path)


def test_missing_data_file(tmp_path):
    with pytest.raises(UserInputError, match="data file not found"):
        load_chat_jsonl(tmp_path / "nope.jsonl")
