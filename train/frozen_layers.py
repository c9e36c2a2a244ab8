"""The frozen layers of a LoRA training in a lower precision than the rest.

A LoRA training's matmuls are mostly the frozen base's linear layers. On a CPU with native bf16 they
run faster in bf16, but a model trained wholly in bf16 also keeps its residual stream, norms and
attention in bf16, and that changed what the fine-tune learnt (`bench/train_dtype.py`). Here only
the frozen layers' weights and matmuls are lowered; each layer's output returns to the activations'
dtype, so everything else, the LoRA weights and their optimiser state included, stays as it was.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def lower_frozen_layers(model: torch.nn.Module, frozen: torch.dtype, activations: torch.dtype) -> int:
    """Store and compute every linear layer of `model` that trains none of its own weights in
    `frozen`, its input cast to `frozen` and its output to `activations`; returns how many were
    lowered. Embeddings stay as they are: their output is the residual stream itself, and lowering
    them as well moved the loss several times as far as the linear layers alone (README, Speed).
    A linear layer that shares its weight with an embedding (a tied output head) gets a lowered
    copy of its own, so the model is no longer tied: train it, save its adapter, never save it whole."""
    import torch

    embedded = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    lowered = 0
    for module in model.modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if any(p.requires_grad for p in module.parameters(recurse=False)):
            continue
        if id(module.weight) in embedded:
            module.weight = torch.nn.Parameter(module.weight.detach().to(frozen), requires_grad=False)
        module.to(frozen)
        module.register_forward_pre_hook(partial(_input_in, frozen))
        module.register_forward_hook(partial(_output_in, activations))
        lowered += 1
    return lowered


def _input_in(dtype: torch.dtype, module, args):
    return (args[0].to(dtype), *args[1:])


def _output_in(dtype: torch.dtype, module, args, output):
    return output.to(dtype)
