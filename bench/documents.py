"""Benchmark of a document knowledge base: chunking and indexing throughput, and seconds per
question answered closed book and with retrieval (the shipped PopQA example, configs/popqa.yaml).

    python bench/run.py --only-documents   # this part alone (a few minutes); writes bench-documents.json

Each part is timed in this process with the libraries imported and the models loaded first, so that
the figures are the work itself: chunking with the chat model's tokenizer (semchunk), embedding and
upserting the passages into a fresh Chroma folder, and answering the first questions with the base
model (batched as the project does), closed book and over the dense retriever's top k passages.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POPQA_CONFIG = "configs/popqa.yaml"


def document_bench(plan, model_cache: Path, questions: int = 35, repeats: int = 3) -> dict:
    """Throughput of each step on the PopQA example, medians of `repeats` for chunking and indexing."""
    import statistics

    from ftvsrag.config import load_config
    from ftvsrag.knowledge.sources import load_knowledge
    from ftvsrag.rag.chunking import chunk_documents
    from ftvsrag.rag.embeddings import Embedder
    from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents
    from ftvsrag.train.model import load_model, load_tokenizer, resolve_model

    config = load_config(REPO / POPQA_CONFIG, [f"cache_dir={model_cache}"])
    ref = resolve_model(config.model, model_cache)
    tokenizer = load_tokenizer(ref)
    knowledge = load_knowledge(config.data)
    documents = knowledge.documents
    chunk_s, index_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        passages = chunk_documents(documents, tokenizer, config.rag.chunk_tokens, config.rag.chunk_overlap)
        chunk_s.append(time.perf_counter() - started)
    embedder = Embedder(config.rag.embedding_model, plan.device)
    embedder(["warm up"])
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            collection = open_collection(Path(folder), "bench", embedder)
            upsert_documents(collection, embedder, [p.id for p in passages], [p.text for p in passages])
            index_s.append(time.perf_counter() - started)
            if len(index_s) == repeats:
                answering = answering_seconds(
                    config, knowledge, collection, embedder, load_model(ref, plan), tokenizer, questions
                )
            release_chroma()
    chunk, index = statistics.median(chunk_s), statistics.median(index_s)
    characters = sum(len(d.text) for d in documents)
    return {
        "documents": len(documents),
        "characters": characters,
        "passages": len(passages),
        "chunk_s": round(chunk, 3),
        "chunk_documents_per_s": round(len(documents) / chunk, 1),
        "index_s": round(index, 2),
        "index_documents_per_s": round(len(documents) / index, 1),
        "index_passages_per_s": round(len(passages) / index, 1),
        "chunk_and_index_documents_per_s": round(len(documents) / (chunk + index), 1),
        "answering": answering,
        "settings": {
            "chunk_tokens": config.rag.chunk_tokens,
            "overlap": config.rag.chunk_overlap,
            "k": config.rag.k,
        },
    }


def answering_seconds(config, knowledge, collection, embedder, model, tokenizer, count: int) -> dict:
    """Seconds per question for the first `count` questions: closed book, and with k passages."""
    from ftvsrag.generation.generate import batch_limits, generate_answers
    from ftvsrag.rag.prompts import closed_book_messages, rag_messages
    from ftvsrag.rag.retrievers.dense import DenseRetriever

    questions = [fact.question for fact in knowledge.facts[:count]]
    started = time.perf_counter()
    hits = DenseRetriever(collection, embedder).retrieve(questions, config.rag.k)
    retrieve_s = time.perf_counter() - started
    conversations = {
        "closed book": [closed_book_messages(q) for q in questions],
        "rag": [rag_messages(q, [h.text for h in found]) for q, found in zip(questions, hits, strict=True)],
    }
    measured = {"questions": count, "retrieve_ms_per_question": round(1000 * retrieve_s / count, 1)}
    for name, asked in conversations.items():
        started = time.perf_counter()
        generation = generate_answers(
            model, tokenizer, asked, batch_limits(str(model.device)), config.eval.max_new_tokens, desc=name
        )
        seconds = time.perf_counter() - started
        measured[name] = {
            "seconds_per_question": round(seconds / count, 3),
            "prompt_tokens_per_question": round(sum(generation.prompt_tokens) / count, 1),
            "generated_tokens_per_question": round(sum(generation.generated_tokens) / count, 1),
        }
    return measured


def document_lines(bench: dict) -> list[str]:
    answering = bench["answering"]
    return [
        f"documents: {bench['documents']} ({bench['characters']:,} characters) -> "
        f"{bench['passages']} passages",
        f"chunking: {bench['chunk_s']:.2f} s = {bench['chunk_documents_per_s']:.0f} documents/s",
        f"indexing (embed + upsert): {bench['index_s']:.1f} s = "
        f"{bench['index_documents_per_s']:.1f} documents/s, {bench['index_passages_per_s']:.0f} passages/s",
        f"retrieval: {answering['retrieve_ms_per_question']:.1f} ms/question",
        *(
            f"{name}: {answering[name]['seconds_per_question']:.3f} s/question "
            f"({answering[name]['prompt_tokens_per_question']:.0f} prompt tokens)"
            for name in ("closed book", "rag")
        ),
    ]
