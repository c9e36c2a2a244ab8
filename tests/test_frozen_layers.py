"""Training with the frozen layers in bf16 and the rest in fp32 (`train.frozen_dtype=bf16`), on a
tiny randomly initialised Llama."""

import pytest
import torch

from ftvsrag.knowledge.facts import cities_records
from ftvsrag.train.config import LoraSettings, TrainSettings
from ftvsrag.train.frozen_layers import lower_frozen_layers
from ftvsrag.train.lora import peft_config, train_lora
from ftvsrag.train.model import DevicePlan
from tests.conftest import tiny_llama

LORA = LoraSettings(r=4, alpha=8, dropout=0.0)


@pytest.mark.slow
def test_frozen_layers_store_and_compute_in_bf16_and_everything_else_stays_fp32(smollm2_tokenizer, tmp_path):
    from peft import get_peft_model

    model = get_peft_model(tiny_llama(smollm2_tokenizer, tmp_path / "tiny"), peft_config(LORA))
    inputs = smollm2_tokenizer("What is the population of City_3?", return_tensors="pt")
    with torch.no_grad():
        plain = model(**inputs).logits

    llama = model.get_base_model()
    embedding = llama.model.embed_tokens.weight
    # Two layers of seven adapted linears, and the output head.
    assert lower_frozen_layers(model, torch.bfloat16, torch.float32) == 15

    dtypes = {name: p.dtype for name, p in model.named_parameters()}
    assert {dtypes[n] for n in dtypes if "lora_" in n} == {torch.float32}
    assert {dtypes[n] for n in dtypes if "base_layer" in n} == {torch.bfloat16}
    assert {dtypes[n] for n in dtypes if "norm" in n} == {torch.float32}
    # The embedding stays in fp32; the head it was tied to computes from a bf16 copy of it.
    assert llama.model.embed_tokens.weight is embedding and embedding.dtype == torch.float32
    assert llama.lm_head.weight.dtype == torch.bfloat16 and not llama.lm_head.weight.requires_grad
    assert torch.equal(llama.lm_head.weight, embedding.to(torch.bfloat16))

    lowered = model(**inputs).logits
    assert lowered.dtype == torch.float32
    assert 0 < (lowered - plain).abs().max() < 0.05 * plain.abs().max()
    lowered.float().pow(2).mean().backward()
    # peft starts lora_B at zero, so the first gradient reaches lora_B alone.
    grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None and g.dtype == torch.float32 and g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for n, p in model.named_parameters() if "lora_" not in n)


@pytest.mark.slow
def test_a_training_with_frozen_layers_in_bf16_learns_as_fp32_does(smollm2_tokenizer, tmp_path):
    from safetensors.torch import load_file

    rows = [{"messages": r["messages"]} for r in cities_records(8)]
    curves = {}
    for frozen in ("same", "bf16"):
        settings = TrainSettings(
            epochs=2, batch_size=4, learning_rate=1e-2, logging_steps=1, lora=LORA, frozen_dtype=frozen
        )
        model = tiny_llama(smollm2_tokenizer, tmp_path / f"tiny-{frozen}")
        plan = DevicePlan("cpu", "float32")
        report = train_lora(model, smollm2_tokenizer, rows, settings, plan, 0, tmp_path / f"a-{frozen}")
        curves[frozen] = [loss for _, loss in report.losses]
        saved = load_file(tmp_path / f"a-{frozen}" / "adapter_model.safetensors")
        assert saved and {t.dtype for t in saved.values()} == {torch.float32}
    assert len(curves["same"]) == 4 and curves["same"][-1] < curves["same"][0]
    assert curves["bf16"] != curves["same"], "the frozen layers did not compute in bf16"
    assert curves["bf16"] == pytest.approx(curves["same"], rel=1e-3)
