"""A knowledge base of documents: a JSONL, CSV or Parquet file of {"id", "title"?, "text"} records,
or a folder of .txt / .md files (recursive; each file's id is its path relative to the folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.knowledge.records import read_records, read_user_text, text_field

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str


def load_documents(path: Path) -> list[Document]:
    """The documents at `path` (a JSONL file or a folder), in a stable order, ids unique."""
    if path.is_dir():
        documents = _folder_documents(path)
    elif path.exists():
        documents = [_record_document(record, f"{path}:{line}") for line, record in read_records(path)]
    else:
        raise UserInputError(f"documents not found: {path}")
    seen: set[str] = set()
    for document in documents:
        if document.id in seen:
            raise UserInputError(f"{path}: document id {document.id!r} appears twice")
        seen.add(document.id)
    return documents


def _record_document(record: dict, where: str) -> Document:
    raw_id = record.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    doc_id = text_field({"id": raw_id}, "id", where)
    title = text_field(record, "title", where) if record.get("title") is not None else ""
    return Document(doc_id, title, text_field(record, "text", where))


def _folder_documents(folder: Path) -> list[Document]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        raise UserInputError(f"{folder}: no {' or '.join(TEXT_SUFFIXES)} files in this folder")
    documents = []
    for file in files:
        text = read_user_text(file)
        # An empty file (a placeholder, a stub README) holds no knowledge: skipped, not an error.
        if text.strip():
            documents.append(Document(file.relative_to(folder).as_posix(), file.stem, text.strip()))
    if not documents:
        raise UserInputError(f"{folder}: every {' or '.join(TEXT_SUFFIXES)} file in this folder is empty")
    return documents
