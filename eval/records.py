"""Per-question records (what answers.jsonl holds) and scoring them: pure, no model."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ftvsrag.eval.extract import NUMBER, extract_lenient, extract_strict
from ftvsrag.eval.metrics import DEFAULT_METRIC, LENIENT_METRIC, METRICS, Reference


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

    @property
    def reference(self) -> Reference:
        return Reference(self.gold, self.question, tuple(self.aliases), tuple(self.accepted), self.stale_gold)

    def scored(self, metric: str = DEFAULT_METRIC) -> AnswerRecord:
        """This record with its scores computed from its output and gold; `correct` by `metric`."""
        return dataclasses.replace(self, scores=score(self.output, self.reference, metric))

    def to_json(self) -> dict[str, Any]:
        plain = dataclasses.asdict(self)
        return {**{k: v for k, v in plain.items() if k != "scores"}, **plain["scores"]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerRecord:
        names = {f.name for f in dataclasses.fields(cls)} - {"scores"}
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("messages", [])
        return cls(**known, scores={k: v for k, v in data.items() if k not in names})


def score(output: str, reference: Reference, metric: str = DEFAULT_METRIC) -> dict[str, Any]:
    """Every registered metric of the output (`metrics`), with `correct` by `metric` and
    `correct_lenient` by the lenient rule. Numbers are scored by their own rules whatever the text
    rule: the extracted numbers sit beside the scores. A number the question already holds restates
    it: it is neither the gold's number nor an answer."""
    values = {entry.name: entry.item.score(output, reference) for entry in METRICS}
    scores: dict[str, Any] = {
        "kind": reference.kind,
        "correct": values[metric],
        "correct_lenient": values[LENIENT_METRIC],
        "format_ok": values["format"],
        "stale": values["stale"],
        "metrics": values,
    }
    if reference.kind == NUMBER:
        scores |= {
            "gold_number": reference.gold_number,
            "extracted_strict": extract_strict(output, reference.restated),
            "extracted_lenient": extract_lenient(output, reference.restated),
        }
    return scores


def rescore(records: Sequence[dict[str, Any]], metric: str = DEFAULT_METRIC) -> list[dict[str, Any]]:
    """Recompute every score from the stored output and gold: extraction fixes apply to old runs."""
    return [AnswerRecord.from_json(r).scored(metric).to_json() for r in records]
