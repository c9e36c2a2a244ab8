"""The accuracy bar chart: arms side by side, one bar per question split, Wilson intervals as error bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftvsrag.names import CLOSED_BOOK, FINE_TUNE, FINE_TUNE_RETRIEVAL, PARAPHRASE, RETRIEVAL, TRAIN, UPDATED

SPLIT_COLOURS = {TRAIN: "#4C72B0", PARAPHRASE: "#DD8452", UPDATED: "#55A868"}


def write_accuracy_chart(results: dict[str, Any], path: Path) -> bool:
    """Write the PNG; False (and no file) when there is nothing to plot."""
    arms = list(results["arms"])
    splits = [s for s in SPLIT_COLOURS if any(s in results["arms"][arm] for arm in arms)]
    if not arms or not splits:
        return False
    plt = _pyplot()

    width = 0.8 / len(splits)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(arms)), 4.0), dpi=120)
    for offset, split in enumerate(splits):
        xs, heights, low, high = [], [], [], []
        for index, arm in enumerate(arms):
            metrics = results["arms"][arm].get(split)
            if metrics is None:
                continue
            xs.append(index + (offset - (len(splits) - 1) / 2) * width)
            heights.append(100 * metrics["accuracy"])
            low.append(100 * (metrics["accuracy"] - metrics["ci95"][0]))
            high.append(100 * (metrics["ci95"][1] - metrics["accuracy"]))
        axes.bar(xs, heights, width, yerr=[low, high], capsize=3, label=split, color=SPLIT_COLOURS[split])
    axes.set_xticks(range(len(arms)), arms)
    axes.set_ylim(0, 105)
    rule = (results.get("scoring") or {}).get("metric", "strict")
    axes.set_ylabel(f"accuracy, {rule} rule (%)")
    axes.set_title("Accuracy per arm and question split (95 % Wilson intervals)")
    axes.legend(title="split", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    axes.grid(axis="y", alpha=0.3)
    _save(plt, figure, path)
    return True


FRONTIER_FILE = "frontier.png"
ROLE_COLOURS = {
    CLOSED_BOOK: "#8C8C8C",
    FINE_TUNE: "#C44E52",
    RETRIEVAL: "#4C72B0",
    FINE_TUNE_RETRIEVAL: "#8172B3",
}


def write_frontier_chart(results: dict[str, Any], path: Path) -> bool:
    """Accuracy against compute, one point per arm coloured by its role: model FLOPs and seconds
    side by side, both on log scales. False (and no file) when there is no frontier."""
    points = (results.get("frontier") or {}).get("points") or []
    if not points:
        return False
    plt = _pyplot()

    axes_keys = [("flops", "model compute to answer the split (FLOPs)"), ("seconds", "seconds in this run")]
    axes_keys = [(key, label) for key, label in axes_keys if all(p[key] for p in points)]
    if not axes_keys:
        return False
    figure, axes = plt.subplots(
        1, len(axes_keys), figsize=(6.0 * len(axes_keys), 4.2), dpi=120, squeeze=False
    )
    for axis, (key, label) in zip(axes[0], axes_keys, strict=True):
        for point in points:
            accuracy = 100 * point["accuracy"]
            error = [[accuracy - 100 * point["ci95"][0]], [100 * point["ci95"][1] - accuracy]]
            colour = ROLE_COLOURS.get(point["role"], "#000000")
            axis.errorbar(point[key], accuracy, yerr=error, fmt="o", capsize=3, color=colour)
            axis.annotate(point["arm"], (point[key], accuracy), textcoords="offset points", xytext=(5, 4))
        axis.set_xscale("log")
        axis.set_xlabel(label)
        axis.set_ylabel("accuracy (%, 95 % Wilson interval)")
        axis.set_ylim(-2, 105)
        axis.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=r) for r, c in ROLE_COLOURS.items()]
    axes[0][-1].legend(
        handles=handles, title="role", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small"
    )
    figure.suptitle(f"Cost against accuracy, `{results['frontier']['split']}` split")
    _save(plt, figure, path)
    return True


TRAINING_FILE = "training.png"


def write_training_chart(results: dict[str, Any], path: Path) -> bool:
    """The training loss of every adapter against its optimiser step, one line each. False (and no
    file) when no adapter kept its curve."""
    curves = {name: curve for name, curve in (results.get("training_curves") or {}).items() if curve}
    if not curves:
        return False
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.0, 4.2), dpi=120)
    for name, curve in curves.items():
        axes.plot([step for step, _ in curve], [loss for _, loss in curve], marker=".", label=name)
    axes.set_xlabel("optimiser step")
    axes.set_ylabel("training loss")
    axes.set_yscale("log")
    axes.set_title("Training loss of each adapter")
    axes.legend(title="adapter", loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    axes.grid(alpha=0.3)
    _save(plt, figure, path)
    return True


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _save(plt, figure, path: Path) -> None:
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
