"""Real MiniLM (the bundled copy of Chroma's default model) and a real persistent Chroma."""

import pytest

from ftvsrag.eval.facts import cities_facts
from ftvsrag.eval.metrics import recall_at_k
from ftvsrag.eval.questions import paraphrase_questions, train_questions, updated_facts
from ftvsrag.rag.embeddings import embedding_function
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.rag.retrievers import DenseRetriever, HybridRetriever, lexical_tokens, reciprocal_rank_fusion
from ftvsrag.rag.store import open_collection, upsert_documents

FACTS = cities_facts()


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    collection = open_collection(
        tmp_path_factory.mktemp("chroma"), "cities", embedding_function("all-minilm-l6-v2")
    )
    upsert_documents(collection, [f.id for f in FACTS], [f.document for f in FACTS])
    return collection


def _recall(retriever, questions, k):
    hits = retriever.retrieve([q.text for q in questions], 5)
    return recall_at_k([q.fact_id for q in questions], [[h.id for h in found] for found in hits], k)


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
def test_recall_on_the_cities(collection, kind, split, recall1, recall5):
    retriever = {"dense": DenseRetriever, "hybrid": HybridRetriever}[kind](collection)
    questions = {"train": train_questions, "paraphrase": paraphrase_questions}[split](FACTS)
    assert (_recall(retriever, questions, 1), _recall(retriever, questions, 5)) == (recall1, recall5)


def test_city_7_retrieves_city_77_first_with_dense_but_not_hybrid(collection):
    question = ["What is the population of City_7?"]
    dense = DenseRetriever(collection).retrieve(question, 5)[0]
    hybrid = HybridRetriever(collection).retrieve(question, 5)[0]
    assert dense[0].text.startswith("City_77 has about")
    assert hybrid[0].text.startswith("City_7 has about")
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)


def test_upserted_facts_are_what_both_retrievers_return(tmp_path):
    store = open_collection(tmp_path, "cities", embedding_function("all-minilm-l6-v2"))
    upsert_documents(store, [f.id for f in FACTS], [f.document for f in FACTS])
    changed = updated_facts(FACTS, 5, seed=1)
    upsert_documents(store, [f.id for f in changed], [f.document for f in changed])
    assert store.count() == 100
    old = {f.id: f.answer for f in FACTS}
    # Measured: dense misses one changed fact in its top 5 (a retrieval miss, not a stale entry).
    for retriever, found_new in ((DenseRetriever(store), 4), (HybridRetriever(store), 5)):
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


def test_a_chroma_folder_built_by_another_embedding_model_is_refused(tmp_path):
    import chromadb

    from ftvsrag.errors import UserInputError
    from ftvsrag.rag.embeddings import embedding_function
    from ftvsrag.rag.store import open_collection

    class Other(chromadb.EmbeddingFunction):
        def __init__(self) -> None:
            pass

        def __call__(self, input):
            return [[0.1, 0.2, 0.3] for _ in input]

        @staticmethod
        def name() -> str:
            return "other-model"

        def get_config(self) -> dict:
            return {}

        @staticmethod
        def build_from_config(config):
            return Other()

    open_collection(tmp_path, "knowledge", Other()).upsert(ids=["a"], documents=["x"])
    with pytest.raises(UserInputError, match=r"built with another embedding model \(other-model\), not "):
        open_collection(tmp_path, "knowledge", embedding_function("all-minilm-l6-v2"))
