"""Settings for the knowledge base: where it comes from and what it holds."""

from __future__ import annotations

from dataclasses import dataclass

from ftvsrag.configtools import field


@dataclass
class DataSettings:
    source: str = field(
        "auto",
        "Which knowledge-base source reads these settings ('cities', 'facts', 'documents' or a registered "
        "one); 'auto': documents when data.documents is set, facts when data.path is, else the cities.",
    )
    path: str | None = field(
        None,
        "Your knowledge base of one-sentence facts: JSONL, CSV or Parquet of OpenAI chat records or of "
        "{question, answer, document?} records (told apart by content). Unset (and no documents): the "
        "blog's cities.",
    )
    documents: str | None = field(
        None,
        "A knowledge base of documents: JSONL, CSV or Parquet of {id, title?, text} or a folder of .txt/.md "
        "files (recursive; the id is the relative path). Chunked by rag.chunk_tokens; needs data.questions.",
    )
    questions: str | None = field(
        None,
        "Questions about data.documents: JSONL, CSV or Parquet of {question, answer} or {question, answers: "
        "[aliases]}, optional id, document_ids (gold documents, for recall) and extra fields (kept on "
        "answer records). In CSV, a list is a JSON list in its cell.",
    )
    paraphrases_path: str | None = field(
        None,
        "JSONL, CSV or Parquet of {question, paraphrase}: new wordings of your training questions for the "
        "paraphrase split. Unset with your own data: that split is skipped (the cities have built-in "
        "wordings).",
    )
    num_cities: int = field(100, "Cities to generate when no path is given (the blog used 100).")
    seed: int = field(42, "random.seed for the generated populations (the blog used 42).")
