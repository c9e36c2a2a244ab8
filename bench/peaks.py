"""This machine's limits, measured: the matmul peak in each dtype, the memory bandwidth, and how
fast greedy decoding steps against the bound of reading the weights once per step."""

from __future__ import annotations

import time

MATMUL_SIZE = 2048
PEAK_DTYPES = ("float32", "bfloat16")
PROBE_SIZE = 256
CALL_BUDGET_S = 1.0
"""The longest one timed matmul may take. A dtype the machine only emulates is far slower (bf16 on an
AVX2-only CPU: 1.2 GFLOP/s at 512 squared against fp32's 118): at 2048 squared the two peaks had not
been measured after five minutes, twice a benchmark, for a figure that only says "emulated"."""


def affordable_size(
    probe_seconds: float,
    largest: int = MATMUL_SIZE,
    probe_size: int = PROBE_SIZE,
    budget_s: float = CALL_BUDGET_S,
) -> int:
    """The square size, halving from `largest` but never below the probe's, whose matmul takes at most
    `budget_s` at the rate a `probe_size` matmul took `probe_seconds` at (the work grows as the cube)."""
    size = largest
    while size > probe_size and probe_seconds * (size / probe_size) ** 3 > budget_s:
        size //= 2
    return size


def matmul_gflops(device: str, dtype_name: str, size: int = MATMUL_SIZE, repeats: int = 10) -> float:
    """Best of `repeats` plain `a @ b` on square matrices in one dtype, GFLOP/s, at `size` or the
    largest smaller size one call of which fits `CALL_BUDGET_S`."""
    import torch

    dtype = getattr(torch, dtype_name)
    probe = torch.randn(PROBE_SIZE, PROBE_SIZE, device=device, dtype=dtype)
    size = affordable_size(_best_seconds(device, probe, probe, repeats=2), size)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    return 2 * size**3 / _best_seconds(device, a, b, repeats) / 1e9


def _best_seconds(device: str, a, b, repeats: int) -> float:
    best = float("inf")
    for attempt in range(repeats + 2):
        _synchronize(device)
        started = time.perf_counter()
        a @ b
        _synchronize(device)
        if attempt >= 2:  # the first calls warm up threads and caches
            best = min(best, time.perf_counter() - started)
    return best


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
