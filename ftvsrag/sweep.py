"""Knowledge-injection sweep on any knowledge base: fine-tune over recipe x augmentation x epochs
and ask each adapter the training questions (and, on generated cities, unseen paraphrases), closed
book. Shows whether repetition and augmented data make facts stick and whether what sticks transfers
to new wordings. A recipe's augmentation is the setting it declares (`paraphrases` for chat, lm and
lm+chat; generated `pairs_per_passage` for qa-gen); a recipe without one is swept over epochs alone.
Runs through the experiment's own stages and cache (ftvsrag/pipeline.py): a point trained, generated
or answered before is reused. The run folder is published whole, with a manifest, as a run's is."""

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
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.eval.results import answer_spread
from ftvsrag.files import write_json, write_text_atomic
from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.questions import Question, paraphrase_questions, train_questions
from ftvsrag.knowledge.sources import load_knowledge, source_name
from ftvsrag.manifest import build_manifest
from ftvsrag.names import FT, PARAPHRASE, TRAIN
from ftvsrag.pipeline import claimed, knowledge_passages, make_asker, prepare, qa_writer
from ftvsrag.rag.chunking import Passage
from ftvsrag.run_folder import check_run_target, staged_run
from ftvsrag.stages import StageCache
from ftvsrag.train.recipes import PAIRS_PER_PASSAGE, PARAPHRASES, RECIPES, knowledge_recipes

COLUMNS = [
    "method",
    "paraphrases",
    "pairs_per_passage",
    "epochs",
    "train_accuracy",
    "paraphrase_accuracy",
    "train_format",
    "train_top_answer",
    "train_top_answer_share",
    "trained_pairs",
    "train_seconds",
]


@dataclass
class SweepGrid:
    epochs: list[float] = field([1.0, 5.0, 20.0], "Epoch counts to train for.")
    paraphrases: list[int] = field(
        [0, 4],
        "Extra training wordings per fact, for the recipes augmented by paraphrases (chat, lm, lm+chat).",
    )
    pairs_per_passage: list[int] = field(
        [1, 3, 10], "Question-answer pairs generated per passage, for the recipes trained on them (qa-gen)."
    )
    methods: list[str] = field(["chat", "lm"], "Knowledge-injection methods: registered knowledge recipes.")
    points: list[Point] = field(
        [],
        "These points alone instead of the product of the lists above, each {method, epochs} and the "
        "method's own augmentation (paraphrases or pairs_per_passage), e.g. one missing point.",
    )

    def __post_init__(self) -> None:
        for method in self.methods:
            _check_method(method, "grid.methods")
        for key, values in (("grid.epochs", self.epochs), ("grid.pairs_per_passage", self.pairs_per_passage)):
            if not values or min(values) <= 0:
                raise UserInputError(f"config key '{key}' must list positive values")
        for number, point in enumerate(self.points):
            _check_point(point, f"grid.points[{number}]")

    def grid_points(self) -> list[Point]:
        """The listed points; without a list, every method with each value of its own augmentation,
        times every epoch count."""
        if self.points:
            return list(self.points)
        points = []
        for method in self.methods:
            augmentation = RECIPES.get(method).augmentation
            for extra in {PARAPHRASES: self.paraphrases, PAIRS_PER_PASSAGE: self.pairs_per_passage}.get(
                augmentation, [0]
            ):
                for epochs in self.epochs:
                    paraphrases = extra if augmentation == PARAPHRASES else 0
                    pairs = extra if augmentation == PAIRS_PER_PASSAGE else 0
                    points.append(Point(method, paraphrases, pairs, epochs))
        return points


@dataclass(frozen=True)
class Point:
    method: str
    paraphrases: int = 0
    pairs_per_passage: int = 0
    """0: the recipe trains on no generated pairs."""
    epochs: float = 1.0

    def describe(self) -> str:
        augmentation = (
            f"{self.pairs_per_passage} pairs per passage"
            if self.pairs_per_passage
            else f"{self.paraphrases} paraphrases"
        )
        return f"method={self.method} {augmentation} epochs={self.epochs:g}"


def _check_method(method: str, key: str) -> None:
    if method not in knowledge_recipes():
        raise UserInputError(RECIPES.unknown(method, key, among=knowledge_recipes()))


def _check_point(point: Point, where: str) -> None:
    """A listed point names a knowledge recipe and sets only the augmentation that recipe declares."""
    _check_method(point.method, f"{where}.method")
    if point.epochs <= 0:
        raise UserInputError(f"config key '{where}.epochs' must be positive")
    augmentation = RECIPES.get(point.method).augmentation
    for key, value in ((PARAPHRASES, point.paraphrases), (PAIRS_PER_PASSAGE, point.pairs_per_passage)):
        if value and key != augmentation:
            raise UserInputError(f"config key '{where}.{key}': '{point.method}' is not augmented by it")
    if augmentation == PAIRS_PER_PASSAGE and point.pairs_per_passage <= 0:
        raise UserInputError(f"config key '{where}.pairs_per_passage' must be positive for '{point.method}'")


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
    # One seed, the knowledge fine-tune alone, asked closed book.
    experiment = replace(
        config.experiment,
        seeds=config.experiment.seeds[:1],
        eval=replace(config.experiment.eval, arms=[FT], forgetting_probe=False),
    )
    run = RunContext.of(experiment)
    check_run_target(run.run_dir)
    knowledge = load_knowledge(experiment.data)
    questions = sweep_questions(knowledge, source_name(experiment.data) == "cities")
    with claimed(run):
        return sweep_claimed(config, run, knowledge, questions)


