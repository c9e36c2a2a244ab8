"""`ftvsrag run CONFIG --dry-run`: every check a run makes, then the run's own sequence of stages
walked with a stage cache that computes nothing. Each stage is reused or to compute, with the
tokens it would run through the model and the time that takes at the model's speed on this machine,
measured now (ftvsrag/throughput.py).
Nothing is written: the index, when it must be built to plan retrieval, goes to a scratch folder
that is removed afterwards, and a model not yet converted is read from its GGUF."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ftvsrag.adapters import train_adapters
from ftvsrag.config import ExperimentConfig
from ftvsrag.console import run_log
from ftvsrag.context import RunContext, Setup
from ftvsrag.files import sha256_file
from ftvsrag.generation.answering import Answers
from ftvsrag.generation.generate import (
    answer_batches,
    padded_prompt_tokens,
    prompt_tokens,
    shared_prefix_length,
    shared_start_length,
)
from ftvsrag.indexing import knowledge_index
from ftvsrag.pipeline import (
    answer_probe,
    answer_splits,
    check_processes,
    checked_inputs,
    knowledge_passages,
    make_asker,
    prepare,
    qa_writer,
)
from ftvsrag.rag.store import release_chroma
from ftvsrag.run_folder import is_run_folder
from ftvsrag.stages import ANSWERS, GENERATE, INDEX, TRAIN, Done, Stage, StageCache
from ftvsrag.throughput import Throughput, measure_throughput
from ftvsrag.train.collate import MIN_SHARED_PREFIX as MIN_SHARED_TRAINING_START
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.lora import TrainingReport
from ftvsrag.train.model import is_converted, model_parameters, model_with_random_weights

REUSED, COMPUTE, DAMAGED = "reused", "compute", "damaged: recompute"


@dataclass
class Planned:
    label: str
    detail: str
    status: str
    tokens: int = 0
    seconds: float = 0.0
    """Its tokens at the model's measured speed (`Throughput`)."""


@dataclass
class PlanningCache(StageCache):
    """The dry run's stage cache: a stored stage is read as a run would reuse it; a missing one is
    booked and stood in for (a placeholder adapter, empty answers), except the index, which is
    built in the scratch folder so that retrieval and the reader's rows can be planned exactly."""

    scratch: Path = Path()
    parameters: int = 0
    speed: Callable[[], Throughput] | None = None
    """Measures the model's speed, at the first stage to compute: a plan that reuses every stage
    measures nothing."""
    measured: Throughput | None = None
    entries: list[Planned] = field(default_factory=list)
    planned_adapters: dict[str, str] = field(default_factory=dict)
    """Placeholder weights hash -> the training label it stands in for."""
    planned: dict[str, Done] = field(default_factory=dict)
    """Stages this plan computes, by cache folder name: a stage asked again with the same inputs (a
    closed-book arm's questions in two splits) is what the run would reuse."""
    unwritten_generation: bool = False
    """A generation stage is still to compute: its text (qa-gen's pairs, generated rewordings) is not
    known yet, so the trainings on it are planned without it."""

    def run(self, stage: Stage, label: str, inputs, runtime=None, detail: str = "") -> Done:
        stored, damage = self.stored(stage, label, inputs)
        if damage:  # the run will move it aside and recompute; the plan says so and moves nothing
            done = self._plan(stage, label, detail, inputs, runtime)
            self.entries[-1] = replace(self.entries[-1], status=DAMAGED)
            return done
        if stored is not None:
            self.entries.append(Planned(label, detail, REUSED))
            return Done(stage.output(**stored["output"]), self.folder(stage, inputs), True, stored["seconds"])
        return self._plan(stage, label, detail, inputs, runtime)

    def _plan(self, stage: Stage, label: str, detail: str, inputs, runtime) -> Done:
        out = self.scratch / self.folder(stage, inputs).name
        if out.name in self.planned:  # the same inputs again: the run reuses what it computed above
            self.entries.append(
                Planned(label, ", ".join(filter(None, [detail, "as computed above"])), REUSED)
            )
            return self.planned[out.name]
        out.mkdir(parents=True)
        self.planned[out.name] = done = self._planned(stage, label, detail, inputs, runtime, out)
        return done

    def _planned(self, stage: Stage, label: str, detail: str, inputs, runtime, out: Path) -> Done:
        if stage.family == INDEX:
            self.entries.append(Planned(label, detail, COMPUTE))
            return Done(stage.compute(inputs, runtime, out, out / "checkpoints"), out, False, 0.0)
        if stage.family == TRAIN:
            return Done(self._planned_training(label, detail, inputs, runtime, out), out, False, 0.0)
        if stage.family in (ANSWERS, GENERATE):
            self.unwritten_generation |= stage.family == GENERATE
            return Done(self._planned_answers(label, detail, inputs, runtime), out, False, 0.0)
        raise ValueError(f"no plan for stage family {stage.family!r}")

    def throughput(self) -> Throughput:
        """What the estimates divide the work by."""
        if self.measured is None:
            self.measured = self.speed()
        return self.measured

    def _planned_training(self, label, detail, inputs, runtime, out: Path) -> TrainingReport:
        token_lists = [_row_tokens(runtime.tokenizer, row) for row in inputs.rows]
        tokens = training_tokens(token_lists, inputs.settings)
        seconds = self.throughput().training_seconds(tokens)
        self.entries.append(Planned(label, detail, COMPUTE, tokens, seconds))
        weights = out / "adapter" / "adapter_model.safetensors"
        weights.parent.mkdir()
        weights.write_text(out.name)  # a placeholder whose hash no stored answer can hold
        self.planned_adapters[sha256_file(weights)] = label
        return TrainingReport(0.0, 0, 0.0)

    def _planned_answers(self, label, detail, inputs, runtime) -> Answers:
        token_lists = prompt_tokens(runtime.tokenizer, inputs.conversations)
        batches = answer_batches(token_lists, runtime.limits)
        prompt = padded_prompt_tokens(token_lists, batches, shared_start_length(token_lists))
        rows = [len(batch) for batch in batches]
        tokens = prompt + inputs.max_new_tokens * sum(rows)
        seconds = self.throughput().answering_seconds(prompt, rows, inputs.max_new_tokens)
        after = self.planned_adapters.get(inputs.adapter_sha256)
        status = f"{COMPUTE} after {after}" if after else COMPUTE
        self.entries.append(Planned(label, detail, status, tokens, seconds))
        lengths = [len(ids) for ids in token_lists]
        return Answers([""] * len(lengths), lengths, [0] * len(lengths))


