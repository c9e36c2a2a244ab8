import pytest

from ftvsrag.eval.results import SummaryOptions, summarise
from ftvsrag.eval.statistics import accuracy_summary, recall_at_k, wilson_interval


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
    gold = [["a"], ["b"], ["c"], ["d"]]
    ranked = [["a", "x"], ["x", "b"], ["x", "y"], ["d"]]
    assert recall_at_k(gold, ranked, 1) == 0.5
    assert recall_at_k(gold, ranked, 2) == 0.75


def test_recall_counts_documents_once_and_any_gold_document():
    """Passages of one document count once toward k; any of a question's gold documents is a hit;
    a question with no gold document known is left out."""
    gold = [["d1", "d2"], ["d3"], []]
    ranked = [["d9", "d9", "d2"], ["d9", "d9", "d8", "d3"], ["d1"]]
    assert recall_at_k(gold, ranked, 1) == 0.0
    assert recall_at_k(gold, ranked, 2) == 0.5
    assert recall_at_k(gold, ranked, 3) == 1.0


def _record(arm, correct, fmt=False, index=0):
    return {
        "arm": arm,
        "split": "train",
        "seed": 0,
        "id": f"q{index}",
        "retriever": None,
        "retrieved_ids": [],
        "prompt_tokens": 40,
        "correct": correct,
        "correct_lenient": correct,
        "format_ok": fmt,
    }


def test_accuracy_summary_follows_the_results_schema():
    records = [_record("rag", True, index=i) for i in range(19)] + [_record("rag", False, index=19)]
    assert accuracy_summary(records) == {
        "n": 20,
        "correct": 19,
        "accuracy": 0.95,
        "ci95": [0.7639, 0.9911],
        "lenient_accuracy": 0.95,
        "format_ok": 0.0,
    }


def test_summarise_groups_by_arm_and_split_and_reports_the_first_n():
    records = [_record("ft", i < 3, fmt=True, index=i) for i in range(30)]
    records += [_record("base", i < 1, index=i) for i in range(30)]
    specs = {
        "ft": {"adapter": "ft", "retriever": "none", "k": 0, "prompt": "blog", "description": "the fine-tune"}
    }
    results = summarise(
        records, SummaryOptions(first_n=20, arms=specs), timings={"train:ft": 1.5, "answer:ft": 3.0}
    )
    assert results["arm_specs"] == specs
    ft = results["arms"]["ft"]["train"]
    assert (ft["n"], ft["correct"], ft["format_ok"]) == (30, 3, 1.0)
    assert (ft["first20"]["n"], ft["first20"]["correct"]) == (20, 3)
    assert results["timings_s"] == {"train:ft": 1.5, "answer:ft": 3.0}
    assert results["retrieval"] == {}
    assert results["mcnemar"]["train"]["base vs ft"]["only_first"] == 2
    assert results["costs"]["ft"] == {
        "train_s": 1.5,
        "index_s": 0.0,
        "prompt_tokens_per_question": 40.0,
        "seconds_per_question": 0.1,
    }


def test_summarise_reports_mean_and_sd_over_seeds():
    records = [{**_record("ft", i < seed, index=i), "seed": seed} for seed in (1, 2, 3) for i in range(10)]
    seeds = summarise(records, SummaryOptions(first_n=0))["arms"]["ft"]["train"]["seeds"]
    assert seeds["per_seed"] == [0.1, 0.2, 0.3]
    assert (seeds["accuracy_mean"], seeds["accuracy_sd"]) == (0.2, 0.1)


@pytest.mark.parametrize(
    ("only_first", "only_second", "p"),
    [
        # Reference values: scipy.stats.binomtest(only_first, only_first + only_second, 0.5).pvalue.
        (0, 5, 0.0625),
        (3, 10, 0.09228515625),
        (7, 7, 1.0),
        (1, 20, 2.09808349609375e-05),
        (0, 0, 1.0),
    ],
)
def test_mcnemar_exact(only_first, only_second, p):
    from ftvsrag.eval.statistics import mcnemar_exact

    assert mcnemar_exact(only_first, only_second) == pytest.approx(p, rel=1e-12)


def test_paired_difference():
    from ftvsrag.eval.statistics import paired_difference

    first = [True] * 8 + [False] * 2
    second = [True] * 5 + [False] * 3 + [True] * 2
    pair = paired_difference(first, second)
    assert (pair["only_first"], pair["only_second"], pair["change"]) == (3, 2, -0.1)
    assert pair["p"] == 1.0
    assert pair["ci95"][0] < -0.1 < pair["ci95"][1]


def test_mean_and_sd():
    from ftvsrag.eval.statistics import mean_and_sd

    assert mean_and_sd([0.5]) == (0.5, 0.0)
    mean, sd = mean_and_sd([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2) and sd == pytest.approx(0.1)
