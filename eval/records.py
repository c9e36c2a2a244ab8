"""Per-question records (what answers.jsonl holds) and scoring them: pure, no model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ftvsrag.eval.extract import extract_lenient, extract_strict, follows_shape


def answer_record(
    arm: str,
    split: str,
    fact_id: str,
    question: str,
    gold: str,
    output: str,
    retrieved: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One line of answers.jsonl: what was asked, what came back, and how it scores."""
    record = {
        "arm": arm,
        "split": split,
        "id": fact_id,
        "question": question,
        "gold": gold,
        "retrieved_ids": [doc_id for doc_id, _ in retrieved],
        "retrieved_texts": [text for _, text in retrieved],
        "output": output,
    }
    record.update(score(output, gold))
    return record


def score(output: str, gold: str) -> dict[str, Any]:
    """Strict (the blog's rule) and lenient extraction, compared with the number in the gold answer."""
    gold_number = extract_lenient(gold)
    strict, lenient = extract_strict(output), extract_lenient(output)
    return {
        "gold_number": gold_number,
        "extracted_strict": strict,
        "extracted_lenient": lenient,
        "correct": strict is not None and strict == gold_number,
        "correct_lenient": lenient is not None and lenient == gold_number,
        "format_ok": follows_shape(output, gold),
    }


def rescore(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recompute every score from the stored output and gold: extraction fixes apply to old runs."""
    return [{**record, **score(record["output"], record["gold"])} for record in records]
