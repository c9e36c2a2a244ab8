"""The experiment, top to bottom: knowledge -> question sets -> adapters -> index -> answers (arm x
split) -> scores -> run folder. Each step is a plain function; the cached ones (train, index,
answer) go through `StageCache.run`, whose inputs record is both the cache key and what the stage
reads. Everything is validated before the run folder exists, and the folder is published whole."""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ftvsrag.asking import AdapterKey, Asker, arm_retrievers, retrievers_needed
from ftvsrag.configtools import to_yaml
from ftvsrag.errors import UserInputError
from ftvsrag.eval.answering import AnswerRuntime
from ftvsrag.eval.arms import ARMS, BASE, FT, FT_ADAPTER, READER_ADAPTER
from ftvsrag.eval.chart import write_accuracy_chart
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.facts import Fact, cities_facts, load_knowledge_base, load_paraphrases, load_questions
from ftvsrag.eval.generate import BatchLimits, batch_limits
from ftvsrag.eval.manifest import build_manifest
from ftvsrag.eval.models import AnsweringModels
from ftvsrag.eval.probe import general_questions
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
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import RECALL_KS, summarise
from ftvsrag.eval.training_data import (
    crossfit_folds,
    knowledge_rows,
)
from ftvsrag.files import (
    atomic_dir,
    sha256_file,
    sweep_stale_staging,
    write_json,
    write_jsonl,
    write_text_atomic,
)
from ftvsrag.indexing import knowledge_index
from ftvsrag.rag.chunking import Passage, chunk_documents
from ftvsrag.rag.documents import Document, load_documents
from ftvsrag.rag.embeddings import Embedder
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.server import connect, recorded_headers, sent_headers
from ftvsrag.rag.store import release_chroma, upsert_documents
from ftvsrag.reader_rows import cities_reader_rows, crossfit_reader_rows
from ftvsrag.stages import Ledger, StageCache, stage_key
from ftvsrag.team import SOLO, Team
from ftvsrag.train.adapter import ADAPTER_DIR, TRAIN_ADAPTER, AdapterInputs, ModelRuntime
from ftvsrag.train.config import TrainSettings
from ftvsrag.train.lora import TrainingReport
from ftvsrag.train.model import (
    default_cache_dir,
    load_model,
    load_tokenizer,
    model_sha256,
    plan_device,
    resolve_model,
)

DATA_FILE = "knowledge.jsonl"
CACHE_DIR = ".cache"
"""Under runs_dir: stage outputs shared by every run (see ftvsrag/stages.py)."""
CHART_FILE = "accuracy.png"
PASSAGES_FILE = "passages.jsonl"


@dataclass(frozen=True)
class Knowledge:
    facts: list[Fact]
    """The questions with their answers (for a fact knowledge base, the facts themselves)."""
    documents: list[Document]
    """A document knowledge base's documents, chunked into passages; empty for facts."""
    source: str
    source_sha256: str | None


@dataclass(frozen=True)
class QuestionSets:
    splits: dict[str, list[Question]]
    changed: list[Fact]
    """Facts given a new number after training (the updated split), upserted before it is asked."""
    notes: list[str]


@dataclass(frozen=True)
class Setup:
    model: ModelRuntime
    limits: BatchLimits
    embedder: Embedder | None
    server: object | None = None
    """The `chromadb.HttpClient` of `rag.server`, when the index lives there."""


@dataclass(frozen=True)
class TrainedAdapter:
    sha256: str
    """The weights' hash: what the answers' cache key holds."""
    folder: Path
    """The PEFT folder (in the stage cache)."""
    report: TrainingReport


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    results: dict
    report: str
    retrievers: dict[str, str]
    knowledge_method: str | None = None


