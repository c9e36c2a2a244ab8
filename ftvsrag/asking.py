"""Asking an arm its questions through the cached answering stage: the prompt each question gets
(closed book or over retrieved passages), which adapter answers it (per cross-fitting fold), and
answers cut at the generation limit asked again with a longer one."""

from __future__ import annotations

from dataclasses import dataclass

from ftvsrag.adapters import AdapterKey, Adapters, answering_key
from ftvsrag.arms import Arm
from ftvsrag.config import ExperimentConfig
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.generation.answering import ANSWER, AnswerInputs, AnswerRuntime
from ftvsrag.knowledge.probe import accepted_answers
from ftvsrag.knowledge.questions import Question
from ftvsrag.rag.prompts import PROMPTS
from ftvsrag.stages import StageCache

Contexts = dict[str, list[list[tuple[str, str]]]]
"""Per retriever, each question's retrieved (passage id, text), deep enough for every arm's k."""


@dataclass(frozen=True)
class AskSettings:
    max_new_tokens: int
    retry_cut_answers: int
    probe_max_new_tokens: int
    metric: str
    recall_depth: int
    """How much of each ranking a record keeps for recall: rag.k or 5, whichever is more, whatever
    other arms retrieve (so an added arm never moves the recall figures)."""

    @classmethod
    def of(cls, config: ExperimentConfig, recall_depth: int) -> AskSettings:
        settings = config.eval
        return cls(
            settings.max_new_tokens,
            settings.retry_cut_answers,
            settings.probe_max_new_tokens,
            settings.metric,
            max(config.rag.k, recall_depth),
        )


@dataclass(frozen=True)
class Asker:
    """Asks one arm one list of questions through the cached answering stage."""

    settings: AskSettings
    model_id: tuple[str, str, str]
    cache: StageCache
    runtime: AnswerRuntime
    adapters: Adapters
    document_of: dict[str, str]
    """Each passage's document."""

    def ask(
        self, arm: Arm, seed: int, questions: list[Question], contexts: Contexts, probe: bool = False
    ) -> list[AnswerRecord]:
        ranked = contexts[arm.retriever] if arm.retrieves else [[] for _ in questions]
        found = [hits[: arm.k] for hits in ranked]
        build = PROMPTS.get(arm.prompt).build
        conversations = [
            build(q.text, q.system, [text for _, text in hits])
            for q, hits in zip(questions, found, strict=True)
        ]
        limit = self.settings.probe_max_new_tokens if probe else self.settings.max_new_tokens
        answers = self.answers(arm, seed, questions, conversations, limit, probe)
        return [
            AnswerRecord(
                arm=arm.name,
                split=q.split,
                seed=seed,
                id=q.fact_id,
                question=q.text,
                gold=q.gold,
                messages=messages,
                output=text,
                prompt_tokens=tokens,
                stale_gold=q.stale,
                accepted=list(accepted_answers(q.fact_id)) if probe else [],
                aliases=list(q.aliases),
                gold_documents=list(q.gold_documents),
                truncated=cut,
                extra=dict(q.extra),
                retriever=arm.retriever if arm.retrieves else None,
                retrieved_ids=[passage_id for passage_id, _ in hits],
                retrieved_texts=[text for _, text in hits],
                retrieved_documents=[
                    self.document_of[passage_id] for passage_id, _ in ranking[: self.settings.recall_depth]
                ],
            ).scored(self.settings.metric)
            for q, messages, (text, tokens, _generated, cut), hits, ranking in zip(
                questions, conversations, answers, found, ranked, strict=True
            )
        ]

    def answers(
        self,
        arm: Arm,
        seed: int,
        questions: list[Question],
        conversations: list[list[dict[str, str]]],
        limit: int,
        probe: bool,
    ) -> list[tuple[str, int, int, bool]]:
        """(text, prompt tokens, generated tokens, cut at the limit) per question, in order. Answers
        cut at `limit` are asked again up to `retry_cut_answers` tokens (greedy decoding repeats the
        same start), so that a limit does not score an answer wrong before it reaches its point."""
        everyone = list(range(len(questions)))
        results = self.generate(arm, seed, questions, conversations, everyone, limit, probe)
        longer = 0 if probe else self.settings.retry_cut_answers  # the probe keeps its own limit
        limits = dict.fromkeys(everyone, limit)
        cut = [p for p in everyone if results[p][2] >= limit]
        if cut and longer > limit:
            results |= self.generate(arm, seed, questions, conversations, cut, longer, probe, retry=True)
            limits |= dict.fromkeys(cut, longer)
        return [
            (text, tokens, generated, generated >= limits[p])
            for p, (text, tokens, generated) in sorted(results.items())
        ]

    def generate(
        self,
        arm: Arm,
        seed: int,
        questions: list[Question],
        conversations: list[list[dict[str, str]]],
        positions: list[int],
        limit: int,
        probe: bool,
        retry: bool = False,
    ) -> dict[int, tuple[str, int, int]]:
        """The answers at `positions` through the cached answering stage, each question answered by
        its adapter (a cross-fitted one: the adapter trained without it)."""
        groups: dict[AdapterKey | None, list[int]] = {}
        for position in positions:
            groups.setdefault(self.adapter_of(arm, seed, questions[position]), []).append(position)
        label = f"{'probe' if probe else 'answer'}:{arm.name}"
        results: dict[int, tuple[str, int, int]] = {}
        for key, members in groups.items():
            inputs = AnswerInputs(
                self.model_id,
                self.adapters[key].sha256 if key else None,
                [conversations[p] for p in members],
                limit,
            )
            fold = key.fold if key else None  # a cross-fitted adapter's fold
            detail = f"{questions[0].split}, seed {seed}" + (f", fold {fold}" if fold is not None else "")
            detail += f", {len(members)} cut answers up to {limit} tokens" if retry else ""
            out = self.cache.run(ANSWER, label, inputs, self.runtime, detail).output
            for position, *answer in zip(
                members, out.texts, out.prompt_tokens, out.generated_tokens, strict=True
            ):
                results[position] = tuple(answer)
        return results

    def adapter_of(self, arm: Arm, seed: int, question: Question) -> AdapterKey | None:
        """Which adapter answers `question` in `arm` (None: the base model)."""
        return answering_key(self.adapters, arm.adapter, seed, question.fact_id) if arm.adapted else None
