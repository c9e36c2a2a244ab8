"""The experiment, top to bottom: knowledge -> question sets -> adapters -> index -> answers (arm x
split) -> scores -> run folder. Each step is a plain function; the cached ones (train, index,
answer) go through `StageCache.run`, whose inputs record is both the cache key and what the stage
reads. Everything is validated before the run folder exists, and the folder is published whole."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ftvsrag.configtools import to_yaml
from ftvsrag.errors import UserInputError
from ftvsrag.eval.answering import ANSWER, AnswerInputs, AnswerRuntime
from ftvsrag.eval.arms import ARMS, BASE, FT, FT_ADAPTER, READER_ADAPTER, Arm
from ftvsrag.eval.chart import write_accuracy_chart
from ftvsrag.eval.config import ExperimentConfig
from ftvsrag.eval.facts import Fact, cities_facts, load_knowledge_base, load_paraphrases
from ftvsrag.eval.generate import BatchLimits, batch_limits
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
from ftvsrag.eval.records import AnswerRecord
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import summarise
from ftvsrag.eval.training_data import knowledge_rows, reader_rows
from ftvsrag.files import (
    atomic_dir,
    sha256_file,
    sweep_stale_staging,
    write_json,
    write_jsonl,
    write_text_atomic,
)
from ftvsrag.rag.embeddings import Embedder
from ftvsrag.rag.index import BUILD_INDEX, CHROMA_DIR, IndexInputs
from ftvsrag.rag.prompts import closed_book_messages, rag_messages
from ftvsrag.rag.retrievers import make_retriever
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents
from ftvsrag.stages import Ledger, StageCache
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


@dataclass(frozen=True)
class Knowledge:
    facts: list[Fact]
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


def run_experiment(config: ExperimentConfig, force: frozenset[str] = frozenset()) -> RunOutcome:
    """Run every arm of `config`. Stages whose inputs are unchanged since an earlier run are reused
    from `<runs_dir>/.cache/` unless named in `force`."""
    runs_dir = Path(config.runs_dir)
    sweep_stale_staging(runs_dir)
    cache = StageCache(runs_dir / CACHE_DIR, force)
    knowledge = load_knowledge(config)
    questions = question_sets(config, knowledge.facts)
    with cache.ledger.timed("resolve model"):
        setup = prepare(
            config, needs_embedder=bool(retrievers_needed(config)) or _wants(config, READER_ADAPTER)
        )
    with atomic_dir(runs_dir / config.name) as run:
        adapters = train_adapters(config, setup, knowledge.facts, cache)
        collection = build_index(config, setup, knowledge.facts, cache, run / CHROMA_DIR)
        asker = make_asker(config, setup, cache, adapters)
        records = answer_splits(config, setup, questions, collection, asker, cache.ledger)
        records += answer_probe(config, knowledge.facts, asker)
        release_chroma()
        copy_adapters(adapters, run / "adapters", config.seeds)
        results = summarise(
            [r.to_json() for r in records],
            config.eval.first_n,
            cache.ledger.timings(),
            questions.notes + reuse_notes(cache),
            cost_seconds=cache.ledger.compute_s,
            tokens=cache.ledger.tokens,
        )
        report = write_run(run, config, setup, knowledge, adapters, records, results, cache.ledger)
    return RunOutcome(runs_dir / config.name, results, report, arm_retrievers(config))


def load_knowledge(config: ExperimentConfig) -> Knowledge:
    if config.data.path:
        path = Path(config.data.path).expanduser()
        facts, kind = load_knowledge_base(path)
        return Knowledge(facts, f"{path} ({kind} format)", sha256_file(path))
    facts = cities_facts(config.data.num_cities, config.data.seed)
    return Knowledge(facts, f"cities(num_cities={config.data.num_cities}, seed={config.data.seed})", None)


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
    if UPDATED in config.eval.splits:
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


def prepare(config: ExperimentConfig, needs_embedder: bool) -> Setup:
    """The model's weights on disk (converted and cached if need be), the device, how to batch,
    and the embedding model when retrieval is used."""
    cache_dir = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
    model_ref = resolve_model(config.model, cache_dir)
    plan = plan_device(config.device, config.dtype)
    model_id = (model_sha256(model_ref, cache_dir), plan.device.split(":")[0], plan.dtype_name)
    runtime = ModelRuntime(model_ref, plan, load_tokenizer(model_ref), model_id)
    embedder = Embedder(config.rag.embedding_model, plan.device) if needs_embedder else None
    return Setup(runtime, batch_limits(plan.device, config.eval.batch_size), embedder)


def train_adapters(
    config: ExperimentConfig, setup: Setup, facts: list[Fact], cache: StageCache
) -> dict[tuple[str, int], TrainedAdapter]:
    """Each adapter the arms need, for each seed."""
    adapters: dict[tuple[str, int], TrainedAdapter] = {}
    for seed in config.seeds:
        if _wants(config, FT_ADAPTER):
            inputs = knowledge_adapter_inputs(config.train, setup.model.model_id, facts, seed)
            adapters[(FT_ADAPTER, seed)] = train_adapter(inputs, setup, cache)
        if _wants(config, READER_ADAPTER):
            rows = reader_training_rows(config, facts, setup.embedder, seed)
            inputs = AdapterInputs(READER_ADAPTER, setup.model.model_id, rows, config.reader.train, seed)
            adapters[(READER_ADAPTER, seed)] = train_adapter(inputs, setup, cache)
    return adapters


def train_adapter(inputs: AdapterInputs, setup: Setup, cache: StageCache) -> TrainedAdapter:
    """The adapter for `inputs`, through the cached training stage."""
    label, detail = f"train:{inputs.adapter}", f"seed {inputs.seed}"
    done = cache.run(TRAIN_ADAPTER, label, inputs, setup.model, detail)
    folder = done.folder / ADAPTER_DIR
    return TrainedAdapter(sha256_file(folder / "adapter_model.safetensors"), folder, done.output)


def knowledge_adapter_inputs(
    settings: TrainSettings, model_id: tuple[str, str, str], facts: list[Fact], seed: int
) -> AdapterInputs:
    """The knowledge fine-tune's inputs: the very rows it trains on ('chat': question/answer turns,
    'lm': the documents), so editing whatever it reads retrains it."""
    rows = knowledge_rows(facts, settings.method, settings.paraphrases)
    return AdapterInputs(FT_ADAPTER, model_id, rows, settings, seed)


def build_index(config: ExperimentConfig, setup: Setup, facts: list[Fact], cache: StageCache, target: Path):
    """The knowledge base's Chroma collection at `target` (a copy of the cached index, so the updated
    split's upserts never touch the cache); None when no arm retrieves."""
    if not retrievers_needed(config):
        return None
    inputs = IndexInputs(
        setup.embedder.model_id, config.rag.collection, [f.id for f in facts], [f.document for f in facts]
    )
    done = cache.run(BUILD_INDEX, "index", inputs, setup.embedder)
    shutil.copytree(done.folder / CHROMA_DIR, target)
    return open_collection(target, config.rag.collection, setup.embedder)


