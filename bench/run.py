"""Benchmark: where the time of a run goes on this machine, against its own measured matmul peak.

    python bench/run.py              # about 25 minutes on a 2-core CPU; writes bench.json
    python bench/run.py --skip-cold  # reuse the model cache: no cold run (about 15 minutes)

The runs, their logs and the benchmark's own model cache are kept in runs/bench/ (emptied first).

It runs, each as the user would, with `ftvsrag run` in a child process:
- the default replication (configs/cities.yaml) with an empty model cache and an empty stage cache
  (cold), again with the model cache filled (warm: every stage recomputed, since a stage cache would
  reuse everything), and once more with the stage cache kept (cached);
- the blog's protocol alone (configs/blog.yaml), warm;
then, in this process, the model load from cache, the project's batched evaluation against a naive
loop that generates one question at a time (the blog's way) on the same 100 questions, and the `ft`
training through TRL's SFTTrainer with its own loss (`train.loss: trl`) against the project's
labelled-positions loss with shared prompt starts (`train.loss: labelled`), alternated.

    python bench/run.py --only-training   # that last comparison alone (about 6 minutes; bench-training.json)

and last, the document knowledge base's own costs (bench/documents.py): chunking and indexing
throughput and seconds per question on the shipped PopQA example.

    python bench/run.py --only-documents  # that part alone (writes bench-documents.json)

FLOPs are the usual estimates (eval/work.py): 2 per parameter and token run forward, 4 per parameter
and token of LoRA training, over the tokens each stage ran through the model (results.json). The
peaks are plain torch matmuls in fp32 and in bf16 (bench/peaks.py), measured at the start and the
end of the benchmark (the higher of each), so that the fractions compare with this machine as it is
today: the whole run against the highest peak among the dtypes it computes in, training against its
training dtype's. Where the run answers in another dtype than fp32 (`dtype: auto` on a CPU with
native bf16), the replication runs once more in fp32: the bf16 table must lie within the fp32 one's
intervals, and the share of identical answers is reported. Decoding is timed on its own, against
the bound of reading the weights once per step at the measured memory bandwidth.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from documents import document_bench, document_lines
from peaks import decode_rate, matmul_peaks, memory_gbps

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "runs" / "bench"
"""The benchmark's runs, model cache and logs: emptied at the start, kept afterwards to look at."""
DEFAULT_CONFIG = "configs/cities.yaml"
BLOG_CONFIG = "configs/blog.yaml"
TARGETS = {
    "blog_warm_s": ("<=", 45.0),
    "replication_warm_s": ("<=", 180.0),
    "run_fraction_of_peak": (">=", 0.30),
    "eval_batched_vs_naive": (">=", 5.0),
    "model_load_cached_s": ("<=", 3.0),
    "peak_rss_gb": ("<=", 3.0),
    "accuracy_within_fp32_intervals": ("==", True),
}
KEEP_LABELLED_LOSS = 1.10
"""`train.loss: labelled` stays the default only while it trains the ft adapter this much faster
than TRL's own loss, and its loss on a batch equals the model's own full-logits loss to 1e-5."""


