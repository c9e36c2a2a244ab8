"""The accuracy bar chart: arms side by side, one bar per question split, Wilson intervals as error bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftvsrag.names import PARAPHRASE, TRAIN, UPDATED

SPLIT_COLOURS = {TRAIN: "#4C72B0", PARAPHRASE: "#DD8452", UPDATED: "#55A868"}


def write_accuracy_chart(results: dict[str, Any], path: Path) -> bool:
    """Write the PNG; False (and no file) when there is nothing to plot."""
    arms = list(results["arms"])
    splits = [s for s in SPLIT_COLOURS if any(s in results["arms"][arm] for arm in arms)]
    if not arms or not splits:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

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
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return True
