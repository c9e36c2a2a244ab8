"""answers.jsonl records -> the results.json structure that DESIGN.md fixes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ftvsrag.eval.metrics import accuracy_summary, recall_summary

RECALL_KS = (1, 5)


def summarise(
    records: Sequence[dict[str, Any]], first_n: int, timings: dict[str, float] | None = None
) -> dict[str, Any]:
    """Accuracy per arm and split (plus the first `first_n` questions, the blog's own sample) and
    retrieval recall, all computed from the records alone."""
    grouped: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        grouped[record["arm"]][record["split"]].append(record)
    arms: dict[str, dict[str, Any]] = {}
    for arm, splits in grouped.items():
        arms[arm] = {}
        for split, rows in splits.items():
            arms[arm][split] = accuracy_summary(rows)
            if first_n and len(rows) > first_n:
                arms[arm][split][f"first{first_n}"] = accuracy_summary(rows[:first_n])
    return {"arms": arms, "retrieval": _retrieval(records), "timings_s": dict(timings or {})}


def _retrieval(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    # Each question is retrieved once per retriever; the records of any arm that used it carry it.
    by_question: dict[tuple[str, str], list[str]] = {}
    for record in records:
        if record["retrieved_ids"]:
            by_question.setdefault((record["split"], record["id"]), record["retrieved_ids"])
    if not by_question:
        return {}
    gold = [question_id for _, question_id in by_question]
    ranked = list(by_question.values())
    return {"dense": recall_summary(gold, ranked, RECALL_KS)}
