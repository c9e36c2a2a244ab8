"""The experiment, top to bottom: data -> question sets -> fine-tunes -> index -> arms x splits ->
answers.jsonl -> results.json -> report.md. Everything is validated before the run folder exists."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ftvsrag.configtools import to_yaml
from ftvsrag.errors import UserInputError
from ftvsrag.eval.arms import ARMS, FT_ADAPTER, READER_ADAPTER, Arm
from ftvsrag.eval.chart import write_accuracy_chart
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.facts import Fact, cities_facts, load_knowledge_base, load_paraphrases
from ftvsrag.eval.generate import BatchLimits, batch_limits, generate_answers
from ftvsrag.eval.manifest import build_manifest
from ftvsrag.eval.models import AnsweringModels
from ftvsrag.eval.probe import accepted_answers, general_questions
from ftvsrag.eval.questions import (
    PARAPHRASE,
    TRAIN,
    UPDATED,
    Question,
    paraphrase_questions,
    train_questions,
    updated_facts,
    updated_questions,
)
from ftvsrag.eval.records import answer_record
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import summarise
from ftvsrag.eval.rundir import staged_run_dir, write_json, write_jsonl
from ftvsrag.eval.stages import StageCache, stage_key
from ftvsrag.eval.training_data import knowledge_rows, reader_rows
from ftvsrag.rag.embeddings import embedding_function
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.store import open_collection, upsert_documents
from ftvsrag.train.lora import train_lora
from ftvsrag.train.model import (
    DevicePlan,
    ResolvedModel,
    default_cache_dir,
    load_model,
    load_tokenizer,
    model_fingerprint,
    plan_device,
    resolve_model,
    sha256_file,
)

DATA_FILE = "knowledge.jsonl"
CACHE_DIR = ".cache"
"""Under runs_dir: stage outputs shared by every run (see eval/stages.py)."""
CHART_FILE = "accuracy.png"
CACHE_FORMAT = 2
"""Part of the adapter and answers keys: bumped when their cached files gain fields (2: token counts)."""


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    results: dict
    report: str
    retrievers: dict[str, str]


class StageTimer:
    """Seconds per named stage; a stage entered twice (answering on several splits) adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started = time.perf_counter()

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        print(f"==> {name}{f' ({detail})' if detail else ''}", flush=True)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 2)

    def with_total(self) -> dict[str, float]:
        return {**self.seconds, "total": round(time.perf_counter() - self._started, 2)}