def run_experiment(
    config: ExperimentConfig, force: frozenset[str] = frozenset(), team: Team = SOLO
) -> RunOutcome:
    """Run every arm of `config`. Stages whose inputs are unchanged since an earlier run are reused
    from `<runs_dir>/.cache/` unless named in `force`. Run by a team's leader, the followers
    share training and answering (ftvsrag/team.py)."""
    runs_dir = Path(config.runs_dir)
    sweep_stale_staging(runs_dir)
    cache = StageCache(runs_dir / CACHE_DIR, force)
    knowledge = load_knowledge(config)
    questions = question_sets(config, knowledge.facts)
    with cache.ledger.timed("resolve model"):
        setup = prepare(
            config,
            needs_embedder=bool(retrievers_needed(config)) or _wants(config, READER_ADAPTER),
            team=team,
        )
    with cache.ledger.timed("chunk"):
        passages = knowledge_passages(config, knowledge, setup.model.tokenizer)
    with (
        atomic_dir(runs_dir / config.name) as run,
        knowledge_index(config, setup, passages, cache, run, bool(questions.changed)) as (collection, index),
    ):
        adapters = train_adapters(config, setup, knowledge, passages, collection, cache)
        asker = make_asker(config, setup, cache, adapters, knowledge, passages)
        records = answer_splits(config, setup, questions, collection, asker, cache.ledger)
        records += answer_probe(config, knowledge.facts, asker)
        release_chroma()
        copy_adapters(adapters, run / "adapters", config.seeds)
        results = summarise(
            [r.to_json() for r in records],
            config.eval.first_n,
            cache.ledger.timings(),
            questions.notes + reader_notes(config, adapters) + reuse_notes(cache),
            cost_seconds=cache.ledger.compute_s,
            tokens=cache.ledger.tokens,
            group_by=config.eval.group_by,
            group_buckets=config.eval.group_buckets,
        )
        report = write_run(
            run, config, setup, knowledge, passages, adapters, records, results, cache.ledger, index
        )
    method = knowledge_method(config.train, knowledge) if _wants(config, FT_ADAPTER) else None
    return RunOutcome(runs_dir / config.name, results, report, arm_retrievers(config), method)


def check_processes(config: ExperimentConfig, processes: int) -> None:
    """A team trains with the global batch of one process, split evenly between its processes."""
    batches = [("train.batch_size", config.train.batch_size, _wants(config, FT_ADAPTER))]
    batches.append(
        ("reader.train.batch_size", config.reader.train.batch_size, _wants(config, READER_ADAPTER))
    )
    for key, size, used in batches:
        if used and size % processes:
            raise UserInputError(
                f"config key '{key}' ({size}) must divide by the number of processes ({processes}): "
                "each optimiser step splits one batch between them"
            )


def load_knowledge(config: ExperimentConfig) -> Knowledge:
    """The knowledge base and its questions, every record checked before any work starts."""
    if config.data.documents:
        documents_path = Path(config.data.documents).expanduser()
        questions_path = Path(config.data.questions).expanduser()
        documents = load_documents(documents_path)
        facts = load_questions(questions_path, {d.id for d in documents})
        content = stage_key([asdict(d) for d in documents], sha256_file(questions_path))
        source = f"{documents_path} ({len(documents)} documents) + {questions_path}"
        return Knowledge(facts, documents, source, content)
    if config.data.path:
        path = Path(config.data.path).expanduser()
        facts, kind = load_knowledge_base(path)
        return Knowledge(facts, [], f"{path} ({kind} format)", sha256_file(path))
    facts = cities_facts(config.data.num_cities, config.data.seed)
    return Knowledge(facts, [], f"cities(num_cities={config.data.num_cities}, seed={config.data.seed})", None)


def knowledge_passages(config: ExperimentConfig, knowledge: Knowledge, tokenizer) -> list[Passage]:
    """What the index holds: the documents' chunks, or each fact's own text as one passage."""
    if knowledge.documents:
        return chunk_documents(
            knowledge.documents, tokenizer, config.rag.chunk_tokens, config.rag.chunk_overlap
        )
    return [Passage(f.id, f.id, f.document) for f in knowledge.facts]


def question_sets(config: ExperimentConfig, facts: list[Fact]) -> QuestionSets:
    splits: dict[str, list[Question]] = {}
    notes: list[str] = []
    changed: list[Fact] = []
    if TRAIN in config.eval.splits:
        splits[TRAIN] = train_questions(facts)
    if PARAPHRASE in config.eval.splits:
        wordings = None
        if config.data.paraphrases_path:
            wordings = load_paraphrases(Path(config.data.paraphrases_path).expanduser(), facts)
        splits[PARAPHRASE] = paraphrase_questions(facts, wordings)
        if not splits[PARAPHRASE]:
            del splits[PARAPHRASE]
            notes.append(
                "paraphrase split skipped: this knowledge base has no paraphrases file "
                "(data.paraphrases_path)"
            )
    if UPDATED in config.eval.splits and config.data.documents:
        notes.append("updated split skipped: a document knowledge base has no facts to change")
    elif UPDATED in config.eval.splits:
        changed = updated_facts(facts, config.eval.updated_facts, config.data.seed + 1)
        if changed:
            splits[UPDATED] = updated_questions(facts, changed)
            notes.append(
                f"updated split: {len(changed)} facts got a new number after training and were upserted "
                "into the Chroma collection; 'stale' counts answers that give the old number"
            )
        else:
            notes.append("updated split skipped: no answer holds a number that could change")
    return QuestionSets(splits, changed, notes)


