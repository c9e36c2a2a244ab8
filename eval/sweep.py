"""Knowledge-injection sweep: fine-tune over epochs x paraphrases x method and ask each adapter the
training questions and unseen paraphrases, closed book. Shows whether repetition makes facts stick
and whether what sticks transfers to new wordings. Runs through the experiment's own stages and
cache (ftvsrag/pipeline.py): a point trained or answered before is reused."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ftvsrag.configtools import field, load_yaml_config, to_yaml
from ftvsrag.errors import UserInputError
from ftvsrag.eval.arms import ARMS, FT, FT_ADAPTER
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.questions import PARAPHRASE, TRAIN, paraphrase_questions, train_questions
from ftvsrag.files import atomic_dir, write_text_atomic
from ftvsrag.pipeline import (
    CACHE_DIR,
    AdapterKey,
    Knowledge,
    Setup,
    knowledge_adapter_inputs,
    knowledge_passages,
    load_knowledge,
    make_asker,
    prepare,
    train_adapter,
)
from ftvsrag.stages import StageCache

COLUMNS = [
    "method",
    "paraphrases",
    "epochs",
    "train_accuracy",
    "paraphrase_accuracy",
    "train_format",
    "train_seconds",
]


@dataclass
class SweepGrid:
    epochs: list[float] = field([1.0, 5.0, 20.0], "Epoch counts to train for.")
    paraphrases: list[int] = field([0, 4], "Extra training wordings per fact.")
    methods: list[Literal["chat", "lm"]] = field(["chat", "lm"], "Knowledge-injection methods.")


@dataclass
class SweepConfig:
    experiment: ExperimentConfig = field(
        ExperimentConfig(), "Model, data and training settings shared by all points."
    )
    grid: SweepGrid = field(SweepGrid(), "The values swept.")


def load_sweep_config(path: Path, overrides: list[str] = ()) -> SweepConfig:
    return load_yaml_config(SweepConfig, path, overrides)


def run_sweep(config: SweepConfig) -> Path:
    """Train and score every grid point; write sweep.csv and sweep.png into runs/<name>/."""
    experiment = config.experiment
    if experiment.data.path or experiment.data.documents:
        raise UserInputError("the sweep needs generated cities (paraphrases are built around city names)")
    runs_dir = Path(experiment.runs_dir)
    cache = StageCache(runs_dir / CACHE_DIR)
    knowledge = load_knowledge(experiment)
    facts = knowledge.facts
    questions = {TRAIN: train_questions(facts), PARAPHRASE: paraphrase_questions(facts)}
    setup = prepare(experiment, needs_embedder=False)
    points = list(itertools.product(config.grid.methods, config.grid.paraphrases, config.grid.epochs))
    rows: list[dict] = []
    with atomic_dir(runs_dir / experiment.name) as run:
        write_text_atomic(run / "config.yaml", to_yaml(config))
        for number, (method, paraphrases, epochs) in enumerate(points, start=1):
            print(
                f"==> point {number}/{len(points)}: method={method} paraphrases={paraphrases} "
                f"epochs={epochs:g}",
                flush=True,
            )
            settings = dataclasses.replace(
                experiment.train, method=method, paraphrases=paraphrases, epochs=epochs
            )
            rows.append(sweep_point(experiment, settings, setup, cache, knowledge, questions))
            write_text_atomic(run / "sweep.csv", to_csv(rows))
        write_sweep_chart(rows, run / "sweep.png")
    return runs_dir / experiment.name


def sweep_point(
    experiment: ExperimentConfig, settings, setup: Setup, cache: StageCache, knowledge: Knowledge, questions
) -> dict:
    """One grid point: the knowledge fine-tune with `settings`, asked both splits closed book."""
    seed = experiment.seeds[0]
    passages = knowledge_passages(experiment, knowledge, setup.model.tokenizer)
    inputs = knowledge_adapter_inputs(settings, setup.model, knowledge, passages, seed)
    adapter = train_adapter(inputs, setup, cache)
    adapters = {AdapterKey(FT_ADAPTER, seed): adapter}
    asker = make_asker(experiment, setup, cache, adapters, knowledge, passages)
    scores = {
        split: [r.scores for r in asker.ask(ARMS[FT], seed, split_questions, {})]
        for split, split_questions in questions.items()
    }
    return {
        "method": settings.method,
        "paraphrases": settings.paraphrases,
        "epochs": settings.epochs,
        "train_accuracy": _mean(s["correct"] for s in scores[TRAIN]),
        "paraphrase_accuracy": _mean(s["correct"] for s in scores[PARAPHRASE]),
        "train_format": _mean(s["format_ok"] for s in scores[TRAIN]),
        "train_seconds": round(adapter.report.seconds, 1),
    }


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_sweep_chart(rows: list[dict], path: Path) -> None:
    """Accuracy against epochs, one line per (method, paraphrases); training questions vs new wordings."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(10, 4), dpi=120, sharey=True)
    for (method, paraphrases), group in itertools.groupby(
        sorted(rows, key=lambda r: (r["method"], r["paraphrases"], r["epochs"])),
        key=lambda r: (r["method"], r["paraphrases"]),
    ):
        group = list(group)
        label = f"{method}, {paraphrases} paraphrases"
        for panel, column in zip(panels, ("train_accuracy", "paraphrase_accuracy"), strict=True):
            panel.plot(
                [r["epochs"] for r in group], [100 * r[column] for r in group], marker="o", label=label
            )
    for panel, title in zip(panels, ("training questions", "unseen paraphrases"), strict=True):
        panel.set_title(f"Fine-tuned, closed book: {title}")
        panel.set_xlabel("epochs")
        panel.set_xscale("log")
        panel.grid(alpha=0.3)
    panels[0].set_ylabel("strict accuracy (%)")
    panels[0].set_ylim(-2, 102)
    panels[1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0