def run_experiment(config: ExperimentConfig, force: frozenset[str] = frozenset()) -> RunOutcome:
    """Run every arm of `config`. Stages whose inputs are unchanged since an earlier run are reused
    from `<runs_dir>/.cache/` unless named in `force`."""
    timer = StageTimer()
    facts, data_source = _load_facts(config)
    questions, changed, notes = _question_sets(config, facts)
    arms = [ARMS[name] for name in config.eval.arms]
    adapters = sorted(
        {arm.adapter for arm in arms if arm.adapter} | ({FT_ADAPTER} if _probes(config) else set())
    )
    retrievers_needed = sorted({_retriever_of(arm, config) for arm in arms if arm.uses_retrieval})
    with timer.stage("resolve model"):
        model_ref, plan, limits = prepare_model(config)
        model_sha = sha256_file(model_ref.source_file) if model_ref.source_file else None
        model_id = [model_sha or model_fingerprint(model_ref), plan.device.split(":")[0], plan.dtype_name]
    embed = None
    if retrievers_needed or READER_ADAPTER in adapters:
        embed = embedding_function(config.rag.embedding_model, plan.device)
    reader_facts = _reader_facts(config, facts) if READER_ADAPTER in adapters else []
    cache = StageCache(Path(config.runs_dir) / CACHE_DIR, force)
    reused: list[str] = []
    compute_s: dict[str, float] = {}
    """Seconds each stage took when it was computed, reused or not: the cost table's figures."""
    tokens: dict[str, dict[str, int]] = {}
    """Tokens each stage ran through the model: what the benchmark turns into FLOPs."""

    def count_tokens(stage: str, **counts: int) -> None:
        stage_tokens = tokens.setdefault(stage, {})
        for name, count in counts.items():
            stage_tokens[name] = stage_tokens.get(name, 0) + count

    with staged_run_dir(Path(config.runs_dir) / config.name) as run:
        (run / "config.yaml").write_text(to_yaml(config), encoding="utf-8")
        write_jsonl(run / DATA_FILE, [{"messages": f.messages()} for f in facts])
        tokenizer = load_tokenizer(model_ref)

        def train(adapter: str, seed: int, inputs: list, make_rows, settings) -> None:
            stage, key = (
                f"train:{adapter}",
                stage_key("adapter", CACHE_FORMAT, adapter, model_id, inputs, seed),
            )
            if cache.forced(stage):
                cache.drop_scratch("adapter", key)

            def produce(out: Path) -> None:
                report = train_lora(
                    load_model(model_ref, plan),
                    tokenizer,
                    make_rows(),
                    settings,
                    plan,
                    seed,
                    out / "adapter",
                    checkpoint_dir=cache.scratch("adapter", key),
                )
                write_json(out / "training.json", vars(report))

            found = cache.find(stage, "adapter", key)
            with timer.stage(stage, f"seed {seed}" + (f", reused {found.name}" if found else "")):
                found, was_reused = cache.ensure(stage, "adapter", key, produce)
                cache.drop_scratch("adapter", key)
                shutil.copytree(
                    found / "adapter", run / "adapters" / _adapter_dir(adapter, seed, config.seeds)
                )
            if was_reused:
                reused.append(f"{stage} seed {seed}")
            report = json.loads((found / "training.json").read_text())
            training[f"{adapter} seed {seed}"] = report
            compute_s[stage] = compute_s.get(stage, 0.0) + report["seconds"]
            count_tokens(
                stage, train_tokens=report["train_tokens"], computed_tokens=report["computed_tokens"]
            )

        training: dict[str, dict] = {}
        for seed in config.seeds:
            if FT_ADAPTER in adapters:
                train(
                    FT_ADAPTER,
                    seed,
                    [[f.messages() for f in facts], asdict(config.train)],
                    lambda: knowledge_rows(facts, config.train.method, config.train.paraphrases),
                    config.train,
                )
            if READER_ADAPTER in adapters:
                train(
                    READER_ADAPTER,
                    seed,
                    [
                        [f.messages() for f in reader_facts],
                        asdict(config.reader),
                        config.rag.k,
                        config.rag.embedding_model,
                    ],
                    lambda seed=seed: _reader_rows(config, reader_facts, embed, seed),
                    config.reader.train,
                )

        retrievers = {}
        if retrievers_needed:
            with timer.stage("index"):
                collection = _index(config, facts, embed, cache, run / "chroma", reused)
            retrievers = {name: make_retriever(name, collection) for name in retrievers_needed}

        models = AnsweringModels(
            lambda: load_model(model_ref, plan),
            {
                (adapter, seed): run / "adapters" / _adapter_dir(adapter, seed, config.seeds)
                for adapter in adapters
                for seed in config.seeds
            },
        )

        def ask(
            arm: Arm, split_questions: list[Question], contexts: dict, seed: int, accepted=False
        ) -> list[dict]:
            retriever = _retriever_of(arm, config) if arm.uses_retrieval else None
            found = contexts.get(retriever, [()] * len(split_questions))
            conversations = [
                rag_messages(q.text, [text for _, text in hits]) if retriever else q.messages()
                for q, hits in zip(split_questions, found, strict=True)
            ]
            max_new_tokens = config.eval.probe_max_new_tokens if accepted else config.eval.max_new_tokens
            adapter_sha = models.adapter_sha256(arm.adapter, seed) if arm.adapter else None
            key = stage_key("answers", CACHE_FORMAT, model_id, adapter_sha, conversations, max_new_tokens)
            stage = f"{'probe' if accepted else 'answer'}:{arm.name}"

            def produce(out: Path) -> None:
                started = time.perf_counter()
                generation = generate_answers(
                    models.get(arm.adapter, seed),
                    tokenizer,
                    conversations,
                    limits,
                    max_new_tokens,
                    desc=f"{arm.name}/{split_questions[0].split}",
                )
                write_json(
                    out / "answers.json",
                    {
                        "texts": generation.texts,
                        "prompt_tokens": generation.prompt_tokens,
                        "generated_tokens": generation.generated_tokens,
                        "computed_prompt_tokens": generation.computed_prompt_tokens,
                        "seconds": round(time.perf_counter() - started, 2),
                    },
                )

            cached = cache.find("answers", "answers", key)
            detail = f"{split_questions[0].split}, seed {seed}" + (
                f", reused {cached.name}" if cached else ""
            )
            with timer.stage(stage, detail):
                stored, was_reused = cache.ensure("answers", "answers", key, produce)
            if was_reused:
                reused.append(f"{stage} {split_questions[0].split} seed {seed}")
            answers = json.loads((stored / "answers.json").read_text(encoding="utf-8"))
            compute_s[stage] = round(compute_s.get(stage, 0.0) + answers["seconds"], 2)
            count_tokens(
                stage,
                prompt_tokens=answers["computed_prompt_tokens"],
                generated_tokens=sum(answers["generated_tokens"]),
            )
            return [
                answer_record(
                    arm.name,
                    q,
                    text,
                    seed=seed,
                    prompt_tokens=tokens,
                    retriever=retriever,
                    retrieved=hits,
                    accepted=accepted_answers(q.fact_id) if accepted else (),
                )
                for q, text, tokens, hits in zip(
                    split_questions, answers["texts"], answers["prompt_tokens"], found, strict=True
                )
            ]

        records: list[dict] = []
        for split, split_questions in questions.items():
            if split == UPDATED and retrievers:
                with timer.stage("index", "upsert the changed facts"):
                    upsert_documents(collection, [f.id for f in changed], [f.document for f in changed])
            contexts = {}
            for name, retriever in retrievers.items():
                with timer.stage("retrieve", f"{name}, {split}"):
                    hits = retriever.retrieve([q.text for q in split_questions], config.rag.k)
                contexts[name] = [[(h.id, h.text) for h in found] for found in hits]
            for arm in arms:
                for seed in config.seeds if arm.adapter else config.seeds[:1]:
                    records += ask(arm, split_questions, contexts, seed)

        if _probes(config):
            probe = general_questions(facts[0].system)
            for arm in (ARMS["base"], ARMS["ft"]):
                for seed in config.seeds if arm.adapter else config.seeds[:1]:
                    records += ask(arm, probe, {}, seed, accepted=True)

        _release_chroma()
        timings = timer.with_total()
        if reused:
            notes.append(
                f"reused from {cache.root} (inputs unchanged; `--force STAGE` recomputes): "
                + ", ".join(reused)
            )
        results = summarise(
            records, config.eval.first_n, timings, notes, cost_seconds=compute_s, tokens=tokens
        )
        has_chart = write_accuracy_chart(results, run / CHART_FILE)
        meta = {
            "name": config.name,
            "model": config.model,
            "device": plan.device,
            "dtype": plan.dtype_name,
            "retrievers": {arm.name: _retriever_of(arm, config) for arm in arms if arm.uses_retrieval},
            "chart": CHART_FILE if has_chart else None,
        }
        report = render_report(results, meta)
        write_jsonl(run / "answers.jsonl", records)
        write_json(run / "results.json", results)
        (run / "report.md").write_text(report, encoding="utf-8")
        write_json(
            run / "manifest.json",
            build_manifest(
                model={
                    "name": config.model,
                    "loaded_from": model_ref.load_from,
                    "source_file": str(model_ref.source_file or ""),
                    "sha256": model_sha,
                },
                data={
                    "source": data_source,
                    "source_sha256": sha256_file(Path(config.data.path).expanduser())
                    if config.data.path
                    else None,
                    "sha256": sha256_file(run / DATA_FILE),
                    "facts": len(facts),
                },
                config=asdict(config),
                report_meta=meta,
                device=plan.device,
                dtype=plan.dtype_name,
                seeds={"training": config.seeds, "data": config.data.seed},
                training=training,
                timings_s=timings,
                reused_stages=reused,
            ),
        )
    return RunOutcome(Path(config.runs_dir) / config.name, results, report, meta["retrievers"])