def prepare(config: ExperimentConfig, needs_embedder: bool, team: Team = SOLO) -> Setup:
    """The model's weights on disk (converted and cached if need be), the device, how to batch,
    and the embedding model when retrieval is used."""
    server = None
    if config.rag.server and needs_embedder:  # first: a dead server is said before minutes of loading
        headers = sent_headers(config.rag.server_headers)
        server = connect(config.rag.server, headers, config.rag.server_timeout_s)
    cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    model_ref = resolve_model(config.model, cache_dir)
    plan = plan_device(config.device, config.dtype)
    model_id = (model_sha256(model_ref, cache_dir), plan.device.split(":")[0], plan.dtype_name)
    runtime = ModelRuntime(model_ref, plan, load_tokenizer(model_ref), model_id, team)
    embedder = Embedder(config.rag.embedding_model, plan.device) if needs_embedder else None
    return Setup(runtime, batch_limits(plan.device, config.eval.batch_size), embedder, server)


def train_adapters(
    config: ExperimentConfig,
    setup: Setup,
    knowledge: Knowledge,
    passages: list[Passage],
    collection,
    cache: StageCache,
) -> dict[AdapterKey, TrainedAdapter]:
    """Each adapter the arms need, for each seed (and each cross-fitting fold of the reader)."""
    adapters: dict[AdapterKey, TrainedAdapter] = {}
    for seed in config.seeds:
        if _wants(config, FT_ADAPTER):
            inputs = knowledge_adapter_inputs(config.train, setup.model, knowledge, passages, seed)
            adapters[AdapterKey(FT_ADAPTER, seed)] = train_adapter(inputs, setup, cache)
        if not _wants(config, READER_ADAPTER):
            continue
        if config.reader.train_on == "cities":
            rows = cities_reader_rows(config, knowledge.facts, setup.embedder, seed)
            inputs = reader_inputs(config, setup, rows, seed)
            adapters[AdapterKey(READER_ADAPTER, seed)] = train_adapter(inputs, setup, cache)
            continue
        folds = crossfit_folds([f.id for f in knowledge.facts], config.reader.folds, seed)
        for fold in range(config.reader.folds):
            others = [f for f in knowledge.facts if folds[f.id] != fold]
            rows = crossfit_reader_rows(config, others, passages, collection, setup.embedder, seed)
            inputs = reader_inputs(config, setup, rows, seed)
            adapters[AdapterKey(READER_ADAPTER, seed, fold)] = train_adapter(inputs, setup, cache, fold)
    return adapters


def train_adapter(
    inputs: AdapterInputs, setup: Setup, cache: StageCache, fold: int | None = None
) -> TrainedAdapter:
    """The adapter for `inputs`, through the cached training stage."""
    label = f"train:{inputs.adapter}"
    detail = f"seed {inputs.seed}" + (f", fold {fold}" if fold is not None else "")
    done = cache.run(TRAIN_ADAPTER, label, inputs, setup.model, detail)
    folder = done.folder / ADAPTER_DIR
    return TrainedAdapter(sha256_file(folder / "adapter_model.safetensors"), folder, done.output)


def knowledge_adapter_inputs(
    settings: TrainSettings,
    model: ModelRuntime,
    knowledge: Knowledge,
    passages: list[Passage],
    seed: int,
) -> AdapterInputs:
    """The knowledge fine-tune's inputs: the very rows it trains on ('chat': question/answer turns,
    'lm': the passages of a document knowledge base, or the fact sentences), so editing whatever it
    reads retrains it. 'auto' is resolved first: the key holds the method actually used."""
    method = knowledge_method(settings, knowledge)
    settings = replace(settings, method=method)
    if method == "lm" and knowledge.documents:
        rows = [{"text": passage.text} for passage in passages]
    else:
        rows = knowledge_rows(knowledge.facts, method, settings.paraphrases)
    return AdapterInputs(FT_ADAPTER, model.model_id, rows, settings, seed, model.team.describe())