def make_asker(
    config: ExperimentConfig,
    setup: Setup,
    cache: StageCache,
    adapters: dict[tuple[str, int], TrainedAdapter],
) -> Asker:
    models = AnsweringModels(lambda: load_model(setup.model.model, setup.model.plan))
    for adapter in adapters.values():
        models.add(adapter.sha256, adapter.folder)
    runtime = AnswerRuntime(models, setup.model.tokenizer, setup.limits)
    return Asker(config, setup, cache, runtime, {key: a.sha256 for key, a in adapters.items()})


@dataclass(frozen=True)
class Asker:
    """Asks one arm one list of questions through the cached answering stage."""

    config: ExperimentConfig
    setup: Setup
    cache: StageCache
    runtime: AnswerRuntime
    adapter_sha: dict[tuple[str, int], str]

    def ask(
        self, arm: Arm, seed: int, questions: list[Question], contexts: dict, probe: bool = False
    ) -> list[AnswerRecord]:
        retriever = retriever_of(arm, self.config) if arm.uses_retrieval else None
        found = contexts.get(retriever, [()] * len(questions))
        conversations = [
            rag_messages(q.text, [text for _, text in hits]) if retriever else self.closed_book(q, probe)
            for q, hits in zip(questions, found, strict=True)
        ]
        inputs = AnswerInputs(
            self.setup.model.model_id,
            self.adapter_sha.get((arm.adapter, seed)) if arm.adapter else None,
            conversations,
            self.config.eval.probe_max_new_tokens if probe else self.config.eval.max_new_tokens,
        )
        label = f"{'probe' if probe else 'answer'}:{arm.name}"
        detail = f"{questions[0].split}, seed {seed}"
        answers = self.cache.run(ANSWER, label, inputs, self.runtime, detail).output
        return [
            AnswerRecord(
                arm=arm.name,
                split=q.split,
                seed=seed,
                id=q.fact_id,
                question=q.text,
                gold=q.gold,
                messages=messages,
                output=text,
                prompt_tokens=tokens,
                stale_gold=q.stale,
                accepted=list(accepted_answers(q.fact_id)) if probe else [],
                retriever=retriever,
                retrieved_ids=[doc_id for doc_id, _ in hits],
                retrieved_texts=[text for _, text in hits],
            ).scored()
            for q, messages, text, tokens, hits in zip(
                questions, conversations, answers.texts, answers.prompt_tokens, found, strict=True
            )
        ]

    def closed_book(self, question: Question, probe: bool) -> list[dict[str, str]]:
        """The blog asked its fine-tune with its own instruction prompt; 'training' asks in the
        training format. The probe keeps its own plain wording."""
        if probe or self.config.eval.closed_book_prompt == "training":
            return question.messages()
        return closed_book_messages(question.text)


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
                hits = retriever.retrieve([q.text for q in split_questions], config.rag.k)
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


