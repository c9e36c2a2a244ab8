"""The experiment config: YAML -> typed dataclasses, command-line overrides, validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ftvsrag.configtools import field, load_yaml_config
from ftvsrag.errors import UserInputError
from ftvsrag.eval import arms
from ftvsrag.eval.questions import SPLITS
from ftvsrag.rag.config import RagSettings
from ftvsrag.train.config import TrainSettings

ARMS = tuple(arms.ARMS)
CHROMA_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")
"""What Chroma accepts as a collection name (it raises a long validation error otherwise)."""


@dataclass
class DataSettings:
    path: str | None = field(
        None,
        "Your knowledge base of one-sentence facts: JSONL of OpenAI chat records or of {question, answer, "
        "document?} records (told apart by content). Unset (and no documents): the blog's cities.",
    )
    documents: str | None = field(
        None,
        "A knowledge base of documents: JSONL of {id, title?, text} or a folder of .txt/.md files "
        "(recursive; the id is the relative path). Chunked by rag.chunk_tokens; needs data.questions.",
    )
    questions: str | None = field(
        None,
        "Questions about data.documents: JSONL of {question, answer} or {question, answers: [aliases]}, "
        "optional id, document_ids (gold documents, for recall) and extra fields (kept on answer records).",
    )
    paraphrases_path: str | None = field(
        None,
        "JSONL of {question, paraphrase}: new wordings of your training questions for the paraphrase "
        "split. Unset with your own data: that split is skipped (the cities have built-in wordings).",
    )
    num_cities: int = field(100, "Cities to generate when no path is given (the blog used 100).")
    seed: int = field(42, "random.seed for the generated populations (the blog used 42).")


@dataclass
class ReaderSettings:
    train_on: Literal["crossfit", "cities"] = field(
        "crossfit",
        "'crossfit': your own questions over your own retrieved passages, in k folds, each fold answered by "
        "a reader trained on the other folds only; 'cities': generated cities disjoint from your data.",
    )
    folds: int = field(3, "Cross-fitting folds (k readers, each trained on (k-1)/k of the questions).")
    num_facts: int = field(
        100, "train_on 'cities': how many generated cities (disjoint from the evaluated facts) it reads."
    )
    without_gold: float = field(
        0.2, "Share of reader examples whose context lacks the answer; their target is 'I don't know'."
    )
    retriever: Literal["dense", "hybrid"] = field(
        "hybrid", "Retriever for the reader's training contexts and its arm."
    )
    train: TrainSettings = field(
        TrainSettings(epochs=1.0, batch_size=2, max_length=512),
        "Reader training: one epoch in small batches (many updates: every example teaches the same skill).",
    )


@dataclass
class EvalSettings:
    arms: list[str] = field(list(ARMS), f"Arms to evaluate, any of {list(ARMS)}.")
    splits: list[str] = field(list(SPLITS), f"Question sets, any of {list(SPLITS)}.")
    updated_facts: int = field(20, "Facts whose number changes after training, for the 'updated' split.")
    forgetting_probe: bool = field(
        True, "Ask general-knowledge questions before and after the knowledge fine-tune."
    )
    batch_size: int = field(
        0, "Questions generated together; 0 sizes batches by prompt length (up to 8192 prompt tokens on CPU)."
    )
    closed_book_prompt: Literal["blog", "training"] = field(
        "training",
        "How closed-book arms are asked: 'blog' = the blog's instruction prompt (system 'You are a "
        "helpful assistant.', 'Answer this question to the best of your ability...'), 'training' = "
        "the training conversation's own system prompt and question.",
    )
    max_new_tokens: int = field(24, "Longest answer generated (the training answers are 16-17 tokens).")
    retry_cut_answers: int = field(
        0,
        "Answers cut at max_new_tokens are generated again up to this many tokens (0: never), so that no "
        "answer is scored wrong only because the limit stopped it before its point.",
    )
    probe_max_new_tokens: int = field(32, "Longest answer to a probe question (the base model is wordy).")
    first_n: int = field(20, "Also report accuracy on the first N questions (the blog scored 20).")
    group_by: str | None = field(
        None,
        "A question field to break accuracy down by (e.g. 'pageviews'): quantile buckets when it is "
        "numeric, one row per value otherwise.",
    )
    group_buckets: int = field(4, "Quantile buckets for a numeric group_by field.")


@dataclass
class ExperimentConfig:
    name: str = field("cities", "Run name: results go to <runs_dir>/<name>/.")
    model: str = field(
        "smollm2-135m-instruct",
        "Chat model: 'smollm2-135m-instruct' (embedded), a Hugging Face id, a folder or a .gguf file.",
    )
    device: str = field("auto", "'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        "auto", "'auto' is bfloat16 on CUDA and float32 on CPU."
    )
    seeds: list[int] = field(
        [0], "Training seeds; several run the fine-tuned arms once per seed (mean ± sd)."
    )
    runs_dir: str = field("runs", "Folder that holds one subfolder per run.")
    cache_dir: str | None = field(
        None, "Where converted models are cached; unset: $FTVSRAG_CACHE or ~/.cache/ftvsrag."
    )
    process_timeout_s: float = field(
        1800.0,
        "Several processes (--nproc, torchrun): how long a process waits inside a shared step (a training "
        "step, gathering answers) for one that hangs before the run fails. A process that dies ends the run "
        "at once.",
    )
    data: DataSettings = field(DataSettings(), "Knowledge base.")
    train: TrainSettings = field(TrainSettings(), "Fine-tuning.")
    rag: RagSettings = field(RagSettings(), "Retrieval.")
    reader: ReaderSettings = field(ReaderSettings(), "The context-reading fine-tune of the reader+rag arm.")
    eval: EvalSettings = field(EvalSettings(), "Evaluation.")

    def __post_init__(self) -> None:
        for key, values, valid in (
            ("eval.arms", self.eval.arms, ARMS),
            ("eval.splits", self.eval.splits, SPLITS),
        ):
            unknown = [value for value in values if value not in valid]
            if unknown:
                raise UserInputError(
                    f"config key '{key}': unknown value {unknown[0]!r}, valid: {list(valid)}"
                )
        if not self.seeds:
            raise UserInputError("config key 'seeds' must list at least one seed")
        for key, value in (
            ("train.epochs", self.train.epochs),
            ("train.batch_size", self.train.batch_size),
            ("rag.k", self.rag.k),
            ("eval.max_new_tokens", self.eval.max_new_tokens),
            ("eval.probe_max_new_tokens", self.eval.probe_max_new_tokens),
            ("data.num_cities", self.data.num_cities),
            ("reader.num_facts", self.reader.num_facts),
            ("reader.train.epochs", self.reader.train.epochs),
            ("reader.train.batch_size", self.reader.train.batch_size),
            ("reader.folds", self.reader.folds),
            ("rag.chunk_tokens", self.rag.chunk_tokens),
            ("eval.group_buckets", self.eval.group_buckets),
            ("process_timeout_s", self.process_timeout_s),
        ):
            if value <= 0:
                raise UserInputError(f"config key '{key}' must be positive, got {value}")
        self._check_data()

    def _check_data(self) -> None:
        if not CHROMA_NAME.fullmatch(self.rag.collection):
            raise UserInputError(
                f"config key 'rag.collection': {self.rag.collection!r} is not a Chroma collection name "
                "(3-512 characters of a-z, A-Z, 0-9, '.', '_' or '-'; a letter or digit at each end)"
            )
        if self.rag.chunk_overlap < 0 or self.rag.chunk_overlap >= self.rag.chunk_tokens:
            raise UserInputError(
                f"config key 'rag.chunk_tokens' ({self.rag.chunk_tokens}) must be larger than "
                f"'rag.chunk_overlap' ({self.rag.chunk_overlap}), which must not be negative"
            )
        if self.data.path and (self.data.documents or self.data.questions):
            raise UserInputError("config: give either data.path (facts) or data.documents + data.questions")
        if bool(self.data.documents) != bool(self.data.questions):
            missing = "data.questions" if self.data.documents else "data.documents"
            raise UserInputError(f"config: {missing} is needed too (documents come with their questions)")
        if self.reader.train_on == "crossfit" and self.reader.folds < 2:
            raise UserInputError("config key 'reader.folds' must be at least 2 for cross-fitting")


def load_config(path: str | Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config, apply `a.b=value` overrides, and validate."""
    return load_yaml_config(ExperimentConfig, Path(path), overrides)
