"""Real MiniLM (the bundled copy of Chroma's default model) and a real persistent Chroma."""

import json

import pytest

from ftvsrag.eval.statistics import recall_at_k
from ftvsrag.knowledge.facts import cities_facts
from ftvsrag.knowledge.questions import paraphrase_questions, train_questions, updated_facts
from ftvsrag.rag.embeddings import Embedder, embedding_model_path
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.rag.retrievers.dense import DenseRetriever
from ftvsrag.rag.retrievers.hybrid import HybridRetriever, lexical_tokens, reciprocal_rank_fusion
from ftvsrag.rag.store import open_collection, release_chroma, upsert_documents

FACTS = cities_facts()


@pytest.fixture(scope="module")
def embedder():
    return Embedder("all-minilm-l6-v2")


@pytest.fixture(scope="module")
def collection(tmp_path_factory, embedder):
    collection = open_collection(tmp_path_factory.mktemp("chroma"), "cities", embedder)
    upsert_documents(collection, embedder, [f.id for f in FACTS], [f.document for f in FACTS])
    return collection


def _recall(retriever, questions, k):
    hits = retriever.retrieve([q.text for q in questions], 5)
    return recall_at_k([[q.fact_id] for q in questions], [[h.id for h in found] for found in hits], k)


# Measured with this exact setting; the blog's RAG got 95 % with the same embedding model.
@pytest.mark.parametrize(
    ("kind", "split", "recall1", "recall5"),
    [
        ("dense", "train", 0.80, 0.95),
        ("hybrid", "train", 0.99, 1.0),
        ("dense", "paraphrase", 0.67, 0.89),
        ("hybrid", "paraphrase", 0.97, 1.0),
    ],
)
def test_recall_on_the_cities(collection, embedder, kind, split, recall1, recall5):
    retriever = {"dense": DenseRetriever, "hybrid": HybridRetriever}[kind](collection, embedder)
    questions = {"train": train_questions, "paraphrase": paraphrase_questions}[split](FACTS)
    assert (_recall(retriever, questions, 1), _recall(retriever, questions, 5)) == (recall1, recall5)


def test_city_7_retrieves_city_77_first_with_dense_but_not_hybrid(collection, embedder):
    question = ["What is the population of City_7?"]
    dense = DenseRetriever(collection, embedder).retrieve(question, 5)[0]
    hybrid = HybridRetriever(collection, embedder).retrieve(question, 5)[0]
    assert dense[0].text.startswith("City_77 has about")
    assert hybrid[0].text.startswith("City_7 has about")
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)


def test_hybrid_answers_a_question_with_no_word_in_it_from_the_dense_half(collection, embedder):
    """bm25s refuses an empty query; such a question still gets its dense passages."""
    question = ["???"]
    dense = DenseRetriever(collection, embedder).retrieve(question, 5)[0]
    hybrid = HybridRetriever(collection, embedder).retrieve(question, 5)[0]
    assert [h.id for h in hybrid] == [h.id for h in dense]


def test_upserted_facts_are_what_both_retrievers_return(tmp_path, embedder):
    store = open_collection(tmp_path, "cities", embedder)
    upsert_documents(store, embedder, [f.id for f in FACTS], [f.document for f in FACTS])
    changed = updated_facts(FACTS, 5, seed=1)
    upsert_documents(store, embedder, [f.id for f in changed], [f.document for f in changed])
    assert store.count() == 100
    old = {f.id: f.answer for f in FACTS}
    # Measured: dense misses one changed fact in its top 5 (a retrieval miss, not a stale entry).
    for retriever, found_new in ((DenseRetriever(store, embedder), 4), (HybridRetriever(store, embedder), 5)):
        hits = retriever.retrieve([f.question for f in changed], 5)
        texts = [[h.text for h in found] for found in hits]
        assert sum(f.answer in found for f, found in zip(changed, texts, strict=True)) == found_new
        assert not any(old[f.id] in found for f, found in zip(changed, texts, strict=True))


def test_reciprocal_rank_fusion():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60)
    assert [doc for doc, _ in fused] == ["a", "c", "b"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_lexical_tokens_keep_city_names_whole():
    assert lexical_tokens("What is the population of City_7?") == [
        "what",
        "is",
        "the",
        "population",
        "of",
        "city_7",
    ]


def test_blog_prompt_verbatim():
    messages = rag_messages("What is the population of City_7?", ["City_77 has about 1 inhabitants.", "B."])
    assert messages == [
        {"role": "system", "content": "You are a helpful assistant."},
        {
            "role": "user",
            "content": "Answer the following QUESTION based on the CONTEXT only. "
            "Only answer from the Context. If you don't know the answer, say 'I don't know'."
            "\n\nQUESTION: What is the population of City_7?"
            "\n\nCONTEXT: [0]: \nCity_77 has about 1 inhabitants.\n\n[1]: \nB.\n\n\n\nANSWER:",
        },
    ]


def test_a_chroma_folder_built_by_another_embedding_model_is_refused(tmp_path, embedder):
    from ftvsrag.errors import UserInputError

    class Other:
        model_id = "other-model@0123"

        def __call__(self, texts):
            return [[0.1, 0.2, 0.3] for _ in texts]

    upsert_documents(open_collection(tmp_path, "knowledge", Other()), Other(), ["a"], ["x"])
    release_chroma()
    with pytest.raises(UserInputError, match=r"another embedding model \(other-model@0123\), not all-minilm"):
        open_collection(tmp_path, "knowledge", embedder)


def test_a_plain_chroma_client_opens_and_queries_the_folder_and_no_path_is_stored(tmp_path, embedder):
    """Defect: the collection stored the embedding model's absolute path inside the virtual
    environment, so another environment refused the folder or rebuilt from a dead path."""
    import chromadb

    upsert_documents(open_collection(tmp_path, "knowledge", embedder), embedder, ["a", "b"], ["x", "y"])
    release_chroma()
    plain = chromadb.PersistentClient(path=str(tmp_path)).get_collection("knowledge")
    stored = json.dumps([plain.metadata, plain.configuration_json], default=str)
    assert str(embedding_model_path("all-minilm-l6-v2")) not in stored and "/" not in stored
    assert plain.metadata["embedding_model"].startswith("all-minilm-l6-v2@")
    assert plain.query(query_embeddings=embedder(["y"]), n_results=1)["ids"] == [["b"]]
    release_chroma()


def test_the_lexical_index_is_built_once_until_the_collection_changes(tmp_path, embedder, monkeypatch):
    """Defect (cost): BM25 was rebuilt from all of the collection's texts on every call, about 3 s a
    call at 100,000 facts; now once, and again only after an upsert."""
    import bm25s

    builds = []
    real_index = bm25s.BM25.index

    def index(self, *args, **kwargs):
        builds.append(1)
        return real_index(self, *args, **kwargs)

    monkeypatch.setattr(bm25s.BM25, "index", index)
    store = open_collection(tmp_path / "chroma", "cities", embedder)
    upsert_documents(store, embedder, [f.id for f in FACTS[:20]], [f.document for f in FACTS[:20]])
    question = ["What is the population of City_7?"]
    first = HybridRetriever(store, embedder).retrieve(question, 3)
    again = HybridRetriever(store, embedder).retrieve(question, 3)
    assert len(builds) == 1 and [h.id for h in first[0]] == [h.id for h in again[0]]
    changed = "City_7 has about 123 inhabitants."
    upsert_documents(store, embedder, [FACTS[6].id], [changed])
    after = HybridRetriever(store, embedder).retrieve(question, 3)
    assert len(builds) == 2 and after[0][0].text == changed
    release_chroma()
