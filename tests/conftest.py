from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smollm2():
    """The embedded model, converted once into the user cache (about 30 s the first time)."""
    from ftvsrag.train.model import resolve_model

    return resolve_model("smollm2-135m-instruct")


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2):
    from ftvsrag.train.model import load_tokenizer

    return load_tokenizer(smollm2)


def tiny_llama(tokenizer, folder):
    """A randomly initialised two-layer Llama with the real tokenizer: training in seconds."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return LlamaForCausalLM.from_pretrained(folder)