def copy_adapters(adapters: dict[tuple[str, int], TrainedAdapter], target: Path, seeds: list[int]) -> None:
    for (adapter, seed), trained in adapters.items():
        name = adapter if len(seeds) == 1 else f"{adapter}-seed{seed}"
        shutil.copytree(trained.folder, target / name)


def write_run(
    run: Path,
    config: ExperimentConfig,
    setup: Setup,
    knowledge: Knowledge,
    adapters: dict[tuple[str, int], TrainedAdapter],
    records: list[AnswerRecord],
    results: dict,
    ledger: Ledger,
) -> str:
    """Every file of the run folder's contract; returns the report."""
    write_text_atomic(run / "config.yaml", to_yaml(config))
    write_jsonl(run / DATA_FILE, [{"messages": f.messages()} for f in knowledge.facts])
    has_chart = write_accuracy_chart(results, run / CHART_FILE)
    meta = {
        "name": config.name,
        "model": config.model,
        "device": setup.model.plan.device,
        "dtype": setup.model.plan.dtype_name,
        "retrievers": arm_retrievers(config),
        "closed_book_prompt": config.eval.closed_book_prompt,
        "chart": CHART_FILE if has_chart else None,
    }
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
            data={
                "source": knowledge.source,
                "source_sha256": knowledge.source_sha256,
                "sha256": sha256_file(run / DATA_FILE),
                "facts": len(knowledge.facts),
            },
            config=asdict(config),
            report_meta=meta,
            device=setup.model.plan.device,
            dtype=setup.model.plan.dtype_name,
            seeds={"training": config.seeds, "data": config.data.seed},
            training={f"{name} seed {seed}": asdict(a.report) for (name, seed), a in adapters.items()},
            timings_s=results["timings_s"],
            reused_stages=ledger.reused,
        ),
    )
    return report


def reuse_notes(cache: StageCache) -> list[str]:
    if not cache.ledger.reused:
        return []
    return [
        f"reused from {cache.root} (inputs unchanged; `--force STAGE` recomputes): "
        + ", ".join(cache.ledger.reused)
    ]


def retrievers_needed(config: ExperimentConfig) -> list[str]:
    arms = [ARMS[name] for name in config.eval.arms]
    return sorted({retriever_of(arm, config) for arm in arms if arm.uses_retrieval})


def retriever_of(arm: Arm, config: ExperimentConfig) -> str:
    return config.reader.retriever if arm.adapter == READER_ADAPTER else config.rag.retriever


def arm_retrievers(config: ExperimentConfig) -> dict[str, str]:
    arms = [ARMS[name] for name in config.eval.arms]
    return {arm.name: retriever_of(arm, config) for arm in arms if arm.uses_retrieval}


def _probes(config: ExperimentConfig) -> bool:
    return config.eval.forgetting_probe and FT in config.eval.arms


def _wants(config: ExperimentConfig, adapter: str) -> bool:
    """Whether a run needs the adapter: an arm uses it, or (the knowledge fine-tune) the probe does."""
    used = {ARMS[name].adapter for name in config.eval.arms}
    return adapter in used or (adapter == FT_ADAPTER and _probes(config))


def reader_training_rows(config: ExperimentConfig, facts: list[Fact], embedder, seed: int) -> list[dict]:
    """The reader's training rows: generated cities numbered after the evaluated ones (the reader
    never sees an evaluated fact), over contexts retrieved from an index of their own, built in a
    scratch folder since only these rows need it."""
    reader = reader_facts(config, facts)
    with tempfile.TemporaryDirectory(prefix="ftvsrag-reader-index-") as scratch:
        collection = open_collection(Path(scratch), f"{config.rag.collection}-reader-train", embedder)
        upsert_documents(collection, embedder, [f.id for f in reader], [f.document for f in reader])
        retriever = make_retriever(config.reader.retriever, collection, embedder)

        def retrieve(questions: list[str]) -> list[list[tuple[str, str]]]:
            # One more than k: with the gold document taken out, k others must remain.
            hits = retriever.retrieve(questions, config.rag.k + 1)
            return [[(h.id, h.text) for h in found] for found in hits]

        rows = reader_rows(reader, retrieve, config.rag.k, config.reader.without_gold, seed)
        release_chroma()
    return rows


def reader_facts(config: ExperimentConfig, facts: list[Fact]) -> list[Fact]:
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
