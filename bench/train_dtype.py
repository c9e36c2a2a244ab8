"""What training in bf16 changes on this machine: speed, loss and where the time goes, for four
placements of the knowledge fine-tune's LoRA training (issue 18, part 2).

    python bench/train_dtype.py             # about 14 minutes on the 2-core CPU
    python bench/train_dtype.py --repeats 1 --facts 40

Writes bench-train-dtype.json. The default config's `ft` training (its rows, settings and seed) on
the first `--facts` cities for `--epochs`, in each placement:
- `fp32`: weights and computation in fp32 (`dtype=fp32`, and `auto` on a CPU without native bf16);
- `frozen-bf16`: the frozen linear layers stored and computed in bf16, their outputs and everything
  else (embeddings, residual stream, norms, attention, LoRA weights, optimiser state) in fp32:
  `train.frozen_dtype=bf16` (`train/frozen_layers.py`);
- `bf16`: the frozen base in bf16 and the trainer's bf16 autocast, the LoRA weights and optimiser
  state in fp32 (peft's default): what `dtype=bfloat16` trains in;
- `bf16-autocast`: the base kept in fp32 and computed in bf16 under the same autocast, to tell a
  change that comes from computing in bf16 from one that comes from storing the weights in it.
For each: seconds (median over `--repeats`, placements alternated so the machine's drift hits all),
the logged losses (identical across repeats: training is seeded), and one extra training under
torch.profiler: the operators taking most self CPU time (the profiler adds its own overhead to every
call, so compare operators across placements, not with the timed seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLACEMENTS = {
    "fp32": ("float32", "float32", "same"),
    "frozen-bf16": ("float32", "float32", "bf16"),
    "bf16": ("bfloat16", "bfloat16", "same"),
    "bf16-autocast": ("float32", "bfloat16", "same"),
}
"""Placement: (the dtype the model's weights are loaded in, the dtype the trainer computes in,
`train.frozen_dtype`)."""
TOP_OPERATORS = 6


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facts", type=int, default=100, help="cities trained on (default 100)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench-train-dtype.json")
    return parser.parse_args(argv)


def train_once(model_ref, tokenizer, rows, settings, placement: str, seed: int):
    """One training of a fresh LoRA in `placement`; its TrainingReport."""
    from ftvsrag.train.lora import train_lora
    from ftvsrag.train.model import DevicePlan, load_model

    weights, compute, frozen = PLACEMENTS[placement]
    model = load_model(model_ref, DevicePlan("cpu", weights))
    settings = dataclasses.replace(settings, frozen_dtype=frozen)
    with tempfile.TemporaryDirectory() as scratch:
        return train_lora(
            model, tokenizer, rows, settings, DevicePlan("cpu", compute), seed, Path(scratch) / "a"
        )


def top_operators(model_ref, tokenizer, rows, settings, placement: str, seed: int) -> dict[str, float]:
    """Self CPU seconds of the operators that take most of one profiled training."""
    import torch

    with torch.profiler.profile() as profile:
        train_once(model_ref, tokenizer, rows, settings, placement, seed)
    events = sorted(profile.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return {e.key: round(e.self_cpu_time_total / 1e6, 3) for e in events[:TOP_OPERATORS]}


def placements(model_ref, tokenizer, rows, settings, seed: int, repeats: int) -> dict:
    reports: dict[str, list] = {name: [] for name in PLACEMENTS}
    for repeat in range(repeats):
        for name, found in reports.items():
            print(f"==> {name}, training {repeat + 1}/{repeats}", flush=True)
            found.append(train_once(model_ref, tokenizer, rows, settings, name, seed))
    return {
        name: {
            "seconds": [r.seconds for r in found],
            "median_s": round(statistics.median(r.seconds for r in found), 2),
            "final_loss": round(found[0].final_loss, 5),
            "losses": [[step, round(loss, 5)] for step, loss in found[0].losses],
            "top_operators_s": top_operators(model_ref, tokenizer, rows, settings, name, seed),
        }
        for name, found in reports.items()
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO / "bench"))
    from run import DEFAULT_CONFIG, machine_facts

    from ftvsrag.config import load_config
    from ftvsrag.files import write_json
    from ftvsrag.knowledge.sources import load_knowledge
    from ftvsrag.train.model import load_tokenizer, plan_device, resolve_model
    from ftvsrag.train.recipes.knowledge import knowledge_rows

    config = load_config(REPO / DEFAULT_CONFIG)
    model_ref = resolve_model(config.model)
    tokenizer = load_tokenizer(model_ref)
    facts = load_knowledge(config.data).facts[: args.facts]
    rows = knowledge_rows(facts, config.train.method, config.train.paraphrases)
    settings = dataclasses.replace(config.train, epochs=args.epochs)
    bench = {
        "command": " ".join(["python bench/train_dtype.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_facts(plan_device("cpu")),
        "facts": len(facts),
        "epochs": args.epochs,
        "placements": placements(model_ref, tokenizer, rows, settings, config.seeds[0], args.repeats),
    }
    write_json(args.out, bench)
    for name, found in bench["placements"].items():
        print(f"{name:14} median {found['median_s']:7.2f} s  final loss {found['final_loss']:.5f}")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