@dataclass(frozen=True)
class CommandRun:
    wall_s: float
    peak_rss_gb: float
    results: dict
    manifest: dict
    run_dir: Path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    from ftvsrag.train.model import default_cache_dir, plan_device

    plan = plan_device("auto")
    if args.only_documents or args.only_training:
        return run_one_part(args, plan)
    peaks = [matmul_peaks(plan.device)]
    print(f"==> matmul peaks, GFLOP/s: {peaks[0]} ({plan.device})", flush=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    model_cache = default_cache_dir() if args.skip_cold else WORK / "models"
    settings = [f"cache_dir={model_cache}", *args.set]
    cold = None
    if not args.skip_cold:
        cold = ftvsrag_run("cold replication", DEFAULT_CONFIG, WORK / "cold", settings)
    warm = ftvsrag_run("warm replication", DEFAULT_CONFIG, WORK / "warm", settings)
    cached = ftvsrag_run("cached replication", DEFAULT_CONFIG, WORK / "warm", settings)
    blog = ftvsrag_run("blog protocol, warm", BLOG_CONFIG, WORK / "blog", settings)
    fp32 = None
    if plan.dtype_name != "float32":
        fp32 = ftvsrag_run(
            "warm replication in fp32", DEFAULT_CONFIG, WORK / "fp32", [*settings, "dtype=fp32"]
        )
    load_s, model, tokenizer = model_load_seconds(model_cache, plan)
    evaluation = batched_vs_naive(model, tokenizer, warm.run_dir, args.questions, plan.device)
    decoding = decode_rate(
        model, tokenizer, rag_conversations(warm.run_dir, 32), 24, memory_gbps(plan.device)
    )
    training = training_loss_paths(model_cache, plan.training, args.repeats)
    documents = document_bench(plan, model_cache)
    peaks.append(matmul_peaks(plan.device))

    parameters = model.num_parameters()
    bench = summarise(cold, warm, cached, blog, load_s, evaluation, peaks, parameters, plan)
    bench["decoding"] = decoding
    bench["stage_tokens_per_s"] = stage_rates(warm.results)
    bench |= accuracy_guard(warm, fp32)
    bench["training_loss_paths"] = training
    bench["documents"] = documents
    bench["overrides"] = args.set
    bench["machine"] = machine_facts(plan)
    args.out.write_text(json.dumps(bench, indent=2) + "\n", encoding="utf-8")
    print(render_table(bench))
    print(f"\nwrote {args.out}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-cold", action="store_true", help="no cold run: reuse the user's model cache")
    parser.add_argument("--questions", type=int, default=100, help="questions for batched vs naive (100)")
    parser.add_argument(
        "--only-training", action="store_true", help="only the TRL loss vs labelled loss comparison"
    )
    parser.add_argument(
        "--only-documents",
        action="store_true",
        help="only the document knowledge base: chunking, indexing, s/question (writes bench-documents.json)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="trainings per loss path, alternated (2)")
    parser.add_argument("--out", type=Path, default=REPO / "bench.json", help="where to write (bench.json)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every run, e.g. --set data.num_cities=10 (a quick look; the figures "
        "then describe that smaller run)",
    )
    return parser.parse_args(argv)


def run_one_part(args: argparse.Namespace, plan) -> int:
    """`--only-documents` or `--only-training`: that part alone, printed and written
    (bench-documents.json, bench-training.json)."""
    from ftvsrag.train.model import default_cache_dir

    if args.only_documents:
        measured = document_bench(plan, default_cache_dir())
        measured["machine"] = machine_facts(plan)
        (REPO / "bench-documents.json").write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
        print("\n".join(document_lines(measured)))
        return 0
    comparison = training_loss_paths(default_cache_dir(), plan, args.repeats)
    comparison["machine"] = machine_facts(plan)
    (REPO / "bench-training.json").write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(comparison, indent=2))
    print(training_line(comparison))
    return 0


def ftvsrag_run(label: str, config: str, runs_dir: Path, settings: list[str]) -> CommandRun:
    """`ftvsrag run` in a child process, its stage lines echoed, its wall time and peak memory taken."""
    name = Path(config).stem
    command = [
        str(Path(sys.executable).with_name("ftvsrag")),
        "run",
        config,
        f"runs_dir={runs_dir}",
        *settings,
    ]
    log = WORK / f"{label.replace(' ', '-').replace(',', '')}.log"
    print(f"==> {label}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as sink:
        child = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        for line in child.stdout:
            sink.write(line)
            if line.startswith("==> "):
                print(f"    {line.rstrip()}", flush=True)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8").splitlines()[-20:]
        raise SystemExit(f"bench: `{' '.join(command)}` failed ({child.returncode}):\n" + "\n".join(tail))
    run_dir = runs_dir / name
    # ru_maxrss is in KiB on Linux.
    rss_gb = usage.ru_maxrss * 1024 / 1e9
    print(f"    {wall:.1f} s, peak RSS {rss_gb:.2f} GB", flush=True)
    return CommandRun(
        wall_s=round(wall, 1),
        peak_rss_gb=round(rss_gb, 2),
        results=json.loads((run_dir / "results.json").read_text(encoding="utf-8")),
        manifest=json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")),
        run_dir=run_dir,
    )


def model_load_seconds(model_cache: Path, plan, attempts: int = 3):
    """Median seconds to resolve the embedded model in the (warm) cache and load tokenizer and
    weights, the libraries already imported; and the last model and tokenizer loaded."""
    import transformers  # noqa: F401  (imported before the clock starts: the load alone is timed)

    from ftvsrag.config import load_config
    from ftvsrag.train.model import load_model, load_tokenizer, resolve_model

    config = load_config(REPO / DEFAULT_CONFIG)
    seconds = []
    for _ in range(attempts):
        started = time.perf_counter()
        ref = resolve_model(config.model, model_cache)
        tokenizer = load_tokenizer(ref)
        model = load_model(ref, plan)
        seconds.append(time.perf_counter() - started)
    print(f"==> model load from cache: {', '.join(f'{s:.2f}' for s in seconds)} s", flush=True)
    return round(statistics.median(seconds), 2), model.eval(), tokenizer


def batched_vs_naive(model, tokenizer, run_dir: Path, count: int, device: str) -> dict:
    """The base model's closed-book answers and its RAG answers (the warm run's retrieved contexts)
    to the first `count` training questions: batched as the project does, and one at a time."""
    from ftvsrag.files import read_jsonl
    from ftvsrag.generation.generate import batch_limits, generate_answers
    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.knowledge.questions import train_questions
    from ftvsrag.rag.prompts import rag_messages

    config = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["config"]
    questions = train_questions(cities_facts(config["data"]["num_cities"], config["data"]["seed"]))[:count]
    contexts = {
        r["id"]: r["retrieved_texts"]
        for r in read_jsonl(run_dir / "answers.jsonl")
        if r["arm"] == "rag" and r["split"] == "train"
    }
    arms = {
        "base": [q.messages() for q in questions],
        "rag": [rag_messages(q.text, contexts[q.fact_id]) for q in questions],
    }
    max_new_tokens = config["eval"]["max_new_tokens"]
    measured = {}
    for arm, conversations in arms.items():
        print(f"==> {arm}: {len(conversations)} questions batched, then one at a time", flush=True)
        started = time.perf_counter()
        batched = generate_answers(
            model, tokenizer, conversations, batch_limits(device), max_new_tokens, desc=f"{arm} batched"
        )
        batched_s = time.perf_counter() - started
        started = time.perf_counter()
        naive = naive_answers(model, tokenizer, conversations, max_new_tokens, desc=f"{arm} one at a time")
        naive_s = time.perf_counter() - started
        measured[arm] = {
            "questions": len(conversations),
            "batched_s": round(batched_s, 1),
            "naive_s": round(naive_s, 1),
            "speedup": round(naive_s / batched_s, 2),
            "prompt_tokens": sum(batched.prompt_tokens),
            "computed_prompt_tokens": batched.computed_prompt_tokens,
            "generated_tokens": sum(batched.generated_tokens),
            "prompt_tokens_per_s": round(sum(batched.prompt_tokens) / batched_s, 1),
            "generated_tokens_per_s": round(sum(batched.generated_tokens) / batched_s, 1),
            "naive_generated_tokens_per_s": round(sum(batched.generated_tokens) / naive_s, 1),
            "same_answers": sum(a == b for a, b in zip(batched.texts, naive, strict=True)),
        }
    return measured


def training_loss_paths(model_cache: Path, plan, repeats: int) -> dict:
    """The default config's `ft` training (same rows, settings and seed) with SFTTrainer's own loss
    and with the labelled-positions loss, alternated so that the machine's drift hits both."""
    import tempfile

    from ftvsrag.config import load_config
    from ftvsrag.knowledge.sources import load_knowledge
    from ftvsrag.train.lora import train_lora
    from ftvsrag.train.model import load_model, load_tokenizer, resolve_model
    from ftvsrag.train.recipes.knowledge import knowledge_rows

    config = load_config(REPO / DEFAULT_CONFIG)
    ref = resolve_model(config.model, model_cache)
    tokenizer = load_tokenizer(ref)
    rows = knowledge_rows(load_knowledge(config.data).facts, config.train.method, config.train.paraphrases)
    runs: dict[str, list[dict]] = {"trl": [], "labelled": []}
    for _ in range(repeats):
        for loss, reports in runs.items():
            settings = dataclasses.replace(config.train, loss=loss)
            print(f"==> ft training, train.loss={loss}", flush=True)
            with tempfile.TemporaryDirectory() as scratch:
                report = train_lora(
                    load_model(ref, plan), tokenizer, rows, settings, plan, config.seeds[0], Path(scratch)
                )
            reports.append({"seconds": report.seconds, "final_loss": report.final_loss, **report.tokens})
    seconds = {loss: statistics.median(r["seconds"] for r in reports) for loss, reports in runs.items()}
    losses = {loss: reports[0]["final_loss"] for loss, reports in runs.items()}
    batch = one_batch_losses(ref, tokenizer, rows[: config.train.batch_size], config.train, plan)
    exact = abs(batch["labelled"] - batch["full_logits"])
    return {
        "runs": runs,
        "median_s": seconds,
        "labelled_speedup": round(seconds["trl"] / seconds["labelled"], 3),
        "loss_difference": abs(losses["trl"] - losses["labelled"]),
        "one_batch_loss": batch,
        "keep_labelled": seconds["trl"] / seconds["labelled"] >= KEEP_LABELLED_LOSS and exact <= 1e-6,
    }


def one_batch_losses(ref, tokenizer, rows, settings, plan) -> dict[str, float]:
    """The first batch's loss three ways, before any training drift: SFTTrainer's own (a chunked,
    fused LM head), the model's full-logits loss on SFTTrainer's batch, and the labelled loss with
    the shared start. The labelled path must equal the full-logits one; TRL's may differ by its
    chunking."""
    import tempfile

    from transformers import Trainer
    from trl import SFTTrainer

    from ftvsrag.train.collate import training_collator
    from ftvsrag.train.labelled_trainer import LabelledLossTrainer
    from ftvsrag.train.lora import peft_config, sft_config, sft_dataset
    from ftvsrag.train.model import load_model

    losses = {}
    for name, trainer_class, collator in (
        ("trl", SFTTrainer, None),
        ("full_logits", SFTTrainer, None),
        ("labelled", LabelledLossTrainer, training_collator(tokenizer)),
    ):
        with tempfile.TemporaryDirectory() as scratch:
            trainer = trainer_class(
                model=load_model(ref, plan),
                args=sft_config(settings, plan, 0, Path(scratch), checkpoints=False),
                data_collator=collator,
                train_dataset=sft_dataset(rows),
                processing_class=tokenizer,
                peft_config=peft_config(settings.lora),
            )
            batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(rows))])
            compute = Trainer.compute_loss if name == "full_logits" else trainer_class.compute_loss
            losses[name] = compute(trainer, trainer.model, batch).item()
    return losses


