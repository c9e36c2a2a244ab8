import pytest

from ftvsrag.eval.metrics import accuracy_summary, recall_at_k, wilson_interval
from ftvsrag.eval.results import summarise


@pytest.mark.parametrize(
    ("correct", "n", "low", "high"),
    [
        # Reference values: scipy.stats.binomtest(correct, n).proportion_ci(method="wilson").
        (95, 100, 0.8882495307680809, 0.978456320845632),
        (0, 100, 0.0, 0.03699349820698568),
        (100, 100, 0.9630065017930143, 1.0),
        (1, 2, 0.09453120573423074, 0.9054687942657693),
    ],
)
def test_wilson_interval(correct, n, low, high):
    got = wilson_interval(correct, n)
    assert got == pytest.approx((low, high), abs=1e-12)


def test_wilson_interval_of_nothing_is_uninformative():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_recall_at_k():
    gold = ["a", "b", "c", "d"]
    ranked = [["a", "x"], ["x", "b"], ["x", "y"], ["d"]]
    assert recall_at_k(gold, ranked, 1) == 0.5
    assert recall_at_k(gold, ranked, 2) == 0.75


def _record(arm, correct, fmt=False, retrieved=()):
    return {
        "arm": arm,
        "split": "train",
        "id": f"q{len(retrieved)}",
        "retrieved_ids": list(retrieved),
        "correct": correct,
        "correct_lenient": correct,
        "format_ok": fmt,
    }


def test_accuracy_summary_follows_the_results_schema():
    records = [_record("rag", True)] * 19 + [_record("rag", False)]
    assert accuracy_summary(records) == {
        "n": 20,
        "correct": 19,
        "accuracy": 0.95,
        "ci95": [0.7639, 0.9911],
        "lenient_accuracy": 0.95,
        "format_ok": 0.0,
    }


def test_summarise_groups_by_arm_and_split_and_reports_the_first_n():
    records = [_record("ft", i < 3, fmt=True) for i in range(30)]
    results = summarise(records, first_n=20, timings={"train": 1.5})
    ft = results["arms"]["ft"]["train"]
    assert (ft["n"], ft["correct"], ft["format_ok"]) == (30, 3, 1.0)
    assert (ft["first20"]["n"], ft["first20"]["correct"]) == (20, 3)
    assert results["timings_s"] == {"train": 1.5}
    assert results["retrieval"] == {}
