"""Documents (data.documents: a records file or a folder of text files) and the questions about
them (data.questions), with aliases and gold documents."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ftvsrag.files import sha256_file
from ftvsrag.knowledge import DOCUMENTS, Knowledge
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.knowledge.documents import load_documents
from ftvsrag.knowledge.facts import load_questions
from ftvsrag.knowledge.sources import SOURCES
from ftvsrag.stages import stage_key


@SOURCES.register("documents", "documents from data.documents with questions from data.questions")
class Documents:
    @staticmethod
    def claims(data: DataSettings) -> bool:
        return bool(data.documents)

    @staticmethod
    def load(data: DataSettings) -> Knowledge:
        documents_path = Path(data.documents).expanduser()
        questions_path = Path(data.questions).expanduser()
        documents = load_documents(documents_path)
        facts = load_questions(questions_path, {d.id for d in documents})
        content = stage_key([asdict(d) for d in documents], sha256_file(questions_path))
        source = f"{documents_path} ({len(documents)} documents) + {questions_path}"
        return Knowledge(DOCUMENTS, facts, documents, source, content)