def prepare_model(config: ExperimentConfig) -> tuple[ResolvedModel, DevicePlan, BatchLimits]:
    """The model's weights on disk (converted and cached if need be), the device, and how to batch."""
    cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    model_ref = resolve_model(config.model, cache_dir)
    plan = plan_device(config.device, config.dtype)
    return model_ref, plan, batch_limits(plan.device, config.eval.batch_size)


def _probes(config: ExperimentConfig) -> bool:
    return config.eval.forgetting_probe and "ft" in config.eval.arms


def _retriever_of(arm: Arm, config: ExperimentConfig) -> str:
    return config.reader.retriever if arm.adapter == READER_ADAPTER else config.rag.retriever


def _adapter_dir(adapter: str, seed: int, seeds: list[int]) -> str:
    return adapter if len(seeds) == 1 else f"{adapter}-seed{seed}"


def _load_facts(config: ExperimentConfig) -> tuple[list[Fact], str]:
    if config.data.path:
        path = Path(config.data.path).expanduser()
        facts, kind = load_knowledge_base(path)
        return facts, f"{path} ({kind} format)"
    facts = cities_facts(config.data.num_cities, config.data.seed)
    return facts, f"cities(num_cities={config.data.num_cities}, seed={config.data.seed})"


def _question_sets(
    config: ExperimentConfig, facts: list[Fact]
) -> tuple[dict[str, list[Question]], list[Fact], list[str]]:
    questions: dict[str, list[Question]] = {}
    notes = []
    changed: list[Fact] = []
    if TRAIN in config.eval.splits:
        questions[TRAIN] = train_questions(facts)
    if PARAPHRASE in config.eval.splits:
        wordings = None
        if config.data.paraphrases_path:
            wordings = load_paraphrases(Path(config.data.paraphrases_path).expanduser(), facts)
        paraphrased = paraphrase_questions(facts, wordings)
        if paraphrased:
            questions[PARAPHRASE] = paraphrased
        else:
            notes.append(
                "paraphrase split skipped: this knowledge base has no paraphrases file "
                "(data.paraphrases_path)"
            )
    if UPDATED in config.eval.splits:
        changed = updated_facts(facts, config.eval.updated_facts, config.data.seed + 1)
        if changed:
            questions[UPDATED] = updated_questions(facts, changed)
        else:
            notes.append("updated split skipped: no answer holds a number that could change")
    if changed:
        notes.append(
            f"updated split: {len(changed)} facts got a new number after training and were upserted into "
            "the Chroma collection; 'stale' counts answers that give the old number"
        )
    return questions, changed, notes