def reader_inputs(config: ExperimentConfig, setup: Setup, rows: list[dict], seed: int) -> AdapterInputs:
    model = setup.model
    return AdapterInputs(
        READER_ADAPTER, model.model_id, rows, reader_settings(config), seed, model.team.describe()
    )


def reader_settings(config: ExperimentConfig) -> TrainSettings:
    """The reader's training settings. Its rows are always conversations, so its method is 'chat'
    whatever the config says ('auto' would change the key of an unchanged reader)."""
    return replace(config.reader.train, method="chat")


def knowledge_method(settings: TrainSettings, knowledge: Knowledge) -> str:
    """'auto' is continued pre-training ('lm') on documents, the blog's 'chat' on facts."""
    if settings.method != "auto":
        return settings.method
    return "lm" if knowledge.documents else "chat"


def make_asker(
    config: ExperimentConfig,
    setup: Setup,
    cache: StageCache,
    adapters: dict[AdapterKey, TrainedAdapter],
    knowledge: Knowledge,
    passages: list[Passage],
) -> Asker:
    models = AnsweringModels(lambda: load_model(setup.model.model, setup.model.plan))
    for adapter in adapters.values():
        models.add(adapter.sha256, adapter.folder)
    runtime = AnswerRuntime(models, setup.model.tokenizer, setup.limits, setup.model)
    crossfit = any(key.fold is not None for key in adapters)
    folds = {
        seed: crossfit_folds([f.id for f in knowledge.facts], config.reader.folds, seed)
        for seed in (config.seeds if crossfit else [])
    }
    return Asker(
        config,
        setup,
        cache,
        runtime,
        {key: a.sha256 for key, a in adapters.items()},
        {p.id: p.document_id for p in passages},
        folds,
    )


def answer_splits(
    config: ExperimentConfig, setup: Setup, questions: QuestionSets, collection, asker: Asker, ledger: Ledger
) -> list[AnswerRecord]:
    retrievers = {
        name: make_retriever(name, collection, setup.embedder) for name in retrievers_needed(config)
    }
    records: list[AnswerRecord] = []
    for split, split_questions in questions.splits.items():
        if split == UPDATED and collection is not None:
            with ledger.timed("index"):
                changed = questions.changed
                upsert_documents(
                    collection, setup.embedder, [f.id for f in changed], [f.document for f in changed]
                )
        contexts = {}
        for name, retriever in retrievers.items():
            with ledger.timed("retrieve"):
                # Deep enough for recall@5 whatever k is; the prompt gets the first k.
                depth = max(config.rag.k, *RECALL_KS)
                hits = retriever.retrieve([q.text for q in split_questions], depth)
            contexts[name] = [[(h.id, h.text) for h in found] for found in hits]
        for arm in (ARMS[name] for name in config.eval.arms):
            for seed in config.seeds if arm.adapter else config.seeds[:1]:
                records += asker.ask(arm, seed, split_questions, contexts)
    return records


def answer_probe(config: ExperimentConfig, facts: list[Fact], asker: Asker) -> list[AnswerRecord]:
    """General-knowledge questions for the base model and the knowledge fine-tune: forgetting."""
    if not _probes(config):
        return []
    probe = general_questions(facts[0].system)
    records: list[AnswerRecord] = []
    for arm in (ARMS[BASE], ARMS[FT]):
        for seed in config.seeds if arm.adapter else config.seeds[:1]:
            records += asker.ask(arm, seed, probe, {}, probe=True)
    return records


def copy_adapters(adapters: dict[AdapterKey, TrainedAdapter], target: Path, seeds: list[int]) -> None:
    for key, trained in adapters.items():
        shutil.copytree(trained.folder, target / adapter_name(key, seeds))


def adapter_name(key: AdapterKey, seeds: list[int]) -> str:
    """'ft', 'reader-fold1', 'ft-seed2' (the seed only when there are several)."""
    name = key.adapter if len(seeds) == 1 else f"{key.adapter}-seed{key.seed}"
    return name if key.fold is None else f"{name}-fold{key.fold}"


