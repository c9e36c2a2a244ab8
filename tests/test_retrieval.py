"""Real MiniLM (the bundled copy of Chroma's default model) and a real persistent Chroma."""

import pytest

from ftvsrag.eval.facts import Fact, cities_records
from ftvsrag.eval.metrics import recall_at_k
from ftvsrag.rag.embeddings import embedding_function
from ftvsrag.rag.prompts import rag_messages
from ftvsrag.rag.store import open_collection, retrieve, upsert_documents


@pytest.fixture(scope="module")
def city_hits(tmp_path_factory):
    facts = [
        Fact(
            f"fact-{i:05d}",
            r["messages"][0]["content"],
            r["messages"][1]["content"],
            r["messages"][2]["content"],
        )
        for i, r in enumerate(cities_records())
    ]
    collection = open_collection(
        tmp_path_factory.mktemp("chroma"), "cities", embedding_function("all-minilm-l6-v2")
    )
    upsert_documents(collection, [f.id for f in facts], [f.document for f in facts])
    return facts, retrieve(collection, [f.question for f in facts], k=5), collection


def test_recall_on_the_cities(city_hits):
    facts, hits, _ = city_hits
    gold = [f.id for f in facts]
    ranked = [[h.id for h in found] for found in hits]
    # Measured with this exact setting; the blog's RAG got 95 % with the same embedding model.
    assert recall_at_k(gold, ranked, 1) == 0.80
    assert recall_at_k(gold, ranked, 5) == 0.95


def test_city_7_retrieves_city_77_first_as_in_the_blog(city_hits):
    _, hits, _ = city_hits
    assert hits[6][0].text.startswith("City_77 has about")
    assert [h.distance for h in hits[6]] == sorted(h.distance for h in hits[6])


def test_the_collection_persists(city_hits, tmp_path):
    _, _, collection = city_hits
    assert collection.count() == 100


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
