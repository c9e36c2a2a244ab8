"""Where a greedy decoding step's time goes on this machine, and what transformers' own options
change (issue 18, part 3).

    python bench/decoding.py            # about 5 minutes on the 2-core CPU
    python bench/decoding.py --dtypes bfloat16 --repeats 1
    python bench/decoding.py --compile --repeats 1 --out /tmp/decoding.json   # adds torch.compile

Writes bench-decoding.json. For one batch of 32 RAG prompts over the generated cities (each
question with its own fact and three others, ~200 tokens, the shared start computed once as a run
does), in each dtype (fp32, and bf16 where the CPU computes it natively):
- decoding steps per second (median over `--repeats`; the prompt's own pass taken off) for each
  combination of KV cache (`dynamic`: generate's own, grown at every step; `static`: transformers'
  StaticCache, allocated once for prompt and answer and written in place) and attention (`sdpa`, the
  default, and `eager`), with `--compile` also the static cache with the step compiled, and how
  many of the 32 answers each gives as the default does;
- one decoding step by operator (torch.profiler, default options; the profiler adds its own
  overhead to every call, so read the shares, not the milliseconds);
- each linear layer's shape at 32 rows alone: microseconds, and the weight bytes it reads per
  second against the machine's memory bandwidth, which bounds a decoding step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROWS = 32
NEW_TOKENS = 24
OPTIONS = [("dynamic", "sdpa"), ("static", "sdpa"), ("dynamic", "eager"), ("static", "eager")]
COMPILED = ("compiled", "sdpa")
"""`--compile`: the static cache, and `generate`'s decoding step compiled by torch.compile (inductor)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument(
        "--dtypes",
        nargs="+",
        default=native_dtypes(),
        help="default: float32, and bfloat16 where the CPU computes it natively (emulated, one point "
        "took minutes on an AVX2-only CPU and measures a path no run takes)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time the static cache with the decoding step compiled (torch.compile, inductor: "
        "minutes of compiling, reported as the option's warm_up_s)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-decoding.json")
    return parser.parse_args(argv)


def native_dtypes() -> list[str]:
    from ftvsrag.train.model import native_bf16_cpu

    return ["float32", "bfloat16"] if native_bf16_cpu() else ["float32"]


def rag_rows(tokenizer) -> list[list[int]]:
    """The prompt tokens of ROWS RAG questions over the cities, four passages each."""
    from ftvsrag.generation.generate import prompt_tokens
    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.rag.prompts import rag_messages

    facts = cities_facts(ROWS * 4)
    conversations = [
        rag_messages(f.question, [facts[(i + step * ROWS) % len(facts)].document for step in range(4)])
        for i, f in enumerate(facts[:ROWS])
    ]
    return prompt_tokens(tokenizer, conversations)


def decode(model, tokenizer, rows: list[list[int]], cache: str, new_tokens: int):
    """Seconds and new tokens of one greedy generation of every row for `new_tokens` steps."""
    import torch

    from ftvsrag.generation.generate import SharedStart
    from ftvsrag.train.model import padding_side

    start = SharedStart.of(model, rows)
    with padding_side(tokenizer, "left"):
        inputs = start.batch_inputs(tokenizer, rows, model.device)
    if cache in ("static", "compiled"):
        inputs["cache"] = static_cache(model, start, len(rows), inputs["input_ids"].shape[1] + new_tokens)
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            compile_config=compile_config() if cache == "compiled" else None,
        )
    return time.perf_counter() - started, output[:, inputs["input_ids"].shape[1] :]


def static_cache(model, start, rows: int, length: int):
    """A StaticCache of `length` positions holding the shared start's keys and values in each row."""
    from transformers import StaticCache

    cache = StaticCache(config=model.config, max_cache_len=length)
    for layer, shared in zip(cache.layers, start.cache.layers, strict=True):
        layer.update(shared.keys.expand(rows, -1, -1, -1), shared.values.expand(rows, -1, -1, -1))
    return cache


