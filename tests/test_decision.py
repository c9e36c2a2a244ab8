"""The verdict answers "fine-tune or retrieve?" from the paired tests: every decision on a table of
result cases, knowledge beyond a dominant answer, and the compute ratio."""

import pytest

from ftvsrag.eval.results import SummaryOptions, balanced_accuracy, summarise
from ftvsrag.eval.verdict_text import decision_line, knowledge_table
from tests.conftest import occupation_records

# 100 questions: 65 share one answer, 10 another, 25 have their own.
GOLDS = ["politician"] * 65 + ["actor"] * 10 + [f"job{i}" for i in range(25)]
COMMON = range(65)
RARE = range(65, 100)
SPECS = {
    "base": {"adapter": "none", "retriever": "none", "role": "closed book"},
    "ft": {"adapter": "ft", "retriever": "none", "role": "fine-tune"},
    "rag": {"adapter": "none", "retriever": "dense", "role": "retrieval"},
    "ft+rag": {"adapter": "ft", "retriever": "dense", "role": "fine-tune + retrieval"},
    "reader+rag": {"adapter": "reader", "retriever": "hybrid", "role": "retrieval"},
}


def _records(arm: str, right: set[int], otherwise: str = "no idea") -> list[dict]:
    """`arm` right on the questions `right` (it gives the gold answer), `otherwise` elsewhere."""
    return occupation_records(arm, GOLDS, [gold if i in right else otherwise for i, gold in enumerate(GOLDS)])


def _prior() -> list[dict]:
    """An arm that always gives the common answer: right on exactly the 65 common questions."""
    return _records("ft", set(COMMON), otherwise="politician")


def _summary(*records: list[dict], tokens: dict | None = None) -> dict:
    arms = {r[0]["arm"] for r in records}
    options = SummaryOptions(first_n=0, arms={arm: SPECS[arm] for arm in arms})
    return summarise([r for rs in records for r in rs], options, tokens=tokens)


CASES = {
    "retrieve": (lambda: _summary(_prior(), _records("rag", set(range(90)))), "Retrieve"),
    "fine-tune": (
        lambda: _summary(
            _records("ft", set(range(92))), _records("rag", set(COMMON), otherwise="politician")
        ),
        "Fine-tune",
    ),
    "both": (
        lambda: _summary(
            _records("ft", set(range(0, 70))),
            _records("rag", set(range(30, 100))),
            _records("ft+rag", set(range(100))),
        ),
        "Both",
    ),
    "neither": (
        lambda: _summary(_prior(), _records("rag", set(range(60)), otherwise="politician")),
        "Neither",
    ),
    "undecided": (
        lambda: _summary(_records("ft", set(range(88))), _records("rag", set(range(2, 90)))),
        "Undecided",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_decision_on_its_case(case):
    build, decision = CASES[case]
    results = build()
    assert results["verdict"]["decision"] == decision
    line = decision_line(results)
    assert line.startswith(f"**{decision}.** ")


def test_retrieve_names_both_arms_the_difference_and_the_test():
    results = CASES["retrieve"][0]()
    verdict = results["verdict"]
    assert (verdict["retrieval_arm"], verdict["finetune_arm"], verdict["both_arm"]) == ("rag", "ft", None)
    assert verdict["difference"] == 0.25  # 90 % against 65 %
    assert verdict["knowing_arms"] == ["rag"]
    assert decision_line(results) == (
        "**Retrieve.** Retrieval (rag, 90.0 %) knows beyond the answer prior on the `train` questions and "
        "the best fine-tune without retrieval (ft, 65.0 %) does not (25.0 points apart, McNemar p < 0.0001)."
    )


def test_the_most_accurate_knowing_arm_of_a_role_is_compared():
    results = _summary(_prior(), _records("rag", set(range(80))), _records("reader+rag", set(range(95))))
    assert results["verdict"]["retrieval_arm"] == "reader+rag"
    assert results["verdict"]["decision"] == "Retrieve"


def test_knowledge_of_the_rare_answers_counts_when_one_answer_dominates():
    """65 % one answer; rag is right on 30 of the 35 rare answers and misses 26 common ones, so its
    accuracy (69 %) is not above always answering the common one (65 %), yet it knows."""
    rag_right = set(range(26, 65)) | set(range(65, 95))
    results = _summary(_prior(), _records("rag", rag_right))
    rag = results["arms"]["rag"]["train"]
    assert rag["accuracy"] == 0.69 and rag["vs_majority"]["p"] > 0.05
    beyond = rag["beyond_prior"]
    assert (beyond["questions"], beyond["correct"]) == (35, 30)
    assert (beyond["next_answer"], beyond["next_correct"]) == ("actor", 10)
    assert beyond["vs_next_answer"]["p"] < 0.001
    assert results["verdict"]["decision"] == "Retrieve"
    line = decision_line(results)
    assert "Its accuracy is not above always answering 'politician' (65.0 %)" in line
    assert "on the 35 questions that answer gets wrong, rag is right on 30" in line
    assert "'actor': 10" in line
    table = knowledge_table(results)
    assert "| rag | 69.0 % |" in table and "| 30/35 (p < 0.0001) |" in table


def test_a_second_constant_answer_is_not_knowledge():
    """Always 'actor' is right on the 10 actor questions among the 35 the common answer misses:
    exactly what the best constant answer there earns, so it knows nothing."""
    results = _summary(_prior(), _records("rag", set(range(65, 75)), otherwise="actor"))
    assert results["arms"]["rag"]["train"]["beyond_prior"]["vs_next_answer"]["change"] == 0
    assert results["verdict"]["decision"] == "Neither"


def test_balanced_accuracy_weighs_every_gold_answer_alike():
    rows = _prior()
    # Right on the one 'politician' class of 27 gold answers: 1/27.
    assert balanced_accuracy(rows) == round(1 / 27, 4)
    assert balanced_accuracy(_records("rag", set(RARE))) == round(26 / 27, 4)


def test_the_compute_ratio_is_model_flops_of_the_two_arms():
    tokens = {
        "train:ft": {"computed_tokens": 1000},
        "answer:ft": {"prompt_tokens": 500, "generated_tokens": 100},
        "answer:rag": {"prompt_tokens": 3000, "generated_tokens": 100},
    }
    results = _summary(_records("ft", set(range(70))), _records("rag", set(range(95))), tokens=tokens)
    # rag: 2 x 3100; ft: 4 x 1000 + 2 x 600.
    assert results["verdict"]["compute_ratio"] == round(6200 / 5200, 4)
    assert "at 1.2 times its compute" in decision_line(results)


def test_only_retrieval_arms_still_get_a_verdict():
    results = _summary(_records("rag", set(range(90))))
    assert results["verdict"]["decision"] == "Retrieve"
    assert "no arm of the other kind was run" in decision_line(results)


def test_no_knowledge_arm_means_no_verdict():
    results = _summary(_records("base", set(range(10))))
    assert results["verdict"] is None
    assert decision_line(results) == ""


def test_a_tiny_p_value_reads_p_below_never_p_equals_below():
    """Defect: the report wrote 'McNemar p = < 0.0001' and '(p = < 0.0001)'."""
    from ftvsrag.eval.report import comparisons_table

    results = _summary(_prior(), _records("rag", set(range(95))))
    table = comparisons_table(results)
    assert "+30.0 pt (p < 0.0001)" in table
    assert "p = <" not in table
