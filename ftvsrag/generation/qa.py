"""The generated question-answer pairs of the `qa-gen` recipe: the generator (the run's own model
unless `generator.model` names another) asked about every passage once, greedily, through a cached
stage of its own; the pairs read out of its replies and checked every run (train/generated_qa.py),
so that a change to the checks never needs the generation again."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ftvsrag.generation.answering import AnswerInputs, AnswerRuntime, Answers, answer
from ftvsrag.generation.generate import BatchLimits
from ftvsrag.generation.models import AnsweringModels
from ftvsrag.rag.chunking import Passage
from ftvsrag.stages import GENERATE, Stage, StageCache
from ftvsrag.train.adapter import ModelRuntime
from ftvsrag.train.config import GeneratorSettings
from ftvsrag.train.generated_qa import (
    GeneratedPair,
    checked_pairs,
    checked_rewordings,
    drop_counts,
    qa_prompt,
    reword_prompt,
)
from ftvsrag.train.model import load_model, load_tokenizer, model_sha256, resolve_model

GENERATE_QA = Stage(GENERATE, answer, Answers)
"""Conversations in, greedy replies out: the answering stage's work, cached under its own family."""
GENERATED_QA_FILE = "generated_qa.jsonl"
GENERATED_PARAPHRASES_FILE = "generated_paraphrases.jsonl"


@dataclass
class QAWriter:
    """Writes the pairs on first use (a run whose arms need no `qa-gen` never loads the generator)
    and keeps them for the run folder."""

    settings: GeneratorSettings
    run_model: ModelRuntime
    passages: list[Passage]
    cache: StageCache
    cache_dir: Path
    limits: BatchLimits
    pairs: list[GeneratedPair] | None = field(default=None, init=False)
    rewordings: dict[str, list[str]] | None = field(default=None, init=False)
    """Each training question's rewordings, once a recipe asked for them."""

    def generated(self) -> list[GeneratedPair]:
        if self.pairs is None:
            wanted = self.settings.pairs_per_passage
            conversations = [qa_prompt(p.text, wanted) for p in self.passages]
            replies = self._replies("generate:qa", conversations, wanted, f"{wanted} per passage")
            seen: set[str] = set()
            self.pairs = [
                pair
                for passage, reply in zip(self.passages, replies, strict=True)
                for pair in checked_pairs(passage.id, passage.text, reply, wanted, seen)
            ]
        return self.pairs

    def reworded(self, questions: list[str], count: int) -> dict[str, list[str]]:
        """Up to `count` checked rewordings of each question, through the cached generation stage."""
        conversations = [reword_prompt(question, count) for question in questions]
        replies = self._replies("generate:paraphrases", conversations, count, f"{count} per question")
        self.rewordings = {
            question: checked_rewordings(question, reply, count)
            for question, reply in zip(questions, replies, strict=True)
        }
        return self.rewordings

    @property
    def generator_name(self) -> str:
        return self.settings.model or "the run's model"

    def _replies(self, label: str, conversations: list[list[dict]], items: int, detail: str) -> list[str]:
        """The generator's greedy reply to each conversation, `items` answers long at most, through
        the cached generation stage."""
        model_id, runtime = self._generator
        inputs = AnswerInputs(model_id, None, conversations, items * self.settings.tokens_per_pair)
        return self.cache.run(
            GENERATE_QA, label, inputs, runtime, f"{detail}, {self.generator_name}"
        ).output.texts

    @cached_property
    def _generator(self) -> tuple[tuple[str, str, str], AnswerRuntime]:
        """The generator's identity (weights hash, device, dtype) and how to run it (the model loads
        on first generation); resolved once per run, however many recipes ask. In a run of several
        processes every process writes its share of the batches, as in answering."""
        run = self.run_model
        if self.settings.model:
            reference = resolve_model(self.settings.model, self.cache_dir)
            model_id = (model_sha256(reference, self.cache_dir), *run.model_id[1:])
            run = ModelRuntime(reference, run.plan, load_tokenizer(reference), model_id, run.team)
        models = AnsweringModels(lambda: load_model(run.model, run.plan))
        runtime = AnswerRuntime(models, run.tokenizer, self.limits, source=run, desc="writing questions")
        return run.model_id, runtime

    def summary(self) -> dict:
        """What results.json and the report say about the pairs."""
        pairs = self.pairs or []
        kept = sum(p.kept for p in pairs)
        return {
            "generator": self.generator_name,
            "passages": len(self.passages),
            "per_passage": self.settings.pairs_per_passage,
            "kept": kept,
            "dropped": drop_counts(pairs),
            "file": GENERATED_QA_FILE,
        }

    def rewording_summary(self) -> dict:
        rewordings = self.rewordings or {}
        return {
            "generator": self.generator_name,
            "questions": len(rewordings),
            "kept": sum(map(len, rewordings.values())),
            "file": GENERATED_PARAPHRASES_FILE,
        }


def rewording_note(summary: dict) -> str:
    return (
        f"paraphrases: {summary['generator']} reworded {summary['questions']} training questions; "
        f"{summary['kept']} rewordings passed the checks (a question, new, every name kept) and were "
        f"trained on: {summary['file']}"
    )


def generated_note(summary: dict) -> str:
    dropped = ", ".join(f"{count} {reason}" for reason, count in summary["dropped"].items()) or "none"
    asked = summary["passages"] * summary["per_passage"]
    alone = (
        ""
        if summary["kept"]
        else " (so qa-gen trained on the knowledge text alone: try a larger generator.model)"
    )
    return (
        f"qa-gen: {summary['generator']} was asked {summary['per_passage']} question-answer pairs for each "
        f"of {summary['passages']} passages ({asked}); {summary['kept']} passed the checks and were trained "
        f"on{alone}; dropped: {dropped}. Every pair, kept or not: {summary['file']}"
    )
