"""Knowledge-injection sweep: fine-tune over epochs x paraphrases x method and ask each adapter the
training questions and unseen paraphrases, closed book. Shows whether repetition makes facts stick
and whether what sticks transfers to new wordings."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ftvsrag.configtools import field, load_yaml_config, to_yaml
from ftvsrag.errors import UserInputError
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.facts import cities_facts
from ftvsrag.eval.generate import generate_answers
from ftvsrag.eval.questions import paraphrase_questions, train_questions
from ftvsrag.eval.records import score
from ftvsrag.eval.rundir import staged_run_dir, write_text_atomic
from ftvsrag.eval.runner import prepare_model
from ftvsrag.eval.training_data import knowledge_rows
from ftvsrag.train.lora import load_adapter, train_lora
from ftvsrag.train.model import load_model, load_tokenizer

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
    if experiment.data.path:
        raise UserInputError("the sweep needs generated cities (paraphrases are built around city names)")
    facts = cities_facts(experiment.data.num_cities, experiment.data.seed)
    questions = {"train": train_questions(facts), "paraphrase": paraphrase_questions(facts)}
    model_ref, plan, limits = prepare_model(experiment)
    tokenizer = load_tokenizer(model_ref)
    points = list(itertools.product(config.grid.methods, config.grid.paraphrases, config.grid.epochs))
    final = Path(experiment.runs_dir) / experiment.name
    rows: list[dict] = []
    with staged_run_dir(final) as run, tempfile.TemporaryDirectory(prefix="ftvsrag-sweep-") as scratch:
        (run / "config.yaml").write_text(to_yaml(config), encoding="utf-8")
        for number, (method, paraphrases, epochs) in enumerate(points, start=1):
            point = f"method={method} paraphrases={paraphrases} epochs={epochs:g}"
            print(f"==> point {number}/{len(points)}: {point}", flush=True)
            settings = dataclasses.replace(
                experiment.train, method=method, paraphrases=paraphrases, epochs=epochs
            )
            adapter = Path(scratch) / f"point-{number}"
            report = train_lora(
                load_model(model_ref, plan),
                tokenizer,
                knowledge_rows(facts, method, paraphrases),
                settings,
                plan,
                experiment.seeds[0],
                adapter,
            )
            model = load_adapter(load_model(model_ref, plan), adapter)
            scores = {}
            for split, split_questions in questions.items():
                generation = generate_answers(
                    model,
                    tokenizer,
                    [q.messages() for q in split_questions],
                    limits,
                    experiment.eval.max_new_tokens,
                    desc=split,
                )
                scores[split] = [
                    score(text, q.gold) for text, q in zip(generation.texts, split_questions, strict=True)
                ]
            rows.append(
                {
                    "method": method,
                    "paraphrases": paraphrases,
                    "epochs": epochs,
                    "train_accuracy": _mean(s["correct"] for s in scores["train"]),
                    "paraphrase_accuracy": _mean(s["correct"] for s in scores["paraphrase"]),
                    "train_format": _mean(s["format_ok"] for s in scores["train"]),
                    "train_seconds": round(report.seconds, 1),
                }
            )
            write_text_atomic(run / "sweep.csv", to_csv(rows))
        write_sweep_chart(rows, run / "sweep.png")
    return final


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
