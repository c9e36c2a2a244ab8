"""Batched greedy generation: left padding, KV cache, similar lengths batched together, and the
prompts' shared beginning computed once."""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftvsrag.team import SOLO, Team
from ftvsrag.train.model import padding_side

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MIN_SHARED_PREFIX = 8
"""Shorter shared beginnings are not worth a cache copy per batch."""


@dataclass(frozen=True)
class BatchLimits:
    """How many questions go into one `generate` call.

    Short closed-book prompts batch by the hundred (decoding is then cheaper per answer: the weights
    are read once per step for more rows); RAG prompts, ~7x longer, batch by the dozens, which keeps
    the KV cache and the attention scores small.
    """

    max_tokens: int
    """Padded prompt tokens in one batch."""
    max_questions: int


def batch_limits(device: str, batch_size: int = 0) -> BatchLimits:
    """A fixed `batch_size` caps the questions alone; 0 sizes batches by prompt length. On the 2-core
    CPU, closed-book prompts answered about a third faster in batches of ~110 than of 32, and RAG
    prompts no faster in batches of 64 than of 32 (prefill there is already bound by the matmuls)."""
    if batch_size:
        return BatchLimits(max_tokens=batch_size * 2**20, max_questions=batch_size)
    if device.startswith("cuda"):
        return BatchLimits(max_tokens=16384, max_questions=128)
    return BatchLimits(max_tokens=8192, max_questions=128)


