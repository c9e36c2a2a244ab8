"""How cost grows with the knowledge base: the generated cities at 100 to 100,000 facts.

    python bench/scale.py                        # all of it (about half an hour on a 2-core CPU)
    python bench/scale.py --sizes 100 1000 --train-sizes 100

Writes bench-scale.json and docs/bench-scale.png:
- retrieval, per size: seconds to build the index (embed + upsert into a fresh Chroma folder), then
  milliseconds per question and recall@1 / @5 of the fact's own sentence, dense and hybrid, for a
  sample of the training questions asked in one batch (as a run asks a split): the first call, and
  the second (what each later split costs: hybrid keeps its BM25 index until the collection
  changes). City_7, City_77 and
  City_777 crowd each other as the base grows, which is what the recall columns show.
- the knowledge fine-tune, per size: training tokens and measured seconds for `train.epochs` epochs of
  the blog's chat rows, then per fact, and projected to the regime the sweep found necessary for a fact
  to be learned (5 wordings x 20 epochs = 100 presentations; README, "Knowledge-injection sweep"), in
  FLOPs (eval/work.py's estimate) and in seconds at the throughput measured here.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRESENTATIONS_TO_LEARN = 100
"""5 wordings x 20 epochs: the sweep's smallest setting that taught the facts."""
RECALL_DEPTHS = (1, 5)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1_000, 10_000, 100_000])
    parser.add_argument("--questions", type=int, default=200, help="questions sampled per size")
    parser.add_argument("--train-sizes", type=int, nargs="*", default=[100, 1_000])
    parser.add_argument("--train-epochs", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench-scale.json")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "bench-scale.png")
    return parser.parse_args(argv)


def retrieval_point(size: int, embedder, questions: int) -> dict:
    """Index build seconds, then ms/question and recall for each retriever, at `size` facts."""
    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.knowledge.questions import train_questions
    from ftvsrag.rag.retrievers import make_retriever
    from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents

    facts = cities_facts(size)
    asked = random.Random(0).sample(train_questions(facts), min(questions, size))
    point: dict = {"facts": size, "questions": len(asked)}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        collection = open_collection(Path(folder), "scale", embedder)
        upsert_documents(collection, embedder, [f.id for f in facts], [f.document for f in facts])
        point["index_build_s"] = round(time.perf_counter() - started, 2)
        for name in ("dense", "hybrid"):
            # The first call builds what the retriever keeps (hybrid: its BM25 index); the second is
            # what every later split of a run costs, until the collection changes.
            times = []
            for _ in range(2):
                retriever = make_retriever(name, collection, embedder)
                started = time.perf_counter()
                found = retriever.retrieve([q.text for q in asked], max(RECALL_DEPTHS))
                times.append(time.perf_counter() - started)
            point[name] = {
                "ms_per_question": round(1000 * times[0] / len(asked), 2),
                "ms_per_question_kept": round(1000 * times[1] / len(asked), 2),
                **{
                    f"recall@{k}": round(
                        sum(
                            q.fact_id in [hit.id for hit in hits[:k]]
                            for q, hits in zip(asked, found, strict=True)
                        )
                        / len(asked),
                        3,
                    )
                    for k in RECALL_DEPTHS
                },
            }
        release_chroma()
    print(json.dumps(point), flush=True)
    return point


def training_point(size: int, epochs: float, model_ref, plan, tokenizer, parameters: int) -> dict:
    """The blog's knowledge fine-tune on `size` facts: measured, then per fact and projected."""
    from ftvsrag.eval.work import LORA_TRAINING_FLOPS_PER_PARAMETER
    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.train.config import TrainSettings
    from ftvsrag.train.lora import train_lora
    from ftvsrag.train.model import load_model
    from ftvsrag.train.recipes.knowledge import knowledge_rows

    settings = TrainSettings(epochs=epochs, save_steps=0)
    rows = knowledge_rows(cities_facts(size), "chat", 0)
    with tempfile.TemporaryDirectory() as folder:
        report = train_lora(
            load_model(model_ref, plan), tokenizer, rows, settings, plan, 0, Path(folder) / "adapter"
        )
    tokens_per_presentation = report.tokens["train_tokens"] / (size * epochs)
    seconds_per_presentation = report.seconds / (size * epochs)
    flops_to_learn = LORA_TRAINING_FLOPS_PER_PARAMETER * parameters * tokens_per_presentation
    point = {
        "facts": size,
        "epochs": epochs,
        "train_tokens": report.tokens["train_tokens"],
        "computed_tokens": report.tokens["computed_tokens"],
        "seconds": report.seconds,
        "seconds_per_fact_per_epoch": round(seconds_per_presentation, 4),
        "tokens_per_fact_per_epoch": round(tokens_per_presentation, 1),
        "projected_to_learn": {
            "presentations_per_fact": PRESENTATIONS_TO_LEARN,
            "tflop_per_fact": round(PRESENTATIONS_TO_LEARN * flops_to_learn / 1e12, 3),
            "seconds_per_fact_here": round(PRESENTATIONS_TO_LEARN * seconds_per_presentation, 2),
        },
    }
    print(json.dumps(point), flush=True)
    return point


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = result["retrieval"]
    sizes = [p["facts"] for p in points]
    figure, (cost, recall) = plt.subplots(1, 2, figsize=(11, 4))
    cost.loglog(sizes, [p["index_build_s"] for p in points], "o-", label="index build (s, once)")
    for name in ("dense", "hybrid"):
        cost.loglog(
            sizes,
            [p[name]["ms_per_question_kept"] / 1000 for p in points],
            "o-",
            label=f"{name} (s/question)",
        )
    training = result.get("training", [])
    if training:
        per_fact = training[-1]["projected_to_learn"]["seconds_per_fact_here"]
        cost.loglog(
            sizes, [per_fact * n for n in sizes], "k--", label="fine-tune to learn them (s, projected)"
        )
    cost.set_xlabel("facts in the knowledge base")
    cost.set_ylabel("seconds")
    cost.set_title("Cost on a 2-core CPU")
    cost.legend(fontsize=8)
    for name, style in (("dense", "o-"), ("hybrid", "s-")):
        for k in RECALL_DEPTHS:
            recall.semilogx(
                sizes, [100 * p[name][f"recall@{k}"] for p in points], style, label=f"{name} @{k}"
            )
    recall.set_xlabel("facts in the knowledge base")
    recall.set_ylabel("recall of the fact's sentence (%)")
    recall.set_ylim(0, 105)
    recall.set_title("Retrieval as the names crowd")
    recall.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    from bench.run import machine_facts
    from ftvsrag.files import write_json
    from ftvsrag.rag.embeddings import Embedder
    from ftvsrag.train.model import load_model, load_tokenizer, plan_device, resolve_model

    args = parse_args(argv)
    plan = plan_device()
    embedder = Embedder("all-minilm-l6-v2", plan.device)
    embedder(["warm up"])
    command = " ".join(["python", "bench/scale.py", *(sys.argv[1:] if argv is None else argv)])
    result: dict = {"command": command, "machine": machine_facts(plan)}
    result["retrieval"] = [retrieval_point(size, embedder, args.questions) for size in args.sizes]
    model_ref = resolve_model("smollm2-135m-instruct")
    parameters = sum(p.numel() for p in load_model(model_ref, plan).parameters())
    tokenizer = load_tokenizer(model_ref)
    result["training"] = [
        training_point(size, args.train_epochs, model_ref, plan.training, tokenizer, parameters)
        for size in args.train_sizes
    ]
    write_json(args.out, result)
    plot(result, args.plot)
    print(f"Wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