def training_tokens(token_lists: list[list[int]], settings: TrainSettings) -> int:
    """Tokens a training runs through the model: every example once an epoch, less, with the
    labelled loss on chat rows, the start all examples share beyond its one run per batch."""
    shared = shared_prefix_length(token_lists) if settings.loss == "labelled" else 0
    if settings.batch_size < 2 or shared < MIN_SHARED_TRAINING_START:
        shared = 0
    batches = math.ceil(len(token_lists) / settings.batch_size)
    per_epoch = sum(len(ids) - shared for ids in token_lists) + shared * batches
    return round(per_epoch * settings.epochs)


def _row_tokens(tokenizer, row: dict) -> list[int]:
    if "messages" in row:
        return tokenizer.apply_chat_template(row["messages"], tokenize=True)["input_ids"]
    return tokenizer(row["text"])["input_ids"]


def dry_run(
    config: ExperimentConfig, force: frozenset[str] = frozenset(), processes: int = 1, verify: bool = False
) -> str:
    """Everything a run checks, then its plan, as text; raises UserInputError as a run would. With
    `verify`, a stored stage is planned as reused only if every file's digest checks."""
    run = RunContext.of(config, force)
    if processes > 1:
        check_processes(config, processes)
    replaces = is_run_folder(run.run_dir)
    knowledge, questions = checked_inputs(run)
    with tempfile.TemporaryDirectory(prefix="ftvsrag-dry-run-") as scratch, run_log(None):
        setup = prepare(run, convert=False)
        plan = setup.model.plan

        def speed() -> Throughput:
            probe = model_with_random_weights(setup.model.model, plan)
            return measure_throughput(probe, config.train.lora, plan.training.dtype)

        parameters = model_parameters(setup.model.model)
        planner = PlanningCache(
            run.cache_root, force, verify=verify, scratch=Path(scratch), parameters=parameters, speed=speed
        )
        passages = knowledge_passages(config.rag, knowledge, setup.model.tokenizer)
        walk_stages(run, setup, knowledge, questions, passages, planner)
        where = "replaces an earlier run" if replaces else "new"
        model = setup.model
        state = "converted" if is_converted(model.model) else "converted on first run"
        dtypes = (
            plan.dtype_name
            if plan.training == plan
            else f"{plan.dtype_name}, trained in {plan.training.dtype_name}"
        )
        checks = [
            f"run folder: {run.run_dir} ({where}); runs_dir writable",
            f"knowledge base: {knowledge.source}: {len(knowledge.facts)} questions, {len(passages)} passages",
            f"model: {config.model} ({state}, {planner.parameters / 1e6:.0f}M parameters) on "
            f"{model.plan.device} ({dtypes})",
            *([f"Chroma server: {config.rag.server} answered"] if setup.server is not None else []),
        ]
        return render_plan(run, checks, planner.entries, planner.measured, planner.unwritten_generation)


def walk_stages(
    run: RunContext, setup: Setup, knowledge, questions, passages, planner: PlanningCache
) -> None:
    """The run's own sequence of stages (ftvsrag/pipeline.py), through the planning cache."""
    folder = planner.scratch / "run"
    folder.mkdir()
    with knowledge_index(run, setup, passages, planner, folder, bool(questions.changed)) as (collection, _):
        writer = qa_writer(run, setup, passages, planner)
        adapters = train_adapters(run, setup, knowledge, passages, collection, planner, writer)
        asker = make_asker(run, setup, planner, adapters, passages)
        answer_splits(run, setup, questions, collection, asker, planner.ledger)
        answer_probe(run, knowledge, asker)
        release_chroma()


def render_plan(
    run: RunContext,
    checks: list[str],
    entries: list[Planned],
    throughput: Throughput | None,
    unwritten_generation: bool = False,
) -> str:
    rows = [
        f"{e.label:<28} {e.detail[:44]:<44} {e.status:<26} {e.tokens or '':>10} {_duration(e.seconds)}"
        for e in entries
    ]
    todo = [e for e in entries if e.status != REUSED]
    seconds = sum(e.seconds for e in todo)
    summary = f"{len(entries) - len(todo)} of {len(entries)} stages reused; "
    summary += (
        f"to compute: {sum(e.tokens for e in todo):,} tokens through the model, about {_duration(seconds)} "
        f"at the model's speed on this machine, measured now ({throughput.describe()}); every answer "
        "is counted at the full eval.max_new_tokens, and answers cut there and asked again are not counted."
        if seconds
        else "nothing to compute through the model."
    )
    if unwritten_generation:
        summary += (
            " The generated text is not written yet: the trainings on it are planned without it, so "
            "they will take longer."
        )
    header = f"{'stage':<28} {'detail':<44} {'status':<26} {'tokens':>10} est. time"
    lines = [f"Dry run of '{run.config.name}': nothing was written.", "", "Checked:"]
    lines += [f"  - {check}" for check in checks]
    return "\n".join([*lines, "", header, *rows, "", summary])


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
