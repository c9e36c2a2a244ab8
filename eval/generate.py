"""Batched greedy generation: left padding, KV cache, similar lengths batched together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ftvsrag.train.model import padding_side

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def default_batch_size(device: str) -> int:
    return 64 if device.startswith("cuda") else 32


@dataclass(frozen=True)
class Generation:
    texts: list[str]
    prompt_tokens: list[int]


def generate_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[list[dict[str, str]]],
    batch_size: int,
    max_new_tokens: int,
    desc: str,
) -> Generation:
    """Greedy answers to each conversation, in input order, with each prompt's length in tokens."""
    import torch
    from tqdm.auto import tqdm

    prompts = [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations
    ]
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    # Longest first: similar lengths share a batch (less padding) and memory peaks at the start.
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    answers: list[str] = [""] * len(prompts)
    model.eval()
    with padding_side(tokenizer, "left"), tqdm(total=len(prompts), desc=desc, unit="q") as progress:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = tokenizer(
                [prompts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(model.device)
            with torch.inference_mode():
                generated = model.generate(
                    **encoded,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new_tokens = generated[:, encoded["input_ids"].shape[1] :]
            for i, text in zip(
                batch, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True
            ):
                answers[i] = text.strip()
            progress.update(len(batch))
    return Generation(answers, lengths)