def sweep_claimed(
    config: SweepConfig, run: RunContext, knowledge: Knowledge, questions: dict[str, list[Question]]
) -> Path:
    """The sweep, once its inputs are checked and its name is held."""
    experiment = run.config
    cache = StageCache(run.cache_root)
    points = config.grid.grid_points()
    rows: list[dict] = []
    with staged_run(run.run_dir) as folder, run_log(folder / LOG_FILE):
        setup = prepare(run)
        passages = knowledge_passages(experiment.rag, knowledge, setup.model.tokenizer)
        write_text_atomic(folder / "config.yaml", to_yaml(config))
        for number, point in enumerate(points, start=1):
            print(f"==> point {number}/{len(points)}: {point.describe()}", flush=True)
            rows.append(sweep_point(run, point, setup, cache, knowledge, passages, questions))
            write_text_atomic(folder / "sweep.csv", to_csv(rows))
        write_sweep_chart(rows, folder / "sweep.png")
        write_json(
            folder / "manifest.json", build_manifest(config=asdict(config), timings_s=cache.ledger.timings())
        )
    return run.run_dir


def sweep_questions(knowledge: Knowledge, cities: bool) -> dict[str, list[Question]]:
    """The training questions, and unseen paraphrases where they can be built (around city names)."""
    questions = {TRAIN: train_questions(knowledge.facts)}
    if cities:
        questions[PARAPHRASE] = paraphrase_questions(knowledge.facts)
    return questions


def sweep_point(
    run: RunContext,
    point: Point,
    setup: Setup,
    cache: StageCache,
    knowledge: Knowledge,
    passages: list[Passage],
    questions: dict[str, list[Question]],
) -> dict:
    """One grid point: the knowledge fine-tune with its settings, asked every split closed book."""
    config = run.config
    settings = replace(config.train, method=point.method, paraphrases=point.paraphrases, epochs=point.epochs)
    pairs = point.pairs_per_passage or config.generator.pairs_per_passage
    generator = replace(config.generator, pairs_per_passage=pairs)
    at_point = replace(run, config=replace(config, train=settings, generator=generator))
    writer = qa_writer(at_point, setup, passages, cache)
    adapters = train_adapters(at_point, setup, knowledge, passages, None, cache, writer)
    asker = make_asker(at_point, setup, cache, adapters, passages)
    answers = {
        split: asker.ask(at_point.arms[FT], config.seeds[0], split_questions, {})
        for split, split_questions in questions.items()
    }
    trained_pairs = writer.summary()["kept"] if writer.pairs is not None else ""
    seconds = sum(a.report.seconds for a in adapters.values())
    return point_row(point, answers, trained_pairs, seconds)


def point_row(
    point: Point, answers: dict[str, list[AnswerRecord]], trained_pairs: int | str, train_seconds: float
) -> dict:
    """A grid point's line of sweep.csv. The most frequent answer and its share sit beside the
    accuracy: a fine-tune that says one thing to every question can score by matching the common
    gold answer, and this shows it has collapsed rather than learned."""
    scores = {split: [r.scores for r in records] for split, records in answers.items()}
    spread = answer_spread([{"output": r.output} for r in answers[TRAIN]])
    return {
        "method": point.method,
        "paraphrases": point.paraphrases,
        "pairs_per_passage": point.pairs_per_passage,
        "epochs": point.epochs,
        "train_accuracy": _mean(s["correct"] for s in scores[TRAIN]),
        "paraphrase_accuracy": _mean(s["correct"] for s in scores[PARAPHRASE])
        if PARAPHRASE in scores
        else "",
        "train_format": _mean(s["format_ok"] for s in scores[TRAIN]),
        "train_top_answer": spread["top_answer"],
        "train_top_answer_share": spread["top_answer_share"],
        "trained_pairs": trained_pairs,
        "train_seconds": round(train_seconds, 1),
    }


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_sweep_chart(rows: list[dict], path: Path) -> None:
    """Accuracy against epochs, one line per (method, augmentation); training questions, and unseen
    paraphrases beside them when the sweep asked any."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    columns = [("train_accuracy", "training questions")]
    if any(r["paraphrase_accuracy"] != "" for r in rows):
        columns.append(("paraphrase_accuracy", "unseen paraphrases"))
    figure, panels = plt.subplots(
        1, len(columns), figsize=(5 * len(columns), 4), dpi=120, sharey=True, squeeze=False
    )
    for (method, paraphrases, pairs), group in itertools.groupby(sorted(rows, key=_line), key=_line):
        group = sorted(group, key=lambda r: r["epochs"])
        label = f"{method}, {pairs} pairs per passage" if pairs else f"{method}, {paraphrases} paraphrases"
        for panel, (column, _title) in zip(panels[0], columns, strict=True):
            panel.plot(
                [r["epochs"] for r in group], [100 * r[column] for r in group], marker="o", label=label
            )
    for panel, (_column, title) in zip(panels[0], columns, strict=True):
        panel.set_title(f"Fine-tuned, closed book: {title}")
        panel.set_xlabel("epochs")
        panel.set_xscale("log")
        panel.grid(alpha=0.3)
    panels[0][0].set_ylabel("accuracy (%)")
    panels[0][0].set_ylim(-2, 102)
    panels[0][-1].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _line(row: dict) -> tuple:
    """Which line of the chart a row is a point of: its method and augmentation."""
    return row["method"], row["paraphrases"], row["pairs_per_passage"]


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0
