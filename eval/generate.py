"""Batched greedy generation: left padding, KV cache, similar lengths batched together, and the
prompts' shared beginning computed once."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftvsrag.train.model import padding_side

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MIN_SHARED_PREFIX = 8
"""Shorter shared beginnings are not worth a cache copy per batch."""


def default_batch_size(device: str) -> int:
    return 64 if device.startswith("cuda") else 32


@dataclass(frozen=True)
class Generation:
    texts: list[str]
    prompt_tokens: list[int]


def shared_prefix_length(token_lists: list[list[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one token to feed the model."""
    if not token_lists:
        return 0
    first, limit = token_lists[0], min(len(ids) for ids in token_lists) - 1
    length = 0
    while length < limit and all(ids[length] == first[length] for ids in token_lists):
        length += 1
    return length


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[list[dict[str, str]]],
    batch_size: int,
    max_new_tokens: int,
    desc: str,
) -> Generation:
    """Greedy answers to each conversation, in input order, with each prompt's length in tokens.

    The prompts of one arm share their start (system prompt, chat markup, the RAG instruction: 54 of
    the RAG prompt's ~195 tokens). That start runs through the model once; each batch continues from
    a copy of its KV cache, the rest of each prompt padded on the left of its own part.
    """
    import torch
    from tqdm.auto import tqdm

    prompts = [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations
    ]
    token_lists = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    shared = shared_prefix_length(token_lists)
    if len(prompts) < 2 or shared < MIN_SHARED_PREFIX:
        shared = 0
    model.eval()
    prefix = torch.tensor([token_lists[0][:shared]], dtype=torch.long)
    prefix_cache = None
    if shared:
        with torch.inference_mode():
            prefix_cache = model(input_ids=prefix.to(model.device), use_cache=True).past_key_values

    # Longest first: similar lengths share a batch (less padding) and memory peaks at the start.
    order = sorted(range(len(prompts)), key=lambda i: -len(token_lists[i]))
    answers: list[str] = [""] * len(prompts)
    with padding_side(tokenizer, "left"), tqdm(total=len(prompts), desc=desc, unit="q") as progress:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            rest = tokenizer.pad({"input_ids": [token_lists[i][shared:] for i in batch]}, return_tensors="pt")
            inputs = {
                "input_ids": torch.cat([prefix.expand(len(batch), -1), rest["input_ids"]], dim=1),
                "attention_mask": torch.cat(
                    [torch.ones(len(batch), shared, dtype=torch.long), rest["attention_mask"]], dim=1
                ),
            }
            inputs = {name: tensor.to(model.device) for name, tensor in inputs.items()}
            if prefix_cache is not None:
                inputs["past_key_values"] = copy.deepcopy(prefix_cache)
                inputs["past_key_values"].batch_repeat_interleave(len(batch))
            with torch.inference_mode():
                generated = model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new_tokens = generated[:, inputs["input_ids"].shape[1] :]
            for i, text in zip(
                batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True
            ):
                answers[i] = text.strip()
            progress.update(len(batch))
    return Generation(answers, [len(ids) for ids in token_lists])
