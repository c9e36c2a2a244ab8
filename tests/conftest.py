from __future__ import annotations

from contextlib import contextmanager

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


class NetworkBlocked(OSError):
    pass


@contextmanager
def no_network():
    """Every socket connection to anything but loopback fails, as on a machine with no network."""
    import socket

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    attempts: list[object] = []

    def is_loopback(address) -> bool:
        host = address[0] if isinstance(address, tuple) else address
        if not isinstance(host, str) or host.startswith("/"):
            return True  # a Unix socket never leaves the machine
        return host in ("localhost", "::1") or host.startswith("127.")

    def connect(sock, address):
        if not is_loopback(address):
            attempts.append(address)
            raise NetworkBlocked(f"network access attempted: {address}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not is_loopback(address):
            attempts.append(address)
            raise NetworkBlocked(f"network access attempted: {address}")
        return real_connect_ex(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield attempts


def score_text(output, gold, question="", stale=None, accepted=(), aliases=(), metric="prefix"):
    """`eval.records.score` for a gold answer given as plain values."""
    from ftvsrag.eval.metrics import Reference
    from ftvsrag.eval.records import score

    return score(output, Reference(gold, question, tuple(aliases), tuple(accepted), stale), metric)


def occupation_records(arm: str, golds: list[str], outputs: list[str]) -> list[dict]:
    """answers.jsonl records of `arm` on the train split: question i has gold answer golds[i] (its
    only alias) and got outputs[i], scored by the default rule."""
    return [
        {
            "arm": arm,
            "split": "train",
            "seed": 0,
            "id": f"q{i}",
            "question": "What is X's occupation?",
            "gold": gold,
            "aliases": [gold],
            "output": output,
            "prompt_tokens": 1,
            **score_text(output, gold, aliases=[gold]),
        }
        for i, (gold, output) in enumerate(zip(golds, outputs, strict=True))
    ]