def balanced_batches(count: int, longest: int, limits: BatchLimits) -> list[range]:
    """Consecutive batches of near-equal size within `limits` for `count` prompts of at most
    `longest` tokens: 100 prompts in three batches of 34, 33, 33 rather than 39, 39 and a small one
    that still decodes for as many steps as a full one."""
    if count == 0:
        return []
    cap = max(1, min(limits.max_questions, limits.max_tokens // max(longest, 1)))
    batches = math.ceil(count / cap)
    size, larger = divmod(count, batches)
    starts = [b * size + min(b, larger) for b in range(batches + 1)]
    return [range(start, end) for start, end in itertools.pairwise(starts)]


@dataclass(frozen=True)
class Generation:
    texts: list[str]
    prompt_tokens: list[int]
    generated_tokens: list[int]
    """Tokens each answer took, its end-of-turn token included, the padding after it not."""
    computed_prompt_tokens: int
    """Prompt tokens run through the model: the shared start once, then each prompt's own part."""


def shared_prefix_length(token_lists: list[list[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one token to feed the model."""
    if not token_lists:
        return 0
    first, limit = token_lists[0], min(len(ids) for ids in token_lists) - 1
    length = 0
    while length < limit and all(ids[length] == first[length] for ids in token_lists):
        length += 1
    return length


def shared_start_length(token_lists: list[list[int]]) -> int:
    """The tokens of the shared start that `generate_answers` runs once: none for a single prompt,
    or where the prompts share fewer than MIN_SHARED_PREFIX."""
    shared = shared_prefix_length(token_lists)
    return shared if len(token_lists) > 1 and shared >= MIN_SHARED_PREFIX else 0


def answer_batches(token_lists: list[list[int]], limits: BatchLimits) -> list[list[int]]:
    """The prompts' indices, batch by batch, as `generate_answers` answers them: longest first, so
    similar lengths share a batch (less padding) and memory peaks at the start."""
    order = sorted(range(len(token_lists)), key=lambda i: -len(token_lists[i]))
    longest = len(token_lists[order[0]]) if order else 0
    return [[order[p] for p in positions] for positions in balanced_batches(len(order), longest, limits)]


def padded_prompt_tokens(token_lists: list[list[int]], batches: list[list[int]], shared: int) -> int:
    """Prompt tokens `generate_answers` runs through the model: the shared start once, then each
    batch's own parts padded to its longest."""
    return shared + sum(len(b) * max(len(token_lists[i]) - shared for i in b) for b in batches)


@dataclass(frozen=True)
class SharedStart:
    """The tokens every prompt starts with, run through the model once, and their KV cache."""

    ids: list[int]
    cache: object | None

    @classmethod
    def of(cls, model: PreTrainedModel, token_lists: list[list[int]]) -> SharedStart:
        import torch

        shared = shared_start_length(token_lists)
        if not shared:
            return cls([], None)
        ids = token_lists[0][:shared]
        with torch.inference_mode():
            cache = model(input_ids=torch.tensor([ids], device=model.device), use_cache=True).cache
        return cls(ids, cache)

    def batch_inputs(self, tokenizer: PreTrainedTokenizerBase, rows: list[list[int]], device) -> dict:
        """`generate`'s inputs for prompts `rows`: their own parts padded on the left, after the
        shared start's tokens (and a copy of its cache, one row per prompt)."""
        import torch

        rest = tokenizer.pad({"input_ids": [ids[len(self.ids) :] for ids in rows]}, return_tensors="pt")
        start = torch.tensor([self.ids], dtype=torch.long).expand(len(rows), -1)
        inputs = {
            "input_ids": torch.cat([start, rest["input_ids"]], dim=1).to(device),
            "attention_mask": torch.cat(
                [torch.ones(len(rows), len(self.ids), dtype=torch.long), rest["attention_mask"]], dim=1
            ).to(device),
        }
        if self.cache is not None:
            inputs["cache"] = copy.deepcopy(self.cache)
            inputs["cache"].batch_repeat_interleave(len(rows))
        return inputs


def prompt_tokens(
    tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict[str, str]]]
) -> list[list[int]]:
    """Each conversation as the model is asked it: the chat template with the assistant's turn opened."""
    prompts = [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations
    ]
    return [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[list[dict[str, str]]],
    limits: BatchLimits,
    max_new_tokens: int,
    desc: str,
    team: Team = SOLO,
) -> Generation | None:
    """Greedy answers to each conversation, in input order, with each prompt's length in tokens.

    In a team, each process answers every `team.size`-th batch of the same batches one process
    would make (so the same answers, padding and all), and the leader gathers them; followers get None.

    The prompts of one arm share their start (system prompt, chat markup, the RAG instruction: 54 of
    the RAG prompt's ~195 tokens). That start runs through the model once; each batch continues from
    a copy of its KV cache, the rest of each prompt padded on the left of its own part.
    """
    from tqdm.auto import tqdm

    token_lists = prompt_tokens(tokenizer, conversations)
    model.eval()
    start = SharedStart.of(model, token_lists)
    stop_ids = _stop_token_ids(model, tokenizer)
    answered: dict[int, tuple[str, int]] = {}
    mine = answer_batches(token_lists, limits)[team.rank :: team.size]
    with (
        padding_side(tokenizer, "left"),
        tqdm(total=sum(map(len, mine)), desc=desc, unit="q", disable=not team.leads) as progress,
    ):
        for batch in mine:
            inputs = start.batch_inputs(tokenizer, [token_lists[i] for i in batch], model.device)
            new_tokens = greedy_generate(model, tokenizer, inputs, max_new_tokens)[
                :, inputs["input_ids"].shape[1] :
            ]
            texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            for i, text, row in zip(batch, texts, new_tokens.tolist(), strict=True):
                answered[i] = (text.strip(), answer_length(row, stop_ids))
            progress.update(len(batch))
    parts = team.gather(answered)
    if parts is None:
        return None
    for part in parts:
        answered |= part
    shared = len(start.ids)
    return Generation(
        [answered[i][0] for i in range(len(token_lists))],
        [len(ids) for ids in token_lists],
        [answered[i][1] for i in range(len(token_lists))],
        shared + sum(len(ids) - shared for ids in token_lists),
    )


def greedy_generate(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, inputs: dict, max_new_tokens: int
):
    """`model.generate` with greedy decoding (the sampling settings a model's generation config may
    carry switched off): prompt and answer tokens, one row per prompt."""
    import torch

    with torch.inference_mode():
        return model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            pad_token_id=tokenizer.pad_token_id,
        )


def answer_length(row: list[int], stop_ids: set[int]) -> int:
    """Tokens up to and including the first stop token (what follows is padding)."""
    for position, token in enumerate(row):
        if token in stop_ids:
            return position + 1
    return len(row)


def _stop_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    configured = model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, list) else [configured])
    return {i for i in ids | {tokenizer.eos_token_id, tokenizer.pad_token_id} if i is not None}
