"""Graded and diagnostic scores beside right-or-wrong: token F1, whether the output keeps the
training answer's shape, and whether it gives a changed fact's old answer."""

from __future__ import annotations

from ftvsrag.eval.extract import NUMBER, contains_phrase, extract_strict, follows_shape, token_f1
from ftvsrag.eval.metrics import METRICS, Reference
from ftvsrag.text import first_number


@METRICS.register("f1", "SQuAD's token F1 against the best alias (text answers)")
def f1(output: str, reference: Reference) -> float | None:
    if reference.kind == NUMBER or reference.accepted:
        return None
    return round(max(token_f1(output, wording) for wording in reference.wordings), 4)


@METRICS.register("format", "the output has the training answer's shape, whatever its numbers")
def answer_format(output: str, reference: Reference) -> bool | None:
    return None if reference.accepted else follows_shape(output, reference.gold)


@METRICS.register("stale", "the output gives a changed fact's old answer (the updated split)")
def stale(output: str, reference: Reference) -> bool | None:
    if not reference.stale:
        return None
    if reference.kind != NUMBER:
        return contains_phrase(output, reference.stale)
    old = first_number(reference.stale, reference.restated)
    return None if old is None else extract_strict(output, reference.restated) == old
