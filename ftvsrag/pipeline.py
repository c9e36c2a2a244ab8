"""The experiment, top to bottom: context -> knowledge -> question sets -> model -> passages ->
index -> adapters -> answers (arm x split) -> scores -> run folder. Each step is a plain function;
the cached ones (train, index, answer) go through `StageCache.run`, whose inputs record is both the
cache key and what the stage reads. Everything a user can get wrong is checked before any model
loads, and the run folder is published whole."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ftvsrag.adapters import (
    Adapters,
    adapter_name,
    held_out_notes,
    reader_notes,
    recipe_of,
    train_adapters,
    unchanged_notes,
)
from ftvsrag.asking import Asker, AskSettings, Contexts
from ftvsrag.config import ExperimentConfig
from ftvsrag.configtools import to_yaml
from ftvsrag.console import LOG_FILE, run_log
from ftvsrag.context import RunContext, Setup
from ftvsrag.errors import UserInputError
from ftvsrag.eval.chart import (
    FRONTIER_FILE,
    TRAINING_FILE,
    write_accuracy_chart,
    write_frontier_chart,
    write_training_chart,
)
from ftvsrag.eval.html_report import HTML_FILE, render_html
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import RECALL_KS, summarise
from ftvsrag.files import disk_full_in_one_line, sha256_file, write_json, write_jsonl, write_text_atomic
from ftvsrag.generation.answering import AnswerRuntime
from ftvsrag.generation.generate import batch_limits
from ftvsrag.generation.models import AnsweringModels
from ftvsrag.generation.qa import (
    GENERATED_PARAPHRASES_FILE,
    GENERATED_QA_FILE,
    QAWriter,
    generated_note,
    rewording_note,
)
from ftvsrag.indexing import knowledge_index
from ftvsrag.knowledge import Knowledge
from ftvsrag.knowledge.probe import general_questions
from ftvsrag.knowledge.questions import QuestionSets, question_sets
from ftvsrag.knowledge.sources import load_knowledge
from ftvsrag.leftovers import remove_abandoned_checkpoints, remove_dead_writers
from ftvsrag.locks import claimed_run
from ftvsrag.manifest import build_manifest, processor_name
from ftvsrag.names import FT_ADAPTER, READER_ADAPTER, UPDATED
from ftvsrag.rag.chunking import Passage, chunk_documents
from ftvsrag.rag.config import RagSettings
from ftvsrag.rag.embeddings import Embedder
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.server import connect, recorded_headers, sent_headers
from ftvsrag.rag.store import release_chroma, upsert_documents
from ftvsrag.run_folder import check_run_target, staged_run
from ftvsrag.stages import Ledger, StageCache
from ftvsrag.team import SOLO, Team
from ftvsrag.train.adapter import ModelRuntime
from ftvsrag.train.model import (
    default_cache_dir,
    load_model,
    load_tokenizer,
    model_parameters,
    model_sha256,
    plan_device,
    resolve_model,
)
from ftvsrag.train.recipes import recipe_phrase

DATA_FILE = "knowledge.jsonl"
CHART_FILE = "accuracy.png"
PASSAGES_FILE = "passages.jsonl"


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    results: dict
    report: str
    knowledge_phrase: str
    """What the knowledge fine-tune trained on, in a few words (empty: no arm uses it)."""
    warnings: list[str]
    """What the console must say beside the table (an adapter that trained nothing)."""


def run_experiment(
    config: ExperimentConfig,
    force: frozenset[str] = frozenset(),
    team: Team = SOLO,
    verbose: bool = False,
    verify: bool = False,
) -> RunOutcome:
    """Run every arm of `config`. Stages whose inputs are unchanged since an earlier run are reused
    from `<runs_dir>/.cache/` unless named in `force` (with `verify`, after checking their digests).
    Run by a team's leader, the followers share training and answering (ftvsrag/team.py)."""
    run = RunContext.of(config, force, team, verbose, verify)
    knowledge, questions = checked_inputs(run)
    with claimed(run):
        return run_claimed(run, knowledge, questions)


@contextmanager
def claimed(run: RunContext) -> Iterator[None]:
    """The run's name held against a second process for the block; the leftovers of interrupted
    runs removed before it, and checkpoints no run resumed after it, each with one line."""
    with claimed_run(run.run_dir), disk_full_in_one_line(run.runs_dir):
        say(remove_dead_writers(run.runs_dir, run.cache_root))
        yield
        say(remove_abandoned_checkpoints(run.cache_root))


