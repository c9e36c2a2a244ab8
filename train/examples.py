"""Chat records -> tokenised training examples whose labels cover the assistant turn only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ftvsrag.errors import UserInputError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100
"""Label value that the loss skips (transformers' and PyTorch's convention)."""


def tokenize_chat(
    messages: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> dict[str, list[int]]:
    """Tokenise with the model's chat template; prompt tokens get IGNORE_INDEX labels.

    The prompt is the conversation up to the final assistant turn rendered with the generation
    prompt, which must be a token prefix of the full conversation: then exactly the answer (and the
    end-of-turn token that teaches the model to stop) carries labels.
    """
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("the last message of a training example must be the assistant's")
    prompt_ids = _ids(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True))
    full_ids = _ids(tokenizer.apply_chat_template(messages, tokenize=True))
    if full_ids[: len(prompt_ids)] != prompt_ids:
        raise UserInputError(
            "this model's chat template renders the prompt differently inside the full conversation, "
            "so the answer tokens cannot be located for label masking"
        )
    if len(full_ids) > max_length:
        raise UserInputError(
            f"a training example has {len(full_ids)} tokens, more than train.max_length={max_length}"
        )
    labels = [IGNORE_INDEX] * len(prompt_ids) + full_ids[len(prompt_ids) :]
    return {"input_ids": full_ids, "attention_mask": [1] * len(full_ids), "labels": labels}


def tokenize_text(text: str, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict[str, list[int]]:
    """Plain next-token training on a sentence (every token carries a label), ended by EOS so the
    model also learns where a fact stops."""
    ids = tokenizer(text, add_special_tokens=True)["input_ids"] + [tokenizer.eos_token_id]
    if len(ids) > max_length:
        raise UserInputError(
            f"a training text has {len(ids)} tokens, more than train.max_length={max_length}"
        )
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": list(ids)}


def tokenize_example(row: dict, tokenizer: PreTrainedTokenizerBase, max_length: int) -> dict[str, list[int]]:
    """A training row is either {"messages": [...]} (supervised chat) or {"text": "..."} (plain LM)."""
    if row.get("messages"):
        return tokenize_chat(row["messages"], tokenizer, max_length)
    return tokenize_text(row["text"], tokenizer, max_length)


def _ids(rendered) -> list[int]:
    # apply_chat_template returns a list, or a BatchEncoding, depending on the transformers version.
    return list(rendered["input_ids"] if hasattr(rendered, "keys") else rendered)
