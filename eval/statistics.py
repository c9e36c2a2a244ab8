"""Statistics over per-question records: intervals, paired tests, recall (no model, no I/O)."""

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


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs (a binomial test at 1/2)."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_difference(first: Sequence[bool], second: Sequence[bool], z: float = Z95) -> dict[str, Any]:
    """second - first on the same questions, with a Wald interval for paired proportions and McNemar."""
    n = len(first)
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    if n == 0:
        return {"n": 0, "change": 0.0, "ci95": [-1.0, 1.0], "p": 1.0}
    change = (only_second - only_first) / n
    half = z * math.sqrt(max(0.0, (only_first + only_second) / n - change * change) / n)
    return {
        "n": n,
        "change": round(change, 4),
        "ci95": [round(max(-1.0, change - half), 4), round(min(1.0, change + half), 4)],
        "only_first": only_first,
        "only_second": only_second,
        "p": round(mcnemar_exact(only_first, only_second), 6),
    }


def accuracy_summary(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The results.json block for one arm on one split."""
    n = len(records)
    correct = sum(r["correct"] for r in records)
    low, high = wilson_interval(correct, n)
    summary = {
        "n": n,
        "correct": correct,
        "accuracy": _ratio(correct, n),
        "ci95": [round(low, 4), round(high, 4)],
        "lenient_accuracy": _ratio(sum(r["correct_lenient"] for r in records), n),
    }
    formats = [r["format_ok"] for r in records if r.get("format_ok") is not None]
    summary["format_ok"] = _ratio(sum(formats), len(formats)) if formats else None
    stale = [r["stale"] for r in records if r.get("stale") is not None]
    if stale:
        summary["stale"] = _ratio(sum(stale), len(stale))
    return summary


def recall_at_k(gold_ids: Sequence[Sequence[str]], retrieved_ids: Sequence[Sequence[str]], k: int) -> float:
    """Share of questions with a gold document among the first k distinct documents retrieved
    (several passages of one document count once). Questions with no gold document known are left out."""
    pairs = [
        (set(gold), list(dict.fromkeys(ranked))) for gold, ranked in zip(gold_ids, retrieved_ids, strict=True)
    ]
    pairs = [(gold, ranked) for gold, ranked in pairs if gold]
    hits = sum(bool(gold & set(ranked[:k])) for gold, ranked in pairs)
    return _ratio(hits, len(pairs))


def recall_summary(
    gold_ids: Sequence[Sequence[str]], retrieved_ids: Sequence[Sequence[str]], ks: Iterable[int]
) -> dict:
    return {f"recall@{k}": recall_at_k(gold_ids, retrieved_ids, k) for k in ks}


def mean_and_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def mean_of(values: Iterable[float | bool | None]) -> float | None:
    """The mean of the values that are not None (True counts 1), rounded; None when there are none."""
    present = [float(v) for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
