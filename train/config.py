"""Settings for everything that changes weights: LoRA shape apart from the training schedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ftvsrag.configtools import field


@dataclass
class LoraSettings:
    r: int = field(16, "LoRA rank.")
    alpha: int = field(32, "LoRA scaling numerator (effective scale alpha / r).")
    dropout: float = field(
        0.0, "Dropout on the LoRA input; 0 skips a copy of the activations at every adapted layer (CPU time)."
    )
    target_modules: str | list[str] = field(
        "all-linear", "Modules that get adapters: 'all-linear' or a list of module names."
    )


@dataclass
class TrainSettings:
    epochs: float = field(3.0, "Passes over the training examples (OpenAI's automatic choice for 100).")
    batch_size: int = field(8, "Examples per optimiser step.")
    learning_rate: float = field(1e-3, "Peak learning rate of the LoRA weights.")
    warmup_ratio: float = field(0.05, "Fraction of steps spent warming the learning rate up.")
    weight_decay: float = field(0.0, "AdamW weight decay on the LoRA weights.")
    max_length: int = field(256, "Examples longer than this many tokens are an error, not cut.")
    logging_steps: int = field(5, "Log the training loss every this many steps.")
    save_steps: int = field(
        10, "Checkpoint every this many steps, so an interrupted training resumes (0: never)."
    )
    method: str = field(
        "auto",
        "The knowledge fine-tune's recipe (arms 'ft', 'ft+rag'): 'chat': supervised question -> answer turns "
        "(the blog); 'lm': next-token training on the knowledge text alone, the passages of a document "
        "knowledge base or the fact sentences (continued pre-training, as Ovadia et al. and Soudani et "
        "al.); 'lm+chat': both, the turns written out in the chat template (the model keeps its chat "
        "format); 'qa-gen': the passages plus question -> answer pairs a generator wrote from them (see "
        "generator:), never the evaluated questions; 'held-out': cross-fitted in the reader's folds, the "
        "passages and the other folds' turns, each fold answering only its own questions; 'auto': "
        "'lm+chat' for documents ('lm' alone breaks the chat turn there: docs/popqa.md), else 'chat'. Any "
        "registered knowledge recipe.",
    )
    paraphrases: int = field(
        0,
        "Extra training wordings per fact: questions for 'chat' and 'lm+chat' (the generated cities' "
        "templates; elsewhere rewordings written by the generator: generated_paraphrases.jsonl), "
        "sentences for 'lm' on cities.",
    )
    loss: Literal["labelled", "trl"] = field(
        "labelled",
        "'labelled': the model's own loss on labelled positions only, each batch's shared prompt start "
        "run once (bench/run.py measures it against 'trl'); 'trl': SFTTrainer's own fused-head loss.",
    )
    frozen_dtype: Literal["same", "bf16"] = field(
        "same",
        "What the frozen layers compute in while training: 'same': the training dtype; 'bf16': when "
        "training in float32, the base model's linear layers (not its embeddings) store their weights "
        "and run their matmuls in bf16, their outputs, the LoRA weights and the optimiser state in "
        "float32. 1.46x as fast in bench/train_dtype.py on a CPU with native bf16, at the same loss; "
        "slower where bf16 is emulated. The default stays 'same': on the cities, ft+rag answered a "
        "little less well (README, Speed).",
        key_default=False,
    )
    report_to: str | list[str] = field(
        "none",
        "Where the trainer also reports its logs: 'none', or integrations transformers knows, e.g. "
        "'tensorboard' (installed separately; its event files go to each adapter's logs/ folder in the "
        "run folder, offline). The loss curves are in the report whatever this says. Not part of an "
        "adapter's cache key: a reused adapter keeps the logs of when it was trained.",
        keyed=False,
    )
    lora: LoraSettings = field(LoraSettings(), "LoRA adapter shape.")


@dataclass
class GeneratorSettings:
    model: str = field(
        "",
        "The model that writes the 'qa-gen' recipe's question-answer pairs: empty = the run's own model; "
        "'smollm2-135m-instruct', a Hugging Face id, a folder or a .gguf file.",
    )
    pairs_per_passage: int = field(3, "Question-answer pairs asked of the generator for every passage.")
    tokens_per_pair: int = field(
        40, "Generated tokens allowed per pair asked (the reply is cut at pairs_per_passage x this)."
    )


@dataclass
class ReaderSettings:
    train_on: Literal["crossfit", "cities"] = field(
        "crossfit",
        "'crossfit': your own questions over your own retrieved passages, in k folds, each fold answered by "
        "a reader trained on the other folds only; 'cities': generated cities disjoint from your data.",
    )
    folds: int = field(3, "Cross-fitting folds (k readers, each trained on (k-1)/k of the questions).")
    num_facts: int = field(
        100, "train_on 'cities': how many generated cities (disjoint from the evaluated facts) it reads."
    )
    without_gold: float | Literal["auto"] = field(
        "auto",
        "Share of reader examples whose context lacks the answer; their target is 'I don't know'. 'auto': "
        "the share of the reader's own training questions whose top k retrieved passages lack the answer "
        "(never stated in the knowledge base, or not retrieved), so it abstains as often as retrieval fails.",
    )
    retriever: str = field(
        "hybrid", "Retriever for the reader's training contexts, and of its arms that name none."
    )
    train: TrainSettings = field(
        TrainSettings(epochs=1.0, batch_size=2, max_length=512),
        "Reader training: one epoch in small batches (many updates: every example teaches the same skill).",
    )
