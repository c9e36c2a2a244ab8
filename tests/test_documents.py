"""Document knowledge bases: loading (JSONL or a folder), chunking, and their questions."""

import itertools
import json
from pathlib import Path

import pytest

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge.documents import Document, load_documents
from ftvsrag.knowledge.facts import load_questions
from ftvsrag.rag.chunking import chunk_documents

POPQA = Path(__file__).parent.parent / "examples" / "popqa_22_occupation"


def test_the_shipped_popqa_example_loads_with_aliases_gold_documents_and_extra_fields():
    documents = load_documents(POPQA / "documents.jsonl")
    questions = load_questions(POPQA / "questions.jsonl", {d.id for d in documents})
    assert (len(documents), len(questions)) == (225, 70)
    first = questions[0]
    assert first.id == "22_0" and first.question == "What is George Rankin's occupation?"
    assert first.answer == "politician" and "political figure" in first.aliases
    assert first.document_ids[:2] == ("22_28357", "22_28358")
    assert first.extra == {"pageviews": 142}
    assert documents[0].title == "George Rankin"


def test_a_folder_loads_recursively_with_relative_paths_as_ids(tmp_path):
    (tmp_path / "guides" / "deep").mkdir(parents=True)
    (tmp_path / "a.md").write_text("# Harbour\nThe harbour opened in 1871.\n")
    (tmp_path / "guides" / "deep" / "b.txt").write_text("The lamp weighs 6551 grams.")
    (tmp_path / "guides" / "empty.txt").write_text("  \n")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    documents = load_documents(tmp_path)
    assert documents == [
        Document("a.md", "a", "# Harbour\nThe harbour opened in 1871."),
        Document("guides/deep/b.txt", "b", "The lamp weighs 6551 grams."),
    ]


def test_chunks_stay_within_the_size_overlap_and_keep_their_document(smollm2_tokenizer):
    text = " ".join(f"Sentence number {i} tells of the harbour master and his lamps." for i in range(60))
    documents = [Document("long", "Harbour", text), Document("short", "", "One short line.")]
    passages = chunk_documents(documents, smollm2_tokenizer, chunk_tokens=64, overlap_tokens=16)
    long = [p for p in passages if p.document_id == "long"]
    assert [p.id for p in long] == [f"long#{i}" for i in range(len(long))]
    assert len(long) > 10
    for passage in long:
        title, body = passage.text.split("\n", 1)
        assert title == "Harbour"
        assert len(smollm2_tokenizer(body, add_special_tokens=False)["input_ids"]) <= 64
        assert body in text
    # Consecutive chunks overlap: each starts inside the one before.
    for before, after in itertools.pairwise(long):
        head = after.text.split("\n", 1)[1][:20]
        assert head in before.text
    assert passages[-1].id == "short#0" and passages[-1].text == "One short line."


def test_a_chunk_size_not_larger_than_the_overlap_is_refused(smollm2_tokenizer):
    with pytest.raises(UserInputError, match="must be larger than the overlap"):
        chunk_documents([Document("a", "", "text")], smollm2_tokenizer, 16, 16)


def _write(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([{"question": "Q?", "answers": []}], "'answers' must be a non-empty list"),
        ([{"question": "Q?", "answers": ["ok", ""]}], "empty 'answer'"),
        ([{"question": "Q?", "answer": "a", "document_ids": ["nope"]}], "names no document: 'nope'"),
        (
            [{"question": "Q?", "answer": "a", "id": "x"}, {"question": "R?", "answer": "b", "id": "x"}],
            "twice",
        ),
        ([{"answer": "a"}], "no 'question'"),
    ],
)
def test_bad_questions_name_the_line(tmp_path, records, message):
    path = _write(tmp_path / "q.jsonl", records)
    with pytest.raises(UserInputError, match=message):
        load_questions(path, {"d1"})


def test_questions_with_a_single_answer_and_numbers(tmp_path):
    path = _write(
        tmp_path / "q.jsonl",
        [{"question": "How heavy?", "answer": 6551, "document_ids": ["d1"], "source": "manual"}],
    )
    [fact] = load_questions(path, {"d1"})
    assert (fact.id, fact.answer, fact.aliases, fact.extra) == (
        "q-00000",
        "6551",
        ("6551",),
        {"source": "manual"},
    )


def test_bad_documents_are_refused_with_the_file_named(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UserInputError, match="the file is empty"):
        load_documents(empty)
    folder = tmp_path / "docs"
    folder.mkdir()
    with pytest.raises(UserInputError, match=r"no \.txt or \.md files"):
        load_documents(folder)
    (folder / "ok.txt").write_text("fine")
    (folder / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(UserInputError, match=r"latin1\.md: not UTF-8"):
        load_documents(folder)
    duplicate = _write(tmp_path / "dup.jsonl", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    with pytest.raises(UserInputError, match="'a' appears twice"):
        load_documents(duplicate)


def test_an_unreadable_file_in_the_folder_is_named(tmp_path, monkeypatch):
    (tmp_path / "ok.txt").write_text("fine")
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    real_read_text = Path.read_text

    def read_text(path, *args, **kwargs):
        # Root reads a mode-0 file anyway: raise what any other user would get.
        if path == locked:
            raise PermissionError(13, "Permission denied")
        return real_read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(UserInputError, match=r"locked\.txt: cannot be read \(Permission denied\)"):
        load_documents(tmp_path)