def say(line: str | None) -> None:
    if line:
        print(line, flush=True)


def run_claimed(run: RunContext, knowledge: Knowledge, questions: QuestionSets) -> RunOutcome:
    """The experiment, once its inputs are checked and its name is held."""
    config = run.config
    cache = StageCache(run.cache_root, run.force, verify=run.verify)
    with staged_run(run.run_dir) as folder, run_log(folder / LOG_FILE, run.verbose):
        with cache.ledger.timed("resolve model"):
            setup = prepare(run)
        with cache.ledger.timed("chunk"):
            passages = knowledge_passages(config.rag, knowledge, setup.model.tokenizer)
        upserts = bool(questions.changed)
        writer = qa_writer(run, setup, passages, cache)
        with knowledge_index(run, setup, passages, cache, folder, upserts) as (collection, index):
            adapters = train_adapters(run, setup, knowledge, passages, collection, cache, writer)
            asker = make_asker(run, setup, cache, adapters, passages)
            records = answer_splits(run, setup, questions, collection, asker, cache.ledger)
            records += answer_probe(run, knowledge, asker)
            release_chroma()
        copy_adapters(adapters, folder / "adapters", config.seeds)
        warnings = unchanged_notes(adapters, config.seeds)
        notes = questions.notes + reader_notes(run, adapters) + held_out_notes(run, adapters)
        notes += generated_notes(writer) + warnings
        notes += reuse_notes(cache)
        results = summarise(
            [r.to_json() for r in records],
            run.summary,
            cache.ledger.timings(),
            notes,
            cost_seconds=cache.ledger.compute_s,
            tokens=cache.ledger.tokens,
            parameters=model_parameters(setup.model.model),
        )
        write_generated(folder, writer, results)
        results["training_curves"] = {
            adapter_name(key, config.seeds): trained.report.losses for key, trained in adapters.items()
        }
        report = write_run(
            folder, run, setup, knowledge, passages, adapters, records, results, cache.ledger, index
        )
    phrase = recipe_phrase(knowledge_method(run, knowledge))
    return RunOutcome(run.run_dir, results, report, phrase, warnings)


def checked_inputs(run: RunContext) -> tuple[Knowledge, QuestionSets]:
    """What a run reads before any model loads, every record checked: where it may write, the
    knowledge base and the question sets."""
    config = run.config
    check_run_target(run.run_dir)
    knowledge = load_knowledge(config.data)
    questions = question_sets(
        knowledge,
        config.eval.splits,
        config.data.paraphrases_path,
        config.eval.updated_facts,
        config.data.seed,
    )
    return knowledge, questions


def check_processes(config: ExperimentConfig, processes: int) -> None:
    """A team trains with the global batch of one process, split evenly between its processes."""
    adapters = RunContext.of(config).adapters
    knowledge_adapters = [a for a in adapters if a != READER_ADAPTER]
    batches = [("train.batch_size", config.train.batch_size, bool(knowledge_adapters))]
    batches.append(("reader.train.batch_size", config.reader.train.batch_size, READER_ADAPTER in adapters))
    for key, size, used in batches:
        if used and size % processes:
            raise UserInputError(
                f"config key '{key}' ({size}) must divide by the number of processes ({processes}): "
                "each optimiser step splits one batch between them"
            )


def knowledge_passages(rag: RagSettings, knowledge: Knowledge, tokenizer) -> list[Passage]:
    """What the index holds: the documents' chunks, or each fact's own text as one passage."""
    if knowledge.has_documents:
        return chunk_documents(knowledge.documents, tokenizer, rag.chunk_tokens, rag.chunk_overlap)
    return [Passage(f.id, f.id, f.document) for f in knowledge.facts]


def prepare(run: RunContext, convert: bool = True) -> Setup:
    """The model's weights on disk (converted and cached if need be), the device, how to batch,
    and the embedding model when retrieval is used. With `convert=False` (a dry run) nothing is
    written: a GGUF not yet converted is read as it is."""
    config = run.config
    server = None
    if config.rag.server and run.needs_embedder:  # first: a dead server is said before minutes of loading
        headers = sent_headers(config.rag.server_headers)
        server = connect(config.rag.server, headers, config.rag.server_timeout_s)
    cache_dir = model_cache_dir(config)
    model_ref = resolve_model(config.model, cache_dir, convert)
    plan = plan_device(config.device, config.dtype)
    model_id = (
        model_sha256(model_ref, cache_dir, remember=convert),
        plan.device.split(":")[0],
        plan.dtype_name,
    )
    runtime = ModelRuntime(model_ref, plan, load_tokenizer(model_ref), model_id, run.team)
    embedder = Embedder(config.rag.embedding_model, plan.device, run.team) if run.needs_embedder else None
    return Setup(runtime, batch_limits(plan.device, config.eval.batch_size), embedder, server)


