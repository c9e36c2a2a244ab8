"""Bad document knowledge bases end in one line and exit status 2, with nothing written."""

import json
from pathlib import Path

import pytest

from ftvsrag.cli import main

DOCUMENTS = str(Path(__file__).parent.parent / "configs" / "documents.yaml")


def _fails(capsys, tmp_path, *overrides) -> str:
    runs = tmp_path / "runs"
    code = main(["run", DOCUMENTS, f"runs_dir={runs}", f"cache_dir={tmp_path / 'cache'}", *overrides])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("ftvsrag: error: ")
    assert not runs.exists() or not any(p.name != ".cache" for p in runs.iterdir())
    return err


def _jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def kb(tmp_path):
    docs = _jsonl(tmp_path / "docs.jsonl", [{"id": "d1", "title": "Ada", "text": "Ada was a poet."}])
    questions = _jsonl(tmp_path / "q.jsonl", [{"question": "What is Ada's job?", "answers": ["poet"]}])
    return docs, questions


def test_an_empty_documents_file(capsys, tmp_path, kb):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    err = _fails(capsys, tmp_path, f"data.documents={empty}", f"data.questions={kb[1]}")
    assert "empty.jsonl: the file is empty" in err


def test_an_empty_folder(capsys, tmp_path, kb):
    (tmp_path / "folder").mkdir()
    err = _fails(capsys, tmp_path, f"data.documents={tmp_path / 'folder'}", f"data.questions={kb[1]}")
    assert "no .txt or .md files" in err


def test_a_non_utf8_file_in_the_folder_is_named(capsys, tmp_path, kb):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "good.md").write_text("Ada was a poet.")
    (folder / "bad.txt").write_bytes(b"caf\xe9")
    err = _fails(capsys, tmp_path, f"data.documents={folder}", f"data.questions={kb[1]}")
    assert "bad.txt: not UTF-8" in err


def test_document_ids_naming_no_document(capsys, tmp_path, kb):
    questions = _jsonl(tmp_path / "q2.jsonl", [{"question": "Q?", "answer": "poet", "document_ids": ["d9"]}])
    err = _fails(capsys, tmp_path, f"data.documents={kb[0]}", f"data.questions={questions}")
    assert "q2.jsonl:1: document_ids names no document: 'd9'" in err


def test_an_empty_answer_list(capsys, tmp_path, kb):
    questions = _jsonl(tmp_path / "q3.jsonl", [{"question": "Q?", "answers": []}])
    err = _fails(capsys, tmp_path, f"data.documents={kb[0]}", f"data.questions={questions}")
    assert "q3.jsonl:1: 'answers' must be a non-empty list" in err


def test_a_chunk_size_not_larger_than_the_overlap(capsys, tmp_path, kb):
    err = _fails(
        capsys,
        tmp_path,
        f"data.documents={kb[0]}",
        f"data.questions={kb[1]}",
        "rag.chunk_tokens=16",
        "rag.chunk_overlap=16",
    )
    assert "'rag.chunk_tokens' (16) must be larger than 'rag.chunk_overlap' (16)" in err
