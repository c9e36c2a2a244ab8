"""Arms as data, end to end with the real embedded model on 16 cities: arms defined in the config
(hybrid retrieval, the reader over dense retrieval, k = 10) and one over a retriever that this test
file registers itself, each in results.json, answers.jsonl, the report, the chart, the paired tests
and the cost table like a built-in arm. Then the dry run: every stage reused, nothing written."""

import json
import re
from pathlib import Path

import pytest

from ftvsrag.cli import main
from ftvsrag.rag.retrievers import RETRIEVERS, Retrieved

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")
ARMS = ["rag", "rag-hybrid", "reader-dense", "rag-k10", "overlap-rag", "reader+rag"]
OVERRIDES = [
    "data.num_cities=16",
    "train.epochs=1",
    "reader.num_facts=16",
    "eval.splits=[train]",
    "eval.forgetting_probe=false",
    "arms.rag-hybrid={adapter: none, retriever: hybrid}",
    "arms.reader-dense={adapter: reader, retriever: dense, k: 3}",
    "arms.rag-k10={adapter: none, retriever: dense, k: 10}",
    "arms.overlap-rag={adapter: none, retriever: test-overlap, k: 2}",
    f"eval.arms=[{', '.join(ARMS)}]",
]


class WordOverlap:
    """A toy retriever: the passages sharing the most words with the question, ties by id."""

    def __init__(self, collection, embedder) -> None:
        self.collection = collection

    def retrieve(self, questions: list[str], k: int) -> list[list[Retrieved]]:
        stored = self.collection.get(include=["documents"])
        passages = sorted(zip(stored["ids"], stored["documents"], strict=True))
        ranked = []
        for question in questions:
            words = set(re.findall(r"\w+", question.lower()))
            scored = [(len(words & set(re.findall(r"\w+", text.lower()))), i, text) for i, text in passages]
            best = sorted(scored, key=lambda item: (-item[0], item[1]))[:k]
            ranked.append([Retrieved(i, text, float(score)) for score, i, text in best])
        return ranked


@pytest.fixture(scope="module")
def arms_run(tmp_path_factory, smollm2):
    RETRIEVERS.add("test-overlap", WordOverlap, "word overlap (registered by tests/test_arms_end_to_end.py)")
    runs = tmp_path_factory.mktemp("runs")
    try:
        assert main(["run", CITIES, f"runs_dir={runs}", "name=arms", *OVERRIDES]) == 0
        yield runs
    finally:
        RETRIEVERS.remove("test-overlap")


@pytest.mark.slow
def test_config_arms_run_and_report_like_built_in_ones(arms_run):
    run = arms_run / "arms"
    results = json.loads((run / "results.json").read_text())
    assert list(results["arms"]) == ARMS
    specs = results["arm_specs"]
    assert (specs["rag-k10"]["retriever"], specs["rag-k10"]["k"]) == ("dense", 10)
    assert (
        specs["reader-dense"]["adapter"],
        specs["reader-dense"]["retriever"],
        specs["reader-dense"]["k"],
    ) == (
        "reader",
        "dense",
        3,
    )
    assert (
        specs["rag-hybrid"]["retriever"] == "hybrid" and specs["overlap-rag"]["retriever"] == "test-overlap"
    )
    assert "rag-k10 vs rag" in results["mcnemar"]["train"]
    assert results["costs"]["reader-dense"]["train_s"] == results["costs"]["reader+rag"]["train_s"] > 0
    report = (run / "report.md").read_text()
    for arm in ARMS:
        assert f"| **{arm}** |" in report and f"| {arm} |" in report  # results table, cost table
    assert "| **rag-k10** | dense, top 10 |" in report
    assert (run / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["arms"]["reader-dense"]["prompt"] == "rag"
    # One reader serves both reader arms.
    assert sorted(p.name for p in (run / "adapters").iterdir()) == ["reader"]


@pytest.mark.slow
def test_each_arm_got_its_own_retriever_and_k(arms_run):
    answers = [json.loads(line) for line in (arms_run / "arms" / "answers.jsonl").read_text().splitlines()]
    by_arm: dict[str, list[dict]] = {}
    for answer in answers:
        by_arm.setdefault(answer["arm"], []).append(answer)
    assert {arm: len(records) for arm, records in by_arm.items()} == dict.fromkeys(ARMS, 16)
    expected = {
        "rag": 5,
        "rag-hybrid": 5,
        "reader-dense": 3,
        "rag-k10": 10,
        "overlap-rag": 2,
        "reader+rag": 5,
    }
    for arm, k in expected.items():
        assert all(len(r["retrieved_ids"]) == k for r in by_arm[arm]), arm
        assert all(r["messages"][1]["content"].count("]: \n") == k for r in by_arm[arm]), arm
    for rag, deeper, reader in zip(by_arm["rag"], by_arm["rag-k10"], by_arm["reader-dense"], strict=True):
        assert (
            rag["retrieved_ids"] == deeper["retrieved_ids"][:5]
            and reader["retrieved_ids"] == rag["retrieved_ids"][:3]
        )
    for record in by_arm["overlap-rag"]:  # the city's own sentence is the only one sharing its name
        assert record["retriever"] == "test-overlap"
        assert record["retrieved_ids"][0] == f"fact-{int(record['question'].split('City_')[1][:-1]) - 1:05d}"


@pytest.mark.slow
def test_the_dry_run_after_the_run_reuses_every_stage_and_writes_nothing(arms_run, capsys):
    def tree():
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(arms_run.rglob("*"))}

    before = tree()
    assert main(["run", CITIES, f"runs_dir={arms_run}", "name=arms", *OVERRIDES, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert tree() == before
    assert "nothing was written" in out and "replaces an earlier run" in out
    assert "8 of 8 stages reused; nothing to compute" in out