def model_cache_dir(config: ExperimentConfig) -> Path:
    return Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()


def qa_writer(run: RunContext, setup: Setup, passages: list[Passage], cache: StageCache) -> QAWriter:
    """The generator of the `qa-gen` recipe's pairs: nothing is loaded unless a recipe asks."""
    config = run.config
    return QAWriter(config.generator, setup.model, passages, cache, model_cache_dir(config), setup.limits)


def generated_notes(writer: QAWriter) -> list[str]:
    notes = [] if writer.pairs is None else [generated_note(writer.summary())]
    return notes + ([] if writer.rewordings is None else [rewording_note(writer.rewording_summary())])


def write_generated(folder: Path, writer: QAWriter, results: dict) -> None:
    """Every generated pair, kept or dropped and why, and every rewording trained on, beside what the
    report says of them."""
    if writer.pairs is not None:
        results["generated_qa"] = writer.summary()
        write_jsonl(folder / GENERATED_QA_FILE, [asdict(pair) for pair in writer.pairs])
    if writer.rewordings is not None:
        results["generated_paraphrases"] = writer.rewording_summary()
        rows = [{"question": q, "rewordings": r} for q, r in writer.rewordings.items()]
        write_jsonl(folder / GENERATED_PARAPHRASES_FILE, rows)


def make_asker(
    run: RunContext, setup: Setup, cache: StageCache, adapters: Adapters, passages: list[Passage]
) -> Asker:
    models = AnsweringModels(lambda: load_model(setup.model.model, setup.model.plan))
    for adapter in adapters.values():
        models.add(adapter.sha256, adapter.folder)
    runtime = AnswerRuntime(models, setup.model.tokenizer, setup.limits, setup.model)
    settings = AskSettings.of(run.config, max(RECALL_KS))
    return Asker(
        settings, setup.model.model_id, cache, runtime, adapters, {p.id: p.document_id for p in passages}
    )


def answer_splits(
    run: RunContext, setup: Setup, questions: QuestionSets, collection, asker: Asker, ledger: Ledger
) -> list[AnswerRecord]:
    """Every arm asked every split (the adapted arms once per seed); the updated split's changed
    facts are upserted into the index before it is asked."""
    records: list[AnswerRecord] = []
    for split, split_questions in questions.splits.items():
        if split == UPDATED and collection is not None:
            with ledger.timed("index"):
                changed = questions.changed
                upsert_documents(
                    collection, setup.embedder, [f.id for f in changed], [f.document for f in changed]
                )
        contexts = retrieve(run, setup, collection, [q.text for q in split_questions], ledger)
        for arm in run.arms.values():
            for seed in run.config.seeds if arm.adapted else run.config.seeds[:1]:
                records += asker.ask(arm, seed, split_questions, contexts)
    return records


def retrieve(run: RunContext, setup: Setup, collection, questions: list[str], ledger: Ledger) -> Contexts:
    """Each retriever's passages for the questions, once, deep enough for every arm's k and for
    recall@5; each arm's prompt gets its own first k."""
    contexts: Contexts = {}
    for name in run.retrievers:
        depth = max(run.config.rag.k, *RECALL_KS, *(a.k for a in run.arms.values() if a.retriever == name))
        with ledger.timed("retrieve"):
            hits = make_retriever(name, collection, setup.embedder).retrieve(questions, depth)
        contexts[name] = [[(h.id, h.text) for h in found] for found in hits]
    return contexts


def answer_probe(run: RunContext, knowledge: Knowledge, asker: Asker) -> list[AnswerRecord]:
    """General-knowledge questions for the base model and the knowledge fine-tune: forgetting."""
    if not run.probed:
        return []
    probe = general_questions(knowledge.facts[0].system)
    records: list[AnswerRecord] = []
    for arm in run.probed:
        for seed in run.config.seeds if arm.adapted else run.config.seeds[:1]:
            records += asker.ask(arm, seed, probe, {}, probe=True)
    return records


def copy_adapters(adapters: Adapters, target: Path, seeds: list[int]) -> None:
    for key, trained in adapters.items():
        shutil.copytree(trained.folder, target / adapter_name(key, seeds))


