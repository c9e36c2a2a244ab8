"""Per-question records (what answers.jsonl holds) and scoring them: pure, no model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    numbers_in,
    token_f1,
)
from ftvsrag.eval.probe import answers_correctly


@dataclass
class AnswerRecord:
    """One line of answers.jsonl: what was asked (the exact chat messages), what came back, and how
    it scores. In JSON the scores sit beside the other fields, flat, as in earlier runs."""

    arm: str
    split: str
    seed: int
    id: str
    question: str
    gold: str
    messages: list[dict[str, str]]
    output: str
    prompt_tokens: int
    stale_gold: str | None = None
    accepted: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """Every acceptable wording of the answer (PopQA-style alias lists); empty: `gold` alone."""
    gold_documents: list[str] = field(default_factory=list)
    truncated: bool = False
    """The answer reached the generation limit (it may have been cut before its answer)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """The question record's own extra fields (e.g. 'pageviews'), for `eval.group_by`."""
    retriever: str | None = None
    retrieved_ids: list[str] = field(default_factory=list)
    retrieved_texts: list[str] = field(default_factory=list)
    retrieved_documents: list[str] = field(default_factory=list)
    """The retriever's ranking as documents, to depth max(k, 5) for recall@5 (the prompt holds the
    first k passages); passage and document ids are the same for one-sentence facts."""
    scores: dict[str, Any] = field(default_factory=dict)

    def scored(self) -> AnswerRecord:
        """This record with its scores computed from its output and gold."""
        scores = score(self.output, self.gold, self.question, self.stale_gold, self.accepted, self.aliases)
        return dataclasses.replace(self, scores=scores)

    def to_json(self) -> dict[str, Any]:
        plain = dataclasses.asdict(self)
        return {**{k: v for k, v in plain.items() if k != "scores"}, **plain["scores"]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"scores"}
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("messages", [])
        return cls(**known, scores={k: v for k, v in data.items() if k not in names})


def score(
    output: str,
    gold: str,
    question: str = "",
    stale: str | None = None,
    accepted: Sequence[str] = (),
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    """Numbers: strict (the blog's rule) and lenient extraction against the gold answer's number.
    Text answers: any alias (the gold alone when there are none), normalised SQuAD-style, as a phrase
    in the output (strict), or all its words (lenient); token F1 against the best alias beside them.
    The general-knowledge probe: an accepted answer appears as whole words.
    A number the question already holds restates it: it is neither the gold's number nor an answer."""
    if accepted:
        found = answers_correctly(output, tuple(accepted))
        return {"kind": TEXT, "correct": found, "correct_lenient": found, "format_ok": None, "stale": None}
    if answer_kind(gold, question) == TEXT:
        wordings = list(aliases) or [gold]
        return {
            "kind": TEXT,
            "correct": any(contains_phrase(output, wording) for wording in wordings),
            "correct_lenient": any(contains_words(output, wording) for wording in wordings),
            "f1": round(max(token_f1(output, wording) for wording in wordings), 4),
            "format_ok": follows_shape(output, gold),
            "stale": contains_phrase(output, stale) if stale else None,
        }
    restated = numbers_in(question)
    gold_number = extract_lenient(gold, restated)
    strict, lenient = extract_strict(output, restated), extract_lenient(output, restated)
    stale_number = extract_lenient(stale, restated) if stale else None
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
    return [AnswerRecord.from_json(r).scored().to_json() for r in records]
