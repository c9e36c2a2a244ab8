"""This machine's limits, measured: the matmul peak in each dtype, the memory bandwidth, and how
fast greedy decoding steps against the bound of reading the weights once per step."""

from __future__ import annotations

import time

MATMUL_SIZE = 2048
PEAK_DTYPES = ("float32", "bfloat16")


def matmul_gflops(device: str, dtype_name: str, size: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """Best of `repeats` plain `a @ b` on square matrices in one dtype, GFLOP/s."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for attempt in range(repeats + 2):
        _synchronize(device)
        started = time.perf_counter()
        a @ b
        _synchronize(device)
        if attempt >= 2:  # the first calls warm up threads and caches
            best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def matmul_peaks(device: str) -> dict[str, float]:
    """The fp32 and bf16 peaks, GFLOP/s."""
    return {name: round(matmul_gflops(device, name), 1) for name in PEAK_DTYPES}


def memory_gbps(device: str, megabytes: int = 256, repeats: int = 5) -> float:
    """Best copy rate of a large buffer, GB/s (bytes read plus bytes written)."""
    import torch

    source = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device).fill_(1)
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        _synchronize(device)
        started = time.perf_counter()
        target.copy_(source)
        _synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2 * source.numel() / best / 1e9


def decode_rate(model, tokenizer, conversations: list, steps: int, bandwidth_gbps: float) -> dict:
    """Greedy decoding steps per second for one batch of `conversations` as a run decodes them
    (the prompts' shared start computed once; every row made to run the `steps`, the prompt's own
    pass taken off), against the bound of streaming the weights from memory once
    per step, and the generated tokens per second that makes."""
    import torch

    from ftvsrag.generation.generate import SharedStart, prompt_tokens
    from ftvsrag.train.model import padding_side

    rows = prompt_tokens(tokenizer, conversations)
    start = SharedStart.of(model, rows)

    def seconds(new_tokens: int) -> float:
        with padding_side(tokenizer, "left"):
            inputs = start.batch_inputs(tokenizer, rows, model.device)
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                **inputs,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        return time.perf_counter() - started

    seconds(2)  # warm up
    step_s = (seconds(steps + 1) - seconds(1)) / steps
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bound_steps = bandwidth_gbps * 1e9 / weight_bytes
    return {
        "batch": len(conversations),
        "steps_per_s": round(1 / step_s, 2),
        "generated_tokens_per_s": round(len(conversations) / step_s, 1),
        "weights_gb": round(weight_bytes / 1e9, 3),
        "bound_steps_per_s": round(bound_steps, 2),
        "fraction_of_bound": round(1 / step_s / bound_steps, 3),
    }


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