def write_run(
    folder: Path,
    run: RunContext,
    setup: Setup,
    knowledge: Knowledge,
    passages: list[Passage],
    adapters: Adapters,
    records: list[AnswerRecord],
    results: dict,
    ledger: Ledger,
    index: dict,
) -> str:
    """Every file of the run folder's contract; returns the report."""
    config = redacted(run.config)
    write_text_atomic(folder / "config.yaml", to_yaml(config))
    write_jsonl(folder / DATA_FILE, [{"messages": f.messages()} for f in knowledge.facts])
    if knowledge.has_documents:
        write_jsonl(folder / PASSAGES_FILE, [asdict(p) for p in passages])
    rows = [r.to_json() for r in records]
    write_jsonl(folder / "answers.jsonl", rows)
    write_json(folder / "results.json", results)
    report, meta = write_reports(folder, report_meta(run, setup, knowledge, None), results, rows)
    write_json(
        folder / "manifest.json",
        build_manifest(
            model={
                "name": config.model,
                "loaded_from": setup.model.model.load_from,
                "source_file": str(setup.model.model.source_file or ""),
                "sha256": setup.model.model_id[0],
            },
            embedding_model=setup.embedder.model_id if setup.embedder else None,
            index=index,
            data={
                "source": knowledge.source,
                "source_sha256": knowledge.source_sha256,
                "sha256": sha256_file(folder / DATA_FILE),
                "kind": knowledge.kind,
                "facts": len(knowledge.facts),
                "documents": len(knowledge.documents),
                "passages": len(passages),
            },
            config=asdict(config),
            arms={name: arm.to_json() for name, arm in run.arms.items()},
            report_meta=meta,
            device=setup.model.plan.device,
            dtype=setup.model.plan.dtype_name,
            train_dtype=setup.model.plan.training.dtype_name,
            processes=setup.model.team.describe(),
            seeds={"training": config.seeds, "data": config.data.seed},
            training={adapter_name(key, config.seeds): asdict(a.report) for key, a in adapters.items()},
            timings_s=results["timings_s"],
            reused_stages=ledger.reused,
        ),
    )
    return report


def write_reports(folder: Path, meta: dict, results: dict, rows: list[dict]) -> tuple[str, dict]:
    """The charts, report.md and report.html (its explorer over `rows`, answers.jsonl); returns the
    report and its meta, which names the accuracy chart when there is one."""
    if write_accuracy_chart(results, folder / CHART_FILE):
        meta = {**meta, "chart": CHART_FILE}
    write_frontier_chart(results, folder / FRONTIER_FILE)
    write_training_chart(results, folder / TRAINING_FILE)
    report = render_report(results, meta)
    write_text_atomic(folder / "report.md", report)
    write_text_atomic(folder / HTML_FILE, render_html(report, rows, folder))
    return report, meta


def redacted(config: ExperimentConfig) -> ExperimentConfig:
    """The config as the run folder records it: server headers other than ${VAR} references hidden."""
    return replace(
        config, rag=replace(config.rag, server_headers=recorded_headers(config.rag.server_headers))
    )


def report_meta(run: RunContext, setup: Setup, knowledge: Knowledge, chart: str | None) -> dict:
    """What the report says about the run beside its results (kept in the manifest for `report`)."""
    config = run.config
    method = knowledge_method(run, knowledge)
    return {
        "name": config.name,
        "model": config.model,
        "device": setup.model.plan.device,
        "processor": processor_name(setup.model.plan.device),
        "dtype": setup.model.plan.dtype_name,
        "train_dtype": setup.model.plan.training.dtype_name,
        "closed_book_prompt": config.eval.closed_book_prompt,
        "knowledge_method": method,
        "knowledge_phrase": recipe_phrase(method),
        "knowledge_kind": knowledge.kind,
        "chart": chart,
    }


def knowledge_method(run: RunContext, knowledge: Knowledge) -> str | None:
    """The recipe of the knowledge fine-tune, when an arm uses it: the verdict names it."""
    return recipe_of(FT_ADAPTER, run.config.train, knowledge) if FT_ADAPTER in run.adapters else None


def reuse_notes(cache: StageCache) -> list[str]:
    if not cache.ledger.reused:
        return []
    return [
        f"reused from {cache.root} (inputs unchanged; `--force STAGE` recomputes): "
        + ", ".join(cache.ledger.reused)
    ]