def naive_answers(model, tokenizer, conversations, max_new_tokens: int, desc: str) -> list[str]:
    """The blog's loop: one prompt, one `generate`, one answer at a time."""
    from tqdm.auto import tqdm

    from ftvsrag.generation.generate import greedy_generate

    answers = []
    for conversation in tqdm(conversations, desc=desc, unit="q"):
        inputs = tokenizer.apply_chat_template(
            conversation, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(model.device)
        output = greedy_generate(model, tokenizer, inputs, max_new_tokens)
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        answers.append(tokenizer.decode(new_tokens, skip_special_tokens=True).strip())
    return answers


def summarise(cold, warm, cached, blog, load_s, evaluation, peaks, parameters, plan) -> dict:
    from ftvsrag.eval.work import fraction_of_peak, run_flops

    peak = {name: max(p[name] for p in peaks) for name in peaks[0]}
    # The whole run against the highest peak among the dtypes it computes in; training against its own.
    usable = max(peak[name] for name in {plan.dtype_name, plan.training.dtype_name} if name in peak)
    train_peak = peak.get(plan.training.dtype_name, usable)
    flops = run_flops(warm.results["tokens"], parameters)
    training = list(warm.manifest["training"].values())
    train_seconds = sum(report["seconds"] for report in training)
    train_flops = sum(flops[stage] for stage in flops if stage.startswith("train:"))
    example_tokens = sum(report["tokens"]["train_tokens"] for report in training)
    blog_flops = run_flops(blog.results["tokens"], parameters)["total"]
    naive_s = sum(arm["naive_s"] for arm in evaluation.values())
    batched_s = sum(arm["batched_s"] for arm in evaluation.values())
    # In the order the run went through them; "total" last.
    stages = list({**(cold.results["timings_s"] if cold else {}), **warm.results["timings_s"]})
    return {
        "peak_gflops": peak,
        "peak_gflops_start_end": {name: [p[name] for p in peaks] for name in peak},
        "usable_peak_gflops": usable,
        "parameters": parameters,
        "train_fraction_of_peak": round(fraction_of_peak(train_flops, train_seconds, train_peak * 1e9), 3),
        "train_tokens_per_s": round(example_tokens / train_seconds, 1),
        "train_s": round(train_seconds, 1),
        "run_fraction_of_peak": round(fraction_of_peak(flops["total"], warm.wall_s, usable * 1e9), 3),
        "run_tflop": round(flops["total"] / 1e12, 2),
        "run_seconds_at_peak": round(flops["total"] / (usable * 1e9), 1),
        "stage_tflop": {stage: round(value / 1e12, 2) for stage, value in flops.items() if stage != "total"},
        "eval_batched_vs_naive": round(naive_s / batched_s, 2),
        "eval": evaluation,
        "model_load_cached_s": load_s,
        "peak_rss_gb": max(run.peak_rss_gb for run in (cold, warm, cached, blog) if run),
        "blog_warm_s": blog.wall_s,
        "blog_tflop": round(blog_flops / 1e12, 2),
        "blog_seconds_at_peak": round(blog_flops / (usable * 1e9), 1),
        "blog_fraction_of_peak": round(fraction_of_peak(blog_flops, blog.wall_s, usable * 1e9), 3),
        "blog_stages_s": blog.results["timings_s"],
        "replication_cold_s": cold.wall_s if cold else None,
        "replication_warm_s": warm.wall_s,
        "replication_cached_s": cached.wall_s,
        "stages_s": {
            stage: {
                "cold": cold.results["timings_s"].get(stage) if cold else None,
                "warm": warm.results["timings_s"].get(stage),
            }
            for stage in stages
        },
        "accuracy_warm": {
            arm: {split: block["accuracy"] for split, block in splits.items()}
            for arm, splits in warm.results["arms"].items()
        },
    }


def stage_rates(results: dict) -> dict[str, float]:
    """Tokens each computed stage ran through the model per second of its computing."""
    rates = {}
    for stage, counts in results["tokens"].items():
        seconds = results["compute_s"].get(stage)
        tokens = (
            counts.get("computed_tokens", 0)
            + counts.get("prompt_tokens", 0)
            + counts.get("generated_tokens", 0)
        )
        if seconds:
            rates[stage] = round(tokens / seconds, 1)
    return rates


def accuracy_guard(run, fp32) -> dict:
    """The run's table against the same run in fp32: every cell inside the fp32 cell's Wilson
    interval, and the share of answers that are the same text."""
    if fp32 is None:
        return {"accuracy_within_fp32_intervals": True, "fp32_comparison": None}
    from ftvsrag.files import read_jsonl

    outside = [
        f"{arm}/{split}"
        for arm, splits in run.results["arms"].items()
        for split, block in splits.items()
        if not fp32.results["arms"][arm][split]["ci95"][0]
        <= block["accuracy"]
        <= fp32.results["arms"][arm][split]["ci95"][1]
    ]

    def outputs(path: Path) -> dict:
        return {
            (r["arm"], r["split"], r["seed"], r["id"], r["question"]): r["output"] for r in read_jsonl(path)
        }

    ours, theirs = outputs(run.run_dir / "answers.jsonl"), outputs(fp32.run_dir / "answers.jsonl")
    same = sum(theirs.get(key) == text for key, text in ours.items())
    return {
        "accuracy_within_fp32_intervals": not outside,
        "fp32_comparison": {
            "outside_fp32_intervals": outside,
            "identical_answers": same,
            "answers": len(ours),
            "fp32_accuracy": {
                arm: {split: block["accuracy"] for split, block in splits.items()}
                for arm, splits in fp32.results["arms"].items()
            },
            "fp32_wall_s": fp32.wall_s,
        },
    }


def rag_conversations(run_dir: Path, count: int) -> list:
    """The warm run's first `count` RAG conversations, exactly as asked."""
    from ftvsrag.files import read_jsonl

    records = [
        r for r in read_jsonl(run_dir / "answers.jsonl") if r["arm"] == "rag" and r["split"] == "train"
    ]
    return [r["messages"] for r in records[:count]]


def verdicts(bench: dict) -> dict[str, bool]:
    """Each target met or not."""
    met = {}
    for key, (sign, bound) in TARGETS.items():
        value = bench.get(key)
        if sign == "==":
            met[key] = value == bound
        else:
            met[key] = value is not None and (value <= bound if sign == "<=" else value >= bound)
    return met


def render_table(bench: dict) -> str:
    lines = ["", "stage                          cold (s)   warm (s)"]
    for stage, seconds in bench["stages_s"].items():
        cold = "-" if seconds["cold"] is None else f"{seconds['cold']:.1f}"
        warm = "-" if seconds["warm"] is None else f"{seconds['warm']:.1f}"
        lines.append(f"{stage:<28} {cold:>10} {warm:>10}")
    lines += [
        f"command wall time            {_seconds(bench['replication_cold_s']):>10} "
        f"{bench['replication_warm_s']:>10.1f}   (stage cache kept: {bench['replication_cached_s']:.1f} s)",
        "",
        f"matmul peaks ({bench['machine']['threads']} threads), GFLOP/s: {bench['peak_gflops']} "
        f"(start, end: {bench['peak_gflops_start_end']}); the run answers in {bench['machine']['dtype']} "
        f"and trains in {bench['machine']['train_dtype']}",
        f"LoRA training (TRL SFTTrainer): {bench['train_tokens_per_s']:.0f} example tokens/s, "
        f"{bench['train_fraction_of_peak']:.0%} of its dtype's peak",
        f"whole default run: {bench['run_tflop']:.1f} TFLOP, {bench['run_seconds_at_peak']:.0f} s at "
        f"{bench['usable_peak_gflops']:.0f} GFLOP/s, {bench['run_fraction_of_peak']:.0%} of it over "
        f"{bench['replication_warm_s']:.0f} s",
        "tokens per second of computing, by stage: "
        + ", ".join(f"{stage} {rate:.0f}" for stage, rate in bench["stage_tokens_per_s"].items()),
        decoding_line(bench["decoding"]),
        guard_line(bench),
    ]
    for arm, row in bench["eval"].items():
        lines.append(
            f"eval {arm:<4}: {row['questions']} questions batched {row['batched_s']:.1f} s, one at a time "
            f"{row['naive_s']:.1f} s ({row['speedup']:.1f}x); {row['prompt_tokens_per_s']:.0f} prompt "
            f"tokens/s, {row['generated_tokens_per_s']:.0f} generated tokens/s; "
            f"{row['same_answers']}/{row['questions']} answers identical"
        )
    lines += [
        f"model load from cache: {bench['model_load_cached_s']:.2f} s; "
        f"peak RSS {bench['peak_rss_gb']:.2f} GB",
        f"blog protocol (configs/blog.yaml), warm: {bench['blog_warm_s']:.1f} s; "
        f"{bench['blog_tflop']:.1f} TFLOP, {bench['blog_seconds_at_peak']:.0f} s at peak, "
        f"{bench['blog_fraction_of_peak']:.0%} of peak",
        training_line(bench["training_loss_paths"]),
        "",
        "document knowledge base (configs/popqa.yaml):",
        *(f"  {line}" for line in document_lines(bench["documents"])),
        "",
        "target                       wanted      measured   met",
    ]
    met = verdicts(bench)
    for key, (sign, bound) in TARGETS.items():
        lines.append(f"{key:<28} {sign} {bound!s:<8} {bench[key]!s:>10}   {'yes' if met[key] else 'NO'}")
    return "\n".join(lines)


def decoding_line(decoding: dict) -> str:
    return (
        f"decoding a batch of {decoding['batch']} RAG prompts: {decoding['steps_per_s']:.1f} steps/s "
        f"({decoding['generated_tokens_per_s']:.0f} tokens/s); reading {decoding['weights_gb']:.2f} GB of "
        f"weights once per step bounds it at {decoding['bound_steps_per_s']:.0f} steps/s "
        f"({decoding['fraction_of_bound']:.0%} of the bound)"
    )


def guard_line(bench: dict) -> str:
    comparison = bench["fp32_comparison"]
    if comparison is None:
        return "accuracy guard: the run is fp32"
    inside = (
        "every cell inside"
        if bench["accuracy_within_fp32_intervals"]
        else "OUTSIDE for " + ", ".join(comparison["outside_fp32_intervals"])
    )
    return (
        f"accuracy guard against the same run in fp32 ({comparison['fp32_wall_s']:.0f} s): {inside} the fp32 "
        f"intervals; {comparison['identical_answers']}/{comparison['answers']} answers identical"
    )


def training_line(paths: dict) -> str:
    seconds, batch = paths["median_s"], paths["one_batch_loss"]
    return (
        f"ft training, median of {len(paths['runs']['trl'])}: TRL's own loss {seconds['trl']:.1f} s, "
        f"labelled loss with shared starts {seconds['labelled']:.1f} s ({paths['labelled_speedup']:.2f}x); "
        f"final losses differ by {paths['loss_difference']:.1e}. One batch: TRL {batch['trl']:.7f}, "
        f"full logits {batch['full_logits']:.7f}, labelled {batch['labelled']:.7f}; "
        f"keep labelled: {'yes' if paths['keep_labelled'] else 'NO'}"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def machine_facts(plan) -> dict:
    """What the figures were measured on."""
    import torch

    from ftvsrag.manifest import cpu_description

    return {
        "device": plan.device,
        "dtype": plan.dtype_name,
        "train_dtype": plan.training.dtype_name,
        "threads": torch.get_num_threads(),
        "cpu": cpu_description(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "commit": _git_commit(),
    }


def _git_commit() -> str:
    """The checkout's commit, '+dirty' when files differ from it (ftvsrag/manifest.py)."""
    from ftvsrag.manifest import git_commit

    return git_commit()


if __name__ == "__main__":
    sys.exit(main())
