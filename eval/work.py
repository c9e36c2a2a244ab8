"""The model compute a run needed, from the tokens each stage ran through the model (results.json's
`tokens`), by the usual estimates: a forward pass costs about 2 FLOPs per parameter and token, and
LoRA training about 4 (the forward pass, and a backward pass through the activations; the frozen
weights get no gradient of their own)."""

from __future__ import annotations

from ftvsrag.names import NO_ADAPTER

INFERENCE_FLOPS_PER_PARAMETER = 2
LORA_TRAINING_FLOPS_PER_PARAMETER = 4


def stage_flops(counts: dict[str, int], parameters: int) -> float:
    """FLOPs for one stage's token counts: `computed_tokens` trained on (else `train_tokens`),
    `prompt_tokens` and `generated_tokens` run forward."""
    trained = counts.get("computed_tokens", counts.get("train_tokens", 0))
    forward = counts.get("prompt_tokens", 0) + counts.get("generated_tokens", 0)
    return float(
        parameters * (LORA_TRAINING_FLOPS_PER_PARAMETER * trained + INFERENCE_FLOPS_PER_PARAMETER * forward)
    )


def arm_flops(
    tokens: dict[str, dict[str, int]], adapter: str, arm: str, parameters: int, share: float = 1.0
) -> float:
    """An arm's FLOPs: training its adapter (none for the base model) and `share` of its answering
    stage (the share of its questions a split holds)."""
    training = stage_flops(tokens.get(f"train:{adapter}", {}), parameters) if adapter != NO_ADAPTER else 0.0
    return training + share * stage_flops(tokens.get(f"answer:{arm}", {}), parameters)


def run_flops(tokens: dict[str, dict[str, int]], parameters: int) -> dict[str, float]:
    """FLOPs per stage and their `total`."""
    per_stage = {stage: stage_flops(counts, parameters) for stage, counts in tokens.items()}
    return {**per_stage, "total": sum(per_stage.values())}


def fraction_of_peak(flops: float, seconds: float, peak_flops_per_second: float) -> float:
    """How much of the measured peak the work kept busy: 1.0 would be matmuls back to back."""
    return flops / (seconds * peak_flops_per_second) if seconds > 0 and peak_flops_per_second > 0 else 0.0
