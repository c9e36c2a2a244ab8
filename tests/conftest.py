from __future__ import annotations

import multiprocessing.process
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

SLOW = "slow"
"""The marker of a test that loads a model or a tokenizer, builds a torch module (a tiny model, an
embedder) or starts a process: `make test-fast` (pytest -m "not slow") leaves it out."""
QUICK_PROGRAMS = {"git", "fc-list"}
"""Programs a model-free test may run: the manifest reads the commit with git, and matplotlib's first
import on a machine lists its fonts with fc-list (a chart drawn before any font cache exists)."""


class TierViolation(BaseException):
    """A test outside the slow tier did slow work. A BaseException, so that code under test which
    catches Exception cannot swallow it."""


@pytest.fixture(autouse=True)
def _fast_tier_stays_model_free(request):
    """Every test not marked slow runs with models, tokenizers, torch modules and new processes
    refused, so the fast tier holds only what it claims to hold."""
    if request.node.get_closest_marker(SLOW):
        yield
        return
    refused: list[str] = []
    with heavy_work_refused(refused):
        yield
    if refused:
        pytest.fail(f"{refused[0]}: mark the test @pytest.mark.slow (make test-fast leaves those out)")


@contextmanager
def heavy_work_refused(refused: list[str]):
    import torch
    from transformers import AutoTokenizer

    # Importing the trainer's integrations builds an activation module: the library's work, not the test's.
    from transformers.integrations import get_available_reporting_integrations  # noqa: F401
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    def refuse(what: str):
        refused.append(what)
        raise TierViolation(what)

    real_popen = subprocess.Popen.__init__

    def popen(self, args, *rest, **kwargs):
        program = Path(str(args if isinstance(args, (str, bytes)) else args[0]).split()[0]).name
        if program not in QUICK_PROGRAMS:
            refuse(f"this test starts a process ({program})")
        return real_popen(self, args, *rest, **kwargs)

    def module(self, *args, **kwargs):
        refuse(f"this test builds a torch module ({type(self).__name__})")

    def tokenizer(cls, *args, **kwargs):
        refuse("this test loads a tokenizer")

    def process(self):
        refuse("this test starts a process (multiprocessing)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "__init__", popen)
        patch.setattr(multiprocessing.process.BaseProcess, "start", process)
        patch.setattr(torch.nn.Module, "__init__", module)
        patch.setattr(PreTrainedTokenizerBase, "from_pretrained", classmethod(tokenizer))
        patch.setattr(AutoTokenizer, "from_pretrained", classmethod(tokenizer))
        yield


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
