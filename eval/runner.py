"""The experiment, top to bottom: data -> model -> index -> arms (training where an arm needs it)
-> answers.jsonl -> results.json -> report.md. Everything is validated before the run folder exists."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from ftvsrag.configtools import to_dict
from ftvsrag.errors import UserInputError
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.extract import extract_lenient
from ftvsrag.eval.facts import Fact, cities_records, load_chat_jsonl, write_jsonl
from ftvsrag.eval.generate import default_batch_size, generate_answers
from ftvsrag.eval.manifest import build_manifest
from ftvsrag.eval.records import answer_record
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import summarise
from ftvsrag.eval.rundir import staged_run_dir, write_json
from ftvsrag.eval.rundir import write_jsonl as write_records
from ftvsrag.rag.embeddings import embedding_function
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.rag.store import open_collection, retrieve, upsert_documents
from ftvsrag.train.lora import load_adapter, train_lora
from ftvsrag.train.model import (
    default_cache_dir,
    load_model,
    load_tokenizer,
    plan_device,
    resolve_model,
    sha256_file,
)

DATA_FILE = "knowledge.jsonl"


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    results: dict
    report: str


class StageTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        print(f"==> {name}", flush=True)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 2)

    def with_total(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.perf_counter() - self._started, 2)}


def run_experiment(config: ExperimentConfig) -> RunOutcome:
    from transformers import set_seed

    timer = StageTimer()
    facts, data_records, data_source = _load_facts(config)
    cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    with timer.stage("resolve model"):
        model_ref = resolve_model(config.model, cache_dir)
    plan = plan_device(config.device, config.dtype)
    batch_size = config.eval.batch_size or default_batch_size(plan.device)
    arms = config.eval.arms
    set_seed(config.seed)

    with staged_run_dir(Path(config.runs_dir) / config.name) as run:
        (run / "config.yaml").write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding="utf-8")
        write_jsonl(data_records, run / DATA_FILE)

        with timer.stage("load model"):
            tokenizer = load_tokenizer(model_ref)
            model = load_model(model_ref, plan)

        retrieved: dict[str, list[tuple[str, str]]] = {}
        if "rag" in arms:
            with timer.stage("index + retrieve"):
                retrieved = _index_and_retrieve(config, facts, run / "chroma", plan.device)

        records = []

        def answer(arm: str, answering_model, conversations) -> None:
            with timer.stage(f"answer:{arm}"):
                outputs = generate_answers(
                    answering_model,
                    tokenizer,
                    conversations,
                    batch_size,
                    config.eval.max_new_tokens,
                    desc=arm,
                )
            for fact, output in zip(facts, outputs, strict=True):
                records.append(
                    answer_record(
                        arm,
                        "train",
                        fact.id,
                        fact.question,
                        fact.answer,
                        output,
                        retrieved.get(fact.id, ()) if arm == "rag" else (),
                    )
                )

        if "base" in arms:
            answer("base", model, [_closed_book(fact) for fact in facts])
        if "rag" in arms:
            answer("rag", model, [rag_messages(f.question, [t for _, t in retrieved[f.id]]) for f in facts])
        training = None
        if "ft" in arms:
            with timer.stage("train:ft"):
                # The loaded model becomes the training model (LoRA layers go in place): it is not
                # needed as a base any more, and the ft arm reloads the saved adapter onto a fresh copy.
                training = train_lora(
                    model,
                    tokenizer,
                    [f.messages() for f in facts],
                    config.train,
                    plan,
                    config.seed,
                    run / "adapters" / "ft",
                )
            fine_tuned = load_adapter(load_model(model_ref, plan), run / "adapters" / "ft")
            answer("ft", fine_tuned, [_closed_book(fact) for fact in facts])

        records.sort(key=lambda r: (arms.index(r["arm"]), r["split"]))
        timings = timer.with_total()
        results = summarise(records, config.eval.first_n, timings)
        report = render_report(
            results,
            {"name": config.name, "model": config.model, "device": plan.device, "dtype": plan.dtype_name},
        )
        write_records(run / "answers.jsonl", records)
        write_json(run / "results.json", results)
        (run / "report.md").write_text(report, encoding="utf-8")
        write_json(
            run / "manifest.json",
            build_manifest(
                model={
                    "name": config.model,
                    "loaded_from": model_ref.load_from,
                    "source_file": str(model_ref.source_file or ""),
                    "sha256": sha256_file(model_ref.source_file) if model_ref.source_file else None,
                },
                data={"source": data_source, "sha256": sha256_file(run / DATA_FILE), "facts": len(facts)},
                device=plan.device,
                dtype=plan.dtype_name,
                seeds={"experiment": config.seed, "data": config.data.seed},
                training=vars(training) if training else None,
                timings_s=timings,
            ),
        )
    return RunOutcome(Path(config.runs_dir) / config.name, results, report)


def _load_facts(config: ExperimentConfig) -> tuple[list[Fact], list[dict], str]:
    if config.data.path:
        path = Path(config.data.path).expanduser()
        facts = load_chat_jsonl(path)
        records = [{"messages": fact.messages()} for fact in facts]
        source = str(path)
    else:
        records = cities_records(config.data.num_cities, config.data.seed)
        facts = _facts_from_records(records)
        source = f"cities(num_cities={config.data.num_cities}, seed={config.data.seed})"
    for fact in facts:
        if extract_lenient(fact.answer) is None:
            raise UserInputError(
                f"answer to {fact.question!r} has no number; this version scores numeric answers only"
            )
    return facts, records, source


def _facts_from_records(records: list[dict]) -> list[Fact]:
    facts = []
    for index, record in enumerate(records):
        system, user, assistant = (m["content"] for m in record["messages"])
        facts.append(Fact(id=f"fact-{index:05d}", system=system, question=user, answer=assistant))
    return facts


def _closed_book(fact: Fact) -> list[dict[str, str]]:
    """The question exactly as in training: the training system message, then the user turn."""
    return fact.messages()[:-1]


def _index_and_retrieve(config: ExperimentConfig, facts: list[Fact], persist_dir: Path, device: str) -> dict:
    import chromadb

    collection = open_collection(
        persist_dir, config.rag.collection, embedding_function(config.rag.embedding_model, device)
    )
    upsert_documents(collection, [f.id for f in facts], [f.document for f in facts])
    hits = retrieve(collection, [f.question for f in facts], config.rag.k)
    # Release Chroma's handle on the staging folder before it is renamed into place.
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    return {fact.id: [(hit.id, hit.text) for hit in found] for fact, found in zip(facts, hits, strict=True)}
