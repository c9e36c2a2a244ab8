"""Pure scoring functions over per-question records (no model, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

Z95 = 1.959963984540054
"""Two-sided 95 % standard-normal quantile."""


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is nothing to measure."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def accuracy_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The results.json block for one arm on one split."""
    n = len(records)
    correct = sum(r["correct"] for r in records)
    low, high = wilson_interval(correct, n)
    return {
        "n": n,
        "correct": correct,
        "accuracy": _ratio(correct, n),
        "ci95": [round(low, 4), round(high, 4)],
        "lenient_accuracy": _ratio(sum(r["correct_lenient"] for r in records), n),
        "format_ok": _ratio(sum(r["format_ok"] for r in records), n),
    }


def recall_at_k(gold_ids: Sequence[str], retrieved_ids: Sequence[Sequence[str]], k: int) -> float:
    """Share of questions whose gold document is among the first k retrieved."""
    hits = sum(gold in ranked[:k] for gold, ranked in zip(gold_ids, retrieved_ids, strict=True))
    return _ratio(hits, len(gold_ids))


def recall_summary(
    gold_ids: Sequence[str], retrieved_ids: Sequence[Sequence[str]], ks: Iterable[int]
) -> dict:
    return {f"recall@{k}": recall_at_k(gold_ids, retrieved_ids, k) for k in ks}


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
