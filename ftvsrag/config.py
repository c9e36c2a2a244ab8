"""The experiment config: YAML -> typed dataclasses, command-line overrides, validation. Components
(retrievers, recipes, prompts, metrics, sources) are checked against their registries, so a
misspelt one is a line that names the valid ones."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ftvsrag.arms import BUILTIN_ARMS, Arm, ArmSettings, default_description
from ftvsrag.configtools import field, load_yaml_config
from ftvsrag.errors import UserInputError
from ftvsrag.eval.metrics import DEFAULT_METRIC, METRICS
from ftvsrag.eval.results import SummaryOptions
from ftvsrag.knowledge.config import DataSettings
from ftvsrag.knowledge.sources import AUTO, SOURCES
from ftvsrag.names import BASE, FT, FT_ADAPTER, NO_ADAPTER, NO_RETRIEVER, READER_ADAPTER, SPLITS, role_of
from ftvsrag.rag.config import RagSettings
from ftvsrag.rag.prompts import PROMPTS
from ftvsrag.rag.retrievers import RETRIEVERS
from ftvsrag.train.config import GeneratorSettings, ReaderSettings, TrainSettings
from ftvsrag.train.lora import reporting_integrations
from ftvsrag.train.recipes import RECIPES, knowledge_recipes

CHROMA_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")
"""What Chroma accepts as a collection name (it raises a long validation error otherwise)."""
RUN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
"""A run name is one plain folder name: never a path, never hidden (so never '.cache' or '..')."""
ARM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+.-]{0,63}")


@dataclass
class EvalSettings:
    arms: list[str] = field(
        list(BUILTIN_ARMS), f"Arms to evaluate: built in {list(BUILTIN_ARMS)}, or any defined under arms:."
    )
    splits: list[str] = field(list(SPLITS), f"Question sets, any of {list(SPLITS)}.")
    metric: str = field(
        DEFAULT_METRIC,
        "The rule accuracy and the verdict count by: 'prefix' (an alias at the start of a word, so "
        "'footballer' answers 'football'), 'strict' (whole words), 'substring' (PopQA's), 'lenient'; "
        "numbers keep their own rules under each.",
    )
    updated_facts: int = field(20, "Facts whose number changes after training, for the 'updated' split.")
    forgetting_probe: bool = field(
        True, "Ask general-knowledge questions before and after the knowledge fine-tune."
    )
    batch_size: int = field(
        0, "Questions generated together; 0 sizes batches by prompt length (up to 8192 prompt tokens on CPU)."
    )
    closed_book_prompt: str = field(
        "training",
        "How closed-book arms are asked unless they name a prompt: 'blog' = the blog's instruction prompt "
        "(system 'You are a helpful assistant.', 'Answer this question to the best of your ability...'), "
        "'training' = the training conversation's own system prompt and question.",
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
    name: str = field(
        "cities",
        "Run name: results go to <runs_dir>/<name>/. One plain folder name (letters, digits, '.', '_', "
        "'-'; not starting with '.'). An existing folder of that name is replaced only if it is a run.",
    )
    model: str = field(
        "smollm2-135m-instruct",
        "Chat model: 'smollm2-135m-instruct' (embedded), a Hugging Face id, a folder or a .gguf file.",
    )
    device: str = field("auto", "'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'.")
    dtype: Literal["auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16"] = field(
        "auto",
        "'auto': bfloat16 on CUDA; on a CPU that computes bf16 natively (AMX, AVX512-BF16) answers in "
        "bfloat16 and trains in float32; float32 elsewhere. A dtype named here is used for both.",
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
    train: TrainSettings = field(TrainSettings(), "The knowledge fine-tune (arms ft and ft+rag).")
    rag: RagSettings = field(RagSettings(), "Retrieval.")
    reader: ReaderSettings = field(ReaderSettings(), "The context-reading fine-tune of the reader+rag arm.")
    generator: GeneratorSettings = field(
        GeneratorSettings(), "The model that writes question-answer pairs (the 'qa-gen' recipe)."
    )
    arms: dict[str, ArmSettings] = field(
        {},
        "Arms of your own, by name, beside the built-in ones: {adapter, retriever, k, prompt}, e.g. "
        "rag-hybrid: {adapter: none, retriever: hybrid}. List them in eval.arms to run them.",
    )
    eval: EvalSettings = field(EvalSettings(), "Evaluation.")

    def __post_init__(self) -> None:
        if not RUN_NAME.fullmatch(self.name):
            raise UserInputError(
                f"config key 'name': {self.name!r} is not a run name: one folder name of letters, digits, "
                "'.', '_' or '-', not starting with '.' (runs go to <runs_dir>/<name>/)"
            )
        self._check_lists()
        self._check_positive()
        self._check_components()
        self._check_data()

    def _check_lists(self) -> None:
        unknown = [value for value in self.eval.splits if value not in SPLITS]
        if unknown:
            raise UserInputError(
                f"config key 'eval.splits': unknown value {unknown[0]!r}, valid: {list(SPLITS)}"
            )
        for name in self.arms:
            if name in BUILTIN_ARMS or not ARM_NAME.fullmatch(name):
                why = "is a built-in arm" if name in BUILTIN_ARMS else "is not a plain name"
                raise UserInputError(f"config key 'arms.{name}': {name!r} {why}; give your arm another name")
        valid = [*BUILTIN_ARMS, *self.arms]
        unknown = [value for value in self.eval.arms if value not in valid]
        if unknown:
            raise UserInputError(f"config key 'eval.arms': unknown arm {unknown[0]!r}, valid: {valid}")
        if not self.seeds:
            raise UserInputError("config key 'seeds' must list at least one seed")

    def _check_positive(self) -> None:
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
            ("generator.pairs_per_passage", self.generator.pairs_per_passage),
            ("generator.tokens_per_pair", self.generator.tokens_per_pair),
            *((f"arms.{name}.k", arm.k) for name, arm in self.arms.items() if arm.k is not None),
        ):
            if value <= 0:
                raise UserInputError(f"config key '{key}' must be positive, got {value}")

    def _check_components(self) -> None:
        RETRIEVERS.check(self.rag.retriever, "rag.retriever")
        RETRIEVERS.check(self.reader.retriever, "reader.retriever")
        if self.train.method not in (AUTO, *knowledge_recipes()):
            raise UserInputError(
                RECIPES.unknown(self.train.method, "train.method", (AUTO,), knowledge_recipes())
            )
        PROMPTS.check(self.eval.closed_book_prompt, "eval.closed_book_prompt")
        if PROMPTS.get(self.eval.closed_book_prompt).uses_context:
            raise UserInputError("config key 'eval.closed_book_prompt' must name a closed-book prompt")
        METRICS.check(self.eval.metric, "eval.metric")
        if self.eval.metric not in METRICS.matching():
            raise UserInputError(
                f"config key 'eval.metric': {self.eval.metric!r} is graded, not right-or-wrong; valid: "
                f"{', '.join(METRICS.matching())}"
            )
        SOURCES.check(self.data.source, "data.source", (AUTO,))
        check_reporting(self.train.report_to, "train.report_to")
        check_reporting(self.reader.train.report_to, "reader.train.report_to")
        for name, arm in self.arms.items():
            self._check_arm(name, arm)

    def _check_arm(self, name: str, arm: ArmSettings) -> None:
        RECIPES.check(arm.adapter, f"arms.{name}.adapter", (NO_ADAPTER, FT_ADAPTER))
        if arm.retriever is not None:
            RETRIEVERS.check(arm.retriever, f"arms.{name}.retriever", (NO_RETRIEVER,))
        if arm.prompt is not None:
            PROMPTS.check(arm.prompt, f"arms.{name}.prompt")
            retrieves = arm.retriever != NO_RETRIEVER
            if PROMPTS.get(arm.prompt).uses_context != retrieves:
                kind = "a retrieval" if retrieves else "a closed-book"
                raise UserInputError(f"config key 'arms.{name}.prompt': this arm needs {kind} prompt")

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

    def resolved_arms(self) -> dict[str, Arm]:
        """The arms of `eval.arms`, in that order, with every default filled in."""
        return {name: self.resolve_arm(name) for name in self.eval.arms}

    def resolve_arm(self, name: str) -> Arm:
        settings = self.arms.get(name) or BUILTIN_ARMS[name]
        default_retriever = (
            self.reader.retriever if settings.adapter == READER_ADAPTER else self.rag.retriever
        )
        retriever = settings.retriever or default_retriever
        retrieves = retriever != NO_RETRIEVER
        k = (settings.k or self.rag.k) if retrieves else 0
        prompt = settings.prompt or ("rag" if retrieves else self.eval.closed_book_prompt)
        description = settings.description or default_description(settings.adapter, retriever, k)
        knowledge = settings.adapter == FT_ADAPTER or (
            settings.adapter != NO_ADAPTER and RECIPES.get(settings.adapter).knowledge
        )
        role = role_of(knowledge, retrieves)
        return Arm(name, settings.adapter, retriever, k, prompt, description, role)

    def summary_options(self) -> SummaryOptions:
        """How this run's records are summarised, for the run and for `ftvsrag report` alike."""
        arms = {name: arm.to_json() for name, arm in self.resolved_arms().items()}
        return SummaryOptions(
            self.eval.metric, self.eval.first_n, self.eval.group_by, self.eval.group_buckets, arms
        )

    def probed_arms(self) -> list[Arm]:
        """The forgetting probe's arms: the base model and the knowledge fine-tune, closed book."""
        if not (self.eval.forgetting_probe and FT in self.eval.arms):
            return []
        return [replace(self.resolve_arm(name), prompt="training") for name in (BASE, FT)]


def load_config(path: str | Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config, apply `a.b=value` overrides, and validate."""
    return load_yaml_config(ExperimentConfig, Path(path), overrides)


def check_reporting(report_to: str | list[str], key: str) -> None:
    """Each integration named is installed: the trainer would fail on it after the model loaded."""
    wanted = [name for name in reporting_integrations(report_to) if name not in ("none", "all")]
    if not wanted:
        return
    from transformers.integrations import get_available_reporting_integrations

    available = get_available_reporting_integrations()
    missing = [name for name in wanted if name not in available]
    if missing:
        raise UserInputError(
            f"config key '{key}': {missing[0]!r} is not installed here (installed: "
            f"{', '.join(available) or 'none'}); install it (e.g. pip install {missing[0]}) or set 'none'"
        )
