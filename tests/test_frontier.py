"""The cost-accuracy frontier: every arm a point with its compute and seconds, from a fixture."""

import pytest

from ftvsrag.eval.chart import write_frontier_chart
from ftvsrag.eval.results import SummaryOptions, summarise
from ftvsrag.eval.verdict_text import frontier_table
from tests.test_decision import SPECS, _records

TOKENS = {
    "train:ft": {"train_tokens": 1500, "computed_tokens": 1000},
    "answer:ft": {"prompt_tokens": 500, "generated_tokens": 100},
    "answer:rag": {"prompt_tokens": 3000, "generated_tokens": 100},
}
TIMINGS = {"train:ft": 40.0, "index": 2.0, "answer:ft": 5.0, "answer:rag": 10.0}


def _results(parameters):
    rag = _records("rag", set(range(95)))
    retrieved = [{**r, "retriever": "dense", "retrieved_ids": [], "gold_documents": []} for r in rag]
    records = _records("ft", set(range(70))) + retrieved
    options = SummaryOptions(first_n=0, arms={arm: SPECS[arm] for arm in ("ft", "rag")})
    return summarise(records, options, TIMINGS, tokens=TOKENS, parameters=parameters)


def test_every_arm_is_a_point_with_its_compute_and_seconds():
    found = _results(parameters=1000)["frontier"]
    points = {p["arm"]: p for p in found["points"]}
    assert found["split"] == "train" and set(points) == {"ft", "rag"}
    # ft: 4 x 1000 params x 1000 trained tokens + 2 x 1000 x 600 answering tokens.
    assert points["ft"]["flops"] == pytest.approx(4e6 + 1.2e6)
    assert points["rag"]["flops"] == pytest.approx(2 * 1000 * 3100)
    assert points["ft"]["seconds"] == pytest.approx(40.0 + 5.0)
    assert points["rag"]["seconds"] == pytest.approx(2.0 + 10.0)
    assert (points["ft"]["role"], points["rag"]["role"]) == ("fine-tune", "retrieval")
    assert (points["rag"]["accuracy"], points["rag"]["ci95"]) == (0.95, [0.8882, 0.9785])


def test_without_the_parameter_count_the_frontier_keeps_seconds_only(tmp_path):
    results = _results(parameters=None)
    assert {p["flops"] for p in results["frontier"]["points"]} == {None}
    assert write_frontier_chart(results, tmp_path / "frontier.png")
    assert "| rag | retrieval | 95.0 % [88.8 %, 97.9 %] | - | 12.0 |" in frontier_table(results)


def test_the_chart_is_a_png(tmp_path):
    path = tmp_path / "frontier.png"
    assert write_frontier_chart(_results(parameters=1000), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not write_frontier_chart({"frontier": None}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_training_curves_are_a_chart_and_a_table(tmp_path):
    from ftvsrag.eval.chart import TRAINING_FILE, write_training_chart
    from ftvsrag.eval.report import training_table

    results = {"training_curves": {"ft": [[5, 2.5], [10, 1.25]], "reader-fold0": []}}
    assert write_training_chart(results, tmp_path / TRAINING_FILE)
    assert (tmp_path / TRAINING_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = training_table(results)
    assert "| ft | 10 | 2.500 | 1.250 |" in text
    assert "| reader-fold0 | - | - | no curve: trained before curves were kept |" in text
    assert f"]({TRAINING_FILE})" in text
    assert not write_training_chart({"training_curves": {"ft": []}}, tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