def compile_config():
    """transformers compiles `generate`'s step by itself only on accelerators; on a CPU only when
    the config's private `_compile_all_devices` is set."""
    from transformers import CompileConfig

    config = CompileConfig(mode="default")
    config._compile_all_devices = True
    return config


def option_rates(model, tokenizer, rows, repeats: int, options: list[tuple[str, str]]) -> dict:
    """Steps per second and answers like the default's, per (cache, attention) option, and the
    seconds of its first, 2-step generation (which compiles, where the option compiles)."""
    found, reference = {}, None
    for cache, attention in options:
        model.set_attn_implementation(attention)
        warm_up_s, _ = decode(model, tokenizer, rows, cache, 2)
        steps, tokens = [], None
        for _ in range(repeats):
            full, tokens = decode(model, tokenizer, rows, cache, NEW_TOKENS)
            prompt, _ = decode(model, tokenizer, rows, cache, 1)
            steps.append((NEW_TOKENS - 1) / (full - prompt))
        reference = tokens if reference is None else reference
        found[f"{cache}+{attention}"] = {
            "steps_per_s": round(statistics.median(steps), 2),
            "answers_as_default": int((tokens == reference).all(dim=1).sum()),
            "warm_up_s": round(warm_up_s, 1),
        }
    model.set_attn_implementation("sdpa")
    return found


def operator_shares(model, tokenizer, rows, top: int = 8) -> dict:
    """Each of the `top` operators' share of the profiled decoding steps' time."""
    from torch.profiler import profile

    with profile() as profiler:
        decode(model, tokenizer, rows, "dynamic", NEW_TOKENS)
    events = sorted(profiler.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    return {e.key: round(e.self_cpu_time_total / total, 3) for e in events[:top]}


def linear_rates(model, dtype, repeats: int = 100) -> dict:
    """Microseconds and weight GB/s of each distinct linear shape at ROWS rows of one token."""
    import torch

    shapes = sorted({tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)})
    found = {}
    with torch.inference_mode():
        for out_features, in_features in shapes:
            weight = torch.randn(out_features, in_features, dtype=dtype)
            x = torch.randn(ROWS, 1, in_features, dtype=dtype)
            for _ in range(3):
                torch.nn.functional.linear(x, weight)
            started = time.perf_counter()
            for _ in range(repeats):
                torch.nn.functional.linear(x, weight)
            seconds = (time.perf_counter() - started) / repeats
            found[f"{in_features}->{out_features}"] = {
                "us": round(seconds * 1e6, 1),
                "weight_gbps": round(weight.numel() * weight.element_size() / seconds / 1e9, 1),
            }
    return found


def dtype_point(model_ref, tokenizer, dtype_name: str, repeats: int, options: list) -> dict:
    from ftvsrag.train.model import load_model, plan_device

    plan = plan_device("cpu", dtype_name)
    model = load_model(model_ref, plan).eval()
    rows = rag_rows(tokenizer)
    point = {
        "prompt_tokens": [min(map(len, rows)), max(map(len, rows))],
        "options": option_rates(model, tokenizer, rows, repeats, options),
        "operator_shares": operator_shares(model, tokenizer, rows),
        "linear": linear_rates(model, plan.dtype),
    }
    print(dtype_name, point, flush=True)
    return point


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO / "bench"))
    from peaks import memory_gbps
    from run import machine_facts

    from ftvsrag.files import write_json
    from ftvsrag.train.model import load_tokenizer, plan_device, resolve_model

    options = [*OPTIONS, COMPILED] if args.compile else OPTIONS
    model_ref = resolve_model(args.model)
    tokenizer = load_tokenizer(model_ref)
    bench = {
        "machine": {
            k: v for k, v in machine_facts(plan_device("cpu", "float32")).items() if "dtype" not in k
        },
        "rows": ROWS,
        "new_tokens": NEW_TOKENS,
        "memory_gbps": round(memory_gbps("cpu"), 1),
        "dtypes": {
            name: dtype_point(model_ref, tokenizer, name, args.repeats, options) for name in args.dtypes
        },
    }
    write_json(args.out, bench)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
