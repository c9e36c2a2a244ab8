"""The dry run's speed probe: measured on a model of the run's architecture, with the run's LoRA settings."""

import math

import pytest
import torch

from ftvsrag.throughput import MANY_ROWS, PROMPT_SHAPE, measure_throughput
from ftvsrag.train.config import LoraSettings
from ftvsrag.train.model import DevicePlan, model_parameters, model_with_random_weights
from tests.conftest import tiny_llama


@pytest.mark.slow
def test_the_probe_times_prompts_decoding_and_training_with_the_runs_lora(smollm2_tokenizer, tmp_path):
    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny").eval()
    asked: list[tuple[tuple, object]] = []  # (input shape, logits_to_keep) of each call

    def record(module, args, kwargs):
        asked.append((tuple(kwargs["input_ids"].shape), kwargs.get("logits_to_keep")))

    model.register_forward_pre_hook(record, with_kwargs=True)

    speed = measure_throughput(model, LoraSettings(r=4, target_modules=["q_proj"]), torch.float32)

    figures = [speed.prompt_tokens_per_s, speed.train_tokens_per_s, *(s for _, s in speed.decode_step_s)]
    assert all(math.isfinite(f) and f > 0 for f in figures)
    assert [rows for rows, _ in speed.decode_step_s] == [PROMPT_SHAPE[0], MANY_ROWS]
    # Prompt passes, like generate's, project only the last position onto the vocabulary.
    assert [keep for shape, keep in asked if shape == PROMPT_SHAPE] == [1, 1]
    trained = {name for name, p in model.named_parameters() if p.grad is not None}
    assert trained == {
        f"model.layers.{i}.self_attn.q_proj.lora_{m}.default.weight" for i in (0, 1) for m in "AB"
    }


@pytest.mark.slow
def test_the_probe_model_has_the_architecture_without_reading_its_weights(smollm2):
    probe = model_with_random_weights(smollm2, DevicePlan("cpu", "float32"))

    assert sum(p.numel() for p in probe.parameters()) == model_parameters(smollm2)
    assert probe.config.num_hidden_layers == 30 and not probe.training
