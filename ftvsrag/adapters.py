"""The adapters a run's arms are answered by: each label ('ft', 'reader', a recipe's name) trained
by its recipe, once per seed (and per cross-fitting fold), through the cached training stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ftvsrag.context import RunContext, Setup
from ftvsrag.files import sha256_file
from ftvsrag.generation.qa import QAWriter
from ftvsrag.indexing import finder, scratch_finder
from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.sources import AUTO
from ftvsrag.names import FT_ADAPTER, READER_ADAPTER
from ftvsrag.rag.chunking import Passage
from ftvsrag.stages import StageCache
from ftvsrag.train.adapter import ADAPTER_DIR, TRAIN_ADAPTER, AdapterInputs
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.lora import TrainingReport
from ftvsrag.train.recipes import RECIPES, RecipeRequest, Training


class AdapterKey(NamedTuple):
    adapter: str
    """The arm's adapter label: 'ft', 'reader' or a recipe's name."""
    seed: int
    fold: int | None = None
    """The cross-fitting fold it was trained without (None: no cross-fitting)."""


@dataclass(frozen=True)
class TrainedAdapter:
    sha256: str
    """The weights' hash: what the answers' cache key holds."""
    folder: Path
    """The PEFT folder (in the stage cache)."""
    report: TrainingReport
    answers: frozenset[str] | None = None
    """The questions it answers (a cross-fitting fold's); None: every question."""


Adapters = dict[AdapterKey, TrainedAdapter]


def train_adapters(
    run: RunContext,
    setup: Setup,
    knowledge: Knowledge,
    passages: list[Passage],
    collection,
    cache: StageCache,
    writer: QAWriter,
) -> Adapters:
    """Every adapter the arms need, for each seed, each training its recipe makes."""
    adapters: Adapters = {}
    for label in run.adapters:
        recipe = RECIPES.get(recipe_of(label, run.config.train, knowledge))
        for seed in run.config.seeds:
            request = recipe_request(run, setup, knowledge, passages, collection, seed, writer)
            for training in recipe.trainings(request):
                inputs = adapter_inputs(recipe.family, setup, training, seed)
                adapters[AdapterKey(label, seed, training.fold)] = train_adapter(
                    inputs, setup, cache, label, training
                )
    return adapters


def recipe_of(label: str, train: TrainSettings, knowledge: Knowledge) -> str:
    """The recipe behind an adapter label: 'ft' is the one `train.method` names ('auto': on documents,
    the passages with the questions' turns written in the chat template, 'lm+chat', where 'lm' alone
    left the chat turn broken (docs/popqa.md); the blog's 'chat' on facts)."""
    if label != FT_ADAPTER:
        return label
    if train.method != AUTO:
        return train.method
    return "lm+chat" if knowledge.has_documents else "chat"


def recipe_request(
    run: RunContext,
    setup: Setup,
    knowledge: Knowledge,
    passages: list[Passage],
    collection,
    seed: int,
    writer: QAWriter,
) -> RecipeRequest:
    config = run.config
    return RecipeRequest(
        knowledge,
        passages,
        seed,
        config.train,
        config.reader,
        config.rag.k,
        config.data.seed,
        finder(collection, setup.embedder),
        scratch_finder(f"{config.rag.collection}-reader-train", setup.embedder),
        writer.generated,
        writer.reworded,
    )


def adapter_inputs(family: str, setup: Setup, training: Training, seed: int) -> AdapterInputs:
    """The training stage's inputs: the very rows, settings and seed, and the model's hash."""
    model = setup.model
    return AdapterInputs(
        family, model.train_id, training.rows, training.settings, seed, model.team.describe()
    )


def train_adapter(
    inputs: AdapterInputs, setup: Setup, cache: StageCache, label: str, training: Training
) -> TrainedAdapter:
    """The adapter for `inputs`, through the cached training stage."""
    detail = f"seed {inputs.seed}" + (f", fold {training.fold}" if training.fold is not None else "")
    done = cache.run(TRAIN_ADAPTER, f"train:{label}", inputs, setup.model, detail)
    folder = done.folder / ADAPTER_DIR
    return TrainedAdapter(
        sha256_file(folder / "adapter_model.safetensors"), folder, done.output, training.answers
    )


def answering_key(adapters: Adapters, label: str, seed: int, question_id: str) -> AdapterKey:
    """Which of a label's adapters answers a question: the one of its fold, or the only one. A
    question no fold holds (the forgetting probe's) was trained on by none: the first fold answers it."""
    mine = [key for key in adapters if key.adapter == label and key.seed == seed]
    for key in mine:
        answers = adapters[key].answers
        if answers is None or question_id in answers:
            return key
    if mine:
        return min(mine, key=lambda key: key.fold or 0)
    raise KeyError(f"no adapter '{label}' (seed {seed}) answers question {question_id!r}")


def adapter_name(key: AdapterKey, seeds: list[int]) -> str:
    """'ft', 'reader-fold1', 'ft-seed2' (the seed only when there are several)."""
    name = key.adapter if len(seeds) == 1 else f"{key.adapter}-seed{key.seed}"
    return name if key.fold is None else f"{name}-fold{key.fold}"


def held_out_notes(run: RunContext, adapters: Adapters) -> list[str]:
    """Which fine-tune answered when it is cross-fitted: the report must say."""
    labels = sorted({key.adapter for key in adapters if key.fold is not None} - {READER_ADAPTER})
    return [
        f"adapter {label}: cross-fitted, {run.config.reader.folds} folds (the reader's): each question was "
        "answered by a fine-tune trained on the knowledge text and the other folds' questions only"
        for label in labels
    ]


def reader_notes(run: RunContext, adapters: Adapters) -> list[str]:
    """Which reader answered: the report must say."""
    if not any(key.adapter == READER_ADAPTER for key in adapters):
        return []
    reader = run.config.reader
    if reader.train_on == "cities":
        return [
            f"reader: the reader was trained on {reader.num_facts} generated cities (none of this "
            "knowledge base's facts), RAFT-style"
        ]
    share = (
        "as many contexts without the answer as retrieval left its training questions without one"
        if reader.without_gold == AUTO
        else f"{100 * reader.without_gold:.0f} % of contexts without the answer"
    )
    return [
        f"reader: cross-fitted, {reader.folds} folds: each question was answered by a reader trained "
        "only on the other folds' questions (RAFT-style, over this knowledge base's own retrieved "
        f"passages, {share} and 'I don't know' as the target)"
    ]


def unchanged_notes(adapters: Adapters, seeds: list[int]) -> list[str]:
    """Any adapter whose training left its weights where they started: its arms are the base model."""
    return [
        f"adapter {adapter_name(key, seeds)}: its training ({trained.report.steps} steps) left every weight "
        "unchanged, so its arms answered as the base model; train longer (train.epochs) or on more rows"
        for key, trained in adapters.items()
        if not trained.report.weights_changed
    ]
