"""The cost-accuracy frontier: every arm a point, its accuracy on a split against what it cost to
answer that split: training its adapter, building the index it reads and answering the questions,
in model FLOPs (eval/work.py's estimate) and in seconds of this run."""

from __future__ import annotations

from typing import Any

from ftvsrag.eval.verdict import arm_role
from ftvsrag.eval.work import arm_flops
from ftvsrag.names import NO_ADAPTER


def frontier(summary: dict[str, Any], split: str, parameters: int | None) -> dict[str, Any] | None:
    """results.json's `frontier` for `split`: one point per arm that answered it. FLOPs are None
    when the model's parameter count is unknown (a results.json written before it was recorded)."""
    points = [
        _point(summary, arm, blocks, split, parameters)
        for arm, blocks in summary["arms"].items()
        if split in blocks
    ]
    return {"split": split, "parameters": parameters, "points": points} if points else None


def _point(
    summary: dict[str, Any], arm: str, blocks: dict[str, Any], split: str, parameters: int | None
) -> dict[str, Any]:
    block, spec = blocks[split], (summary.get("arm_specs") or {}).get(arm) or {}
    cost = (summary.get("costs") or {}).get(arm) or {}
    # An arm's answering stage covers all its splits; this split takes its share of the questions.
    share = block["n"] / sum(b["n"] for b in blocks.values())
    seconds = cost.get("train_s", 0.0) + cost.get("index_s", 0.0)
    seconds += cost.get("seconds_per_question", 0.0) * block["n"]
    return {
        "arm": arm,
        "role": arm_role(arm, spec),
        "accuracy": block["accuracy"],
        "ci95": block["ci95"],
        "flops": _flops(summary.get("tokens") or {}, spec, arm, share, parameters),
        "seconds": round(seconds, 2),
    }


def _flops(
    tokens: dict[str, Any], spec: dict[str, Any], arm: str, share: float, parameters: int | None
) -> float | None:
    if not parameters or f"answer:{arm}" not in tokens:
        return None
    return arm_flops(tokens, spec.get("adapter", NO_ADAPTER), arm, parameters, share)
