"""The experiment config: YAML -> typed dataclasses, command-line overrides, validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ftvsrag.configtools import field, from_dict
from ftvsrag.errors import UserInputError
from ftvsrag.rag.config import RagSettings
from ftvsrag.train.config import TrainSettings

ARMS = ("base", "ft", "rag")


@dataclass
class DataSettings:
    path: str | None = field(
        None,
        "OpenAI chat fine-tuning JSONL to use. Unset: generate the blog's cities dataset instead.",
    )
    num_cities: int = field(100, "Cities to generate when no path is given (the blog used 100).")
    seed: int = field(42, "random.seed for the generated populations (the blog used 42).")


@dataclass
class EvalSettings:
    arms: list[str] = field(list(ARMS), f"Arms to evaluate, any of {list(ARMS)}.")
    batch_size: int = field(0, "Questions generated together; 0 picks 16 on CPU, 64 on CUDA.")
    max_new_tokens: int = field(32, "Longest answer generated (the training answers are ~15 tokens).")
    first_n: int = field(20, "Also report accuracy on the first N questions (the blog scored 20).")


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
    seed: int = field(0, "Seed for training and anything else random after the data.")
    runs_dir: str = field("runs", "Folder that holds one subfolder per run.")
    cache_dir: str | None = field(
        None, "Where converted models are cached; unset: $FTVSRAG_CACHE or ~/.cache/ftvsrag."
    )
    data: DataSettings = field(DataSettings(), "Knowledge base.")
    train: TrainSettings = field(TrainSettings(), "Fine-tuning.")
    rag: RagSettings = field(RagSettings(), "Retrieval.")
    eval: EvalSettings = field(EvalSettings(), "Evaluation.")

    def __post_init__(self) -> None:
        unknown = [arm for arm in self.eval.arms if arm not in ARMS]
        if unknown:
            raise UserInputError(f"config key 'eval.arms': unknown arm {unknown[0]!r}, valid: {list(ARMS)}")
        for key, value in (
            ("train.epochs", self.train.epochs),
            ("train.batch_size", self.train.batch_size),
            ("rag.k", self.rag.k),
            ("eval.max_new_tokens", self.eval.max_new_tokens),
            ("data.num_cities", self.data.num_cities),
        ):
            if value <= 0:
                raise UserInputError(f"config key '{key}' must be positive, got {value}")


def load_config(path: str | Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Read a YAML config, apply `a.b=value` overrides (values parsed as YAML), and validate."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML ({_first_line(error)})") from None
    for override in overrides:
        _apply_override(raw, override)
    try:
        return from_dict(ExperimentConfig, raw)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from None


def _apply_override(raw: dict[str, Any], override: str) -> None:
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {override!r} is not of the form key=value (e.g. train.epochs=5)")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise UserInputError(f"override {override!r}: '{part}' is not a section")
    node[leaf] = yaml.safe_load(text)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