def write_run(
    run: Path,
    config: ExperimentConfig,
    setup: Setup,
    knowledge: Knowledge,
    passages: list[Passage],
    adapters: dict[AdapterKey, TrainedAdapter],
    records: list[AnswerRecord],
    results: dict,
    ledger: Ledger,
    index: dict,
) -> str:
    """Every file of the run folder's contract; returns the report."""
    config = redacted(config)
    write_text_atomic(run / "config.yaml", to_yaml(config))
    write_jsonl(run / DATA_FILE, [{"messages": f.messages()} for f in knowledge.facts])
    if knowledge.documents:
        write_jsonl(run / PASSAGES_FILE, [asdict(p) for p in passages])
    has_chart = write_accuracy_chart(results, run / CHART_FILE)
    meta = report_meta(config, setup, knowledge, CHART_FILE if has_chart else None)
    report = render_report(results, meta)
    write_jsonl(run / "answers.jsonl", [r.to_json() for r in records])
    write_json(run / "results.json", results)
    write_text_atomic(run / "report.md", report)
    write_json(
        run / "manifest.json",
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
                "sha256": sha256_file(run / DATA_FILE),
                "facts": len(knowledge.facts),
                "documents": len(knowledge.documents),
                "passages": len(passages),
            },
            config=asdict(config),
            report_meta=meta,
            device=setup.model.plan.device,
            dtype=setup.model.plan.dtype_name,
            processes=setup.model.team.describe(),
            seeds={"training": config.seeds, "data": config.data.seed},
            training={adapter_name(key, config.seeds): asdict(a.report) for key, a in adapters.items()},
            timings_s=results["timings_s"],
            reused_stages=ledger.reused,
        ),
    )
    return report


def redacted(config: ExperimentConfig) -> ExperimentConfig:
    """The config as the run folder records it: server headers other than ${VAR} references hidden."""
    return replace(
        config, rag=replace(config.rag, server_headers=recorded_headers(config.rag.server_headers))
    )


def report_meta(config: ExperimentConfig, setup: Setup, knowledge: Knowledge, chart: str | None) -> dict:
    """What the report says about the run beside its results (kept in the manifest for `report`)."""
    return {
        "name": config.name,
        "model": config.model,
        "device": setup.model.plan.device,
        "dtype": setup.model.plan.dtype_name,
        "retrievers": arm_retrievers(config),
        "closed_book_prompt": config.eval.closed_book_prompt,
        "knowledge_method": knowledge_method(config.train, knowledge) if _wants(config, FT_ADAPTER) else None,
        "knowledge_kind": "documents" if knowledge.documents else "facts",
        "chart": chart,
    }


def reader_notes(config: ExperimentConfig, adapters: dict[AdapterKey, TrainedAdapter]) -> list[str]:
    """Which reader answered the reader+rag arm: the report must say."""
    if not any(key.adapter == READER_ADAPTER for key in adapters):
        return []
    if config.reader.train_on == "cities":
        return [
            f"reader+rag: the reader was trained on {config.reader.num_facts} generated cities "
            "(none of this knowledge base's facts), RAFT-style"
        ]
    return [
        f"reader+rag: cross-fitted reader, {config.reader.folds} folds: each question was answered by a "
        "reader trained only on the other folds' questions (RAFT-style, over this knowledge base's own "
        f"retrieved passages, {100 * config.reader.without_gold:.0f} % of contexts without the answer "
        "and 'I don't know' as the target)"
    ]


def reuse_notes(cache: StageCache) -> list[str]:
    if not cache.ledger.reused:
        return []
    return [
        f"reused from {cache.root} (inputs unchanged; `--force STAGE` recomputes): "
        + ", ".join(cache.ledger.reused)
    ]


def _probes(config: ExperimentConfig) -> bool:
    return config.eval.forgetting_probe and FT in config.eval.arms


def _wants(config: ExperimentConfig, adapter: str) -> bool:
    """Whether a run needs the adapter: an arm uses it, or (the knowledge fine-tune) the probe does."""
    used = {ARMS[name].adapter for name in config.eval.arms}
    return adapter in used or (adapter == FT_ADAPTER and _probes(config))
