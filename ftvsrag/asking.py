"""Asking an arm its questions through the cached answering stage: the prompt each question gets
(closed book or over retrieved passages), which adapter answers it (per cross-fitting fold), and
answers cut at the generation limit asked again with a longer one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ftvsrag.eval.answering import ANSWER, AnswerInputs, AnswerRuntime
from ftvsrag.eval.arms import ARMS, READER_ADAPTER, Arm
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.probe import accepted_answers
from ftvsrag.eval.questions import Question
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.rag.prompts import closed_book_messages, rag_messages
from ftvsrag.stages import StageCache

if TYPE_CHECKING:
    from ftvsrag.pipeline import Setup


class AdapterKey(NamedTuple):
    adapter: str
    seed: int
    fold: int | None = None
    """The cross-fitting fold a reader was trained without (None: no cross-fitting)."""


def retriever_of(arm: Arm, config: ExperimentConfig) -> str:
    return config.reader.retriever if arm.adapter == READER_ADAPTER else config.rag.retriever


def retrievers_needed(config: ExperimentConfig) -> list[str]:
    arms = [ARMS[name] for name in config.eval.arms]
    return sorted({retriever_of(arm, config) for arm in arms if arm.uses_retrieval})


def arm_retrievers(config: ExperimentConfig) -> dict[str, str]:
    arms = [ARMS[name] for name in config.eval.arms]
    return {arm.name: retriever_of(arm, config) for arm in arms if arm.uses_retrieval}


@dataclass(frozen=True)
class Asker:
    """Asks one arm one list of questions through the cached answering stage."""

    config: ExperimentConfig
    setup: Setup
    cache: StageCache
    runtime: AnswerRuntime
    adapter_sha: dict[AdapterKey, str]
    document_of: dict[str, str]
    """Each passage's document."""
    folds: dict[int, dict[str, int]]
    """Per seed, each question's cross-fitting fold: its reader was trained on the other folds."""

    def ask(
        self, arm: Arm, seed: int, questions: list[Question], contexts: dict, probe: bool = False
    ) -> list[AnswerRecord]:
        retriever = retriever_of(arm, self.config) if arm.uses_retrieval else None
        ranked = contexts.get(retriever, [()] * len(questions))
        found = [hits[: self.config.rag.k] for hits in ranked]
        conversations = [
            rag_messages(q.text, [text for _, text in hits]) if retriever else self.closed_book(q, probe)
            for q, hits in zip(questions, found, strict=True)
        ]
        limit = self.config.eval.probe_max_new_tokens if probe else self.config.eval.max_new_tokens
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
                retriever=retriever,
                retrieved_ids=[passage_id for passage_id, _ in hits],
                retrieved_texts=[text for _, text in hits],
                retrieved_documents=[self.document_of[passage_id] for passage_id, _ in ranking],
            ).scored()
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
        cut at `limit` are asked again up to `eval.retry_cut_answers` tokens (greedy decoding repeats
        the same start), so that a limit does not score an answer wrong before it reaches its point."""
        everyone = list(range(len(questions)))
        results = self.generate(arm, seed, questions, conversations, everyone, limit, probe)
        longer = 0 if probe else self.config.eval.retry_cut_answers  # the probe keeps its own limit
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
        """The answers at `positions` through the cached answering stage. A cross-fitted reader
        answers each fold's questions with the adapter trained without them."""
        fold_of = self.folds.get(seed, {}) if arm.adapter == READER_ADAPTER else {}
        groups: dict[int | None, list[int]] = {}
        for position in positions:
            groups.setdefault(fold_of.get(questions[position].fact_id), []).append(position)
        label = f"{'probe' if probe else 'answer'}:{arm.name}"
        results: dict[int, tuple[str, int, int]] = {}
        for fold, members in groups.items():
            adapter = self.adapter_sha[AdapterKey(arm.adapter, seed, fold)] if arm.adapter else None
            inputs = AnswerInputs(
                self.setup.model.model_id, adapter, [conversations[p] for p in members], limit
            )
            detail = f"{questions[0].split}, seed {seed}" + (f", fold {fold}" if fold is not None else "")
            detail += f", {len(members)} cut answers up to {limit} tokens" if retry else ""
            out = self.cache.run(ANSWER, label, inputs, self.runtime, detail).output
            for position, *answer in zip(
                members, out.texts, out.prompt_tokens, out.generated_tokens, strict=True
            ):
                results[position] = tuple(answer)
        return results

    def closed_book(self, question: Question, probe: bool) -> list[dict[str, str]]:
        """The blog asked its fine-tune with its own instruction prompt; 'training' asks in the
        training format. The probe keeps its own plain wording."""
        if probe or self.config.eval.closed_book_prompt == "training":
            return question.messages()
        return closed_book_messages(question.text)
