"""Per-question records (what answers.jsonl holds) and scoring them: pure, no model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ftvsrag.eval.extract import (
    NUMBER,
    TEXT,
    answer_kind,
    contains_phrase,
    contains_words,
    extract_lenient,
    extract_strict,
    follows_shape,
)
from ftvsrag.eval.probe import answers_correctly
from ftvsrag.eval.questions import Question


def answer_record(
    arm: str,
    question: Question,
    output: str,
    *,
    seed: int,
    prompt_tokens: int,
    retriever: str | None = None,
    retrieved: Sequence[tuple[str, str]] = (),
    accepted: Sequence[str] = (),
) -> dict[str, Any]:
    """One line of answers.jsonl: what was asked, what came back, and how it scores."""
    record = {
        "arm": arm,
        "split": question.split,
        "seed": seed,
        "id": question.fact_id,
        "question": question.text,
        "gold": question.gold,
        "stale_gold": question.stale,
        "accepted": list(accepted),
        "retriever": retriever,
        "retrieved_ids": [doc_id for doc_id, _ in retrieved],
        "retrieved_texts": [text for _, text in retrieved],
        "prompt_tokens": prompt_tokens,
        "output": output,
    }
    record.update(score(output, question.gold, stale=question.stale, accepted=accepted))
    return record


def score(output: str, gold: str, stale: str | None = None, accepted: Sequence[str] = ()) -> dict[str, Any]:
    """Numbers: strict (the blog's rule) and lenient extraction against the gold answer's number.
    Text answers: the normalised gold as a phrase in the output (strict), or all its words (lenient).
    The general-knowledge probe: an accepted answer appears as whole words."""
    if accepted:
        found = answers_correctly(output, tuple(accepted))
        return {"kind": TEXT, "correct": found, "correct_lenient": found, "format_ok": None, "stale": None}
    if answer_kind(gold) == TEXT:
        return {
            "kind": TEXT,
            "correct": contains_phrase(output, gold),
            "correct_lenient": contains_words(output, gold),
            "format_ok": follows_shape(output, gold),
            "stale": contains_phrase(output, stale) if stale else None,
        }
    gold_number = extract_lenient(gold)
    strict, lenient = extract_strict(output), extract_lenient(output)
    stale_number = extract_lenient(stale) if stale else None
    return {
        "kind": NUMBER,
        "gold_number": gold_number,
        "extracted_strict": strict,
        "extracted_lenient": lenient,
        "correct": strict is not None and strict == gold_number,
        "correct_lenient": lenient is not None and lenient == gold_number,
        "format_ok": follows_shape(output, gold),
        "stale": None if stale_number is None else strict == stale_number,
    }


def rescore(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recompute every score from the stored output and gold: extraction fixes apply to old runs."""
    return [
        {**r, **score(r["output"], r["gold"], stale=r.get("stale_gold"), accepted=r.get("accepted") or ())}
        for r in records
    ]
