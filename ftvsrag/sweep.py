"""Knowledge-injection sweep: fine-tune over epochs x paraphrases x method and ask each adapter the
training questions and unseen paraphrases, closed book. Shows whether repetition makes facts stick
and whether what sticks transfers to new wordings. Runs through the experiment's own stages and
cache (ftvsrag/pipeline.py): a point trained or answered before is reused. The run folder is
published whole, with a manifest, as a run's is."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ftvsrag.adapters import train_adapters
from ftvsrag.config import ExperimentConfig
from ftvsrag.configtools import field, load_yaml_config, to_yaml
from ftvsrag.console import LOG_FILE, run_log
from ftvsrag.context import RunContext, Setup
from ftvsrag.errors import UserInputError
from ftvsrag.files import write_json, write_text_atomic
from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.questions import Question, paraphrase_questions, train_questions
from ftvsrag.knowledge.sources import load_knowledge, source_name
from ftvsrag.manifest import build_manifest
from ftvsrag.names import FT, PARAPHRASE, TRAIN
from ftvsrag.pipeline import knowledge_passages, make_asker, prepare
from ftvsrag.run_folder import check_run_target, staged_run
from ftvsrag.stages import StageCache
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.recipes import RECIPES, knowledge_recipes

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
    methods: list[str] = field(["chat", "lm"], "Knowledge-injection methods: registered knowledge recipes.")

    def __post_init__(self) -> None:
        for method in self.methods:
            if method not in knowledge_recipes():
                raise UserInputError(RECIPES.unknown(method, "grid.methods", among=knowledge_recipes()))


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
    if source_name(experiment.data) != "cities":
        raise UserInputError("the sweep needs generated cities (paraphrases are built around city names)")
    # One seed, the knowledge fine-tune alone, asked closed book.
    experiment = replace(
        experiment,
        seeds=experiment.seeds[:1],
        eval=replace(experiment.eval, arms=[FT], forgetting_probe=False),
    )
    run = RunContext.of(experiment)
    check_run_target(run.run_dir)
    knowledge = load_knowledge(experiment.data)
    questions = {TRAIN: train_questions(knowledge.facts), PARAPHRASE: paraphrase_questions(knowledge.facts)}
    cache = StageCache(run.cache_root)
    points = list(itertools.product(config.grid.methods, config.grid.paraphrases, config.grid.epochs))
    rows: list[dict] = []
    with staged_run(run.run_dir) as folder, run_log(folder / LOG_FILE):
        setup = prepare(run)
        write_text_atomic(folder / "config.yaml", to_yaml(config))
        for number, (method, paraphrases, epochs) in enumerate(points, start=1):
            print(
                f"==> point {number}/{len(points)}: method={method} paraphrases={paraphrases} "
                f"epochs={epochs:g}",
                flush=True,
            )
            settings = replace(experiment.train, method=method, paraphrases=paraphrases, epochs=epochs)
            rows.append(sweep_point(run, settings, setup, cache, knowledge, questions))
            write_text_atomic(folder / "sweep.csv", to_csv(rows))
        write_sweep_chart(rows, folder / "sweep.png")
        write_json(
            folder / "manifest.json", build_manifest(config=asdict(config), timings_s=cache.ledger.timings())
        )
    return run.run_dir


def sweep_point(
    run: RunContext,
    settings: TrainSettings,
    setup: Setup,
    cache: StageCache,
    knowledge: Knowledge,
    questions: dict[str, list[Question]],
) -> dict:
    """One grid point: the knowledge fine-tune with `settings`, asked both splits closed book."""
    point = replace(run, config=replace(run.config, train=settings))
    seed = point.config.seeds[0]
    passages = knowledge_passages(point.config.rag, knowledge, setup.model.tokenizer)
    adapters = train_adapters(point, setup, knowledge, passages, None, cache)
    asker = make_asker(point, setup, cache, adapters, passages)
    scores = {
        split: [r.scores for r in asker.ask(point.arms[FT], seed, split_questions, {})]
        for split, split_questions in questions.items()
    }
    adapter = next(iter(adapters.values()))
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
    panels[0].set_ylabel("accuracy (%)")
    panels[0].set_ylim(-2, 102)
    panels[1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0