def _reader_facts(config: ExperimentConfig, facts: list[Fact]) -> list[Fact]:
    """Generated cities numbered after the evaluated ones: the reader never sees an evaluated fact."""
    first_city = config.data.num_cities + 1 if not config.data.path else 1
    reader = cities_facts(config.reader.num_facts, config.data.seed, first_city=first_city)
    check_disjoint(reader, facts)
    return reader


def check_disjoint(reader: list[Fact], evaluated: list[Fact]) -> None:
    seen = (
        {f.question for f in evaluated}
        | {f.document for f in evaluated}
        | {f.subject for f in evaluated if f.subject}
    )
    overlap = [f for f in reader if {f.question, f.document, f.subject} & seen]
    if overlap:
        raise UserInputError(
            f"the reader's training facts overlap the evaluated ones (e.g. {overlap[0].question!r})"
        )


def _reader_rows(config: ExperimentConfig, reader: list[Fact], embed, seed: int) -> list[dict]:
    """The reader's training rows, over contexts retrieved from an index of its own facts (built in
    a scratch folder: only training needs it)."""
    with tempfile.TemporaryDirectory(prefix="ftvsrag-reader-index-") as scratch:
        collection = open_collection(Path(scratch), f"{config.rag.collection}-reader-train", embed)
        upsert_documents(collection, [f.id for f in reader], [f.document for f in reader])
        retriever = make_retriever(config.reader.retriever, collection)

        def retrieve(questions: list[str]) -> list[list[tuple[str, str]]]:
            # One more than k: with the gold document taken out, k others must remain.
            hits = retriever.retrieve(questions, config.rag.k + 1)
            return [[(h.id, h.text) for h in found] for found in hits]

        rows = reader_rows(reader, retrieve, config.rag.k, config.reader.without_gold, seed)
        _release_chroma()
    return rows


def _index(config: ExperimentConfig, facts: list[Fact], embed, cache: StageCache, target: Path, reused):
    """The knowledge base's Chroma collection at `target`: a copy of the cached index when the
    documents and embedding model are unchanged, else built (and cached) first."""
    ids, documents = [f.id for f in facts], [f.document for f in facts]
    key = stage_key("index", config.rag.embedding_model, config.rag.collection, ids, documents)

    def produce(out: Path) -> None:
        upsert_documents(open_collection(out / "chroma", config.rag.collection, embed), ids, documents)
        _release_chroma()

    found, was_reused = cache.ensure("index", "index", key, produce)
    if was_reused:
        reused.append("index")
    shutil.copytree(found / "chroma", target)
    return open_collection(target, config.rag.collection, embed)


def _release_chroma() -> None:
    """Let go of Chroma's handle on the staging folder before it is renamed into place."""
    import chromadb

    chromadb.api.client.SharedSystemClient.clear_system_cache()
