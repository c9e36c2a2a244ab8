"""The headline names a best arm only when the numbers say so: above the majority baseline and every
other arm, each by exact McNemar; and it says when a fine-tune learned the answer prior only."""

from ftvsrag.eval.report import verdict
from ftvsrag.eval.results import SummaryOptions, summarise
from tests.conftest import occupation_records

GOLDS = ["politician"] * 12 + ["actor"] * 10 + [f"job{i}" for i in range(18)]


def _records(arm: str, outputs: list[str]) -> list[dict]:
    return occupation_records(arm, GOLDS, outputs)


def _right(count: int) -> list[str]:
    return [gold if i < count else "no idea" for i, gold in enumerate(GOLDS)]


def test_a_clear_winner_is_named_best():
    results = summarise(
        _records("ft", ["politician"] * 40) + _records("rag", _right(38)), SummaryOptions(first_n=0)
    )
    text = verdict(results, recipe="continued pre-training on the knowledge text")
    assert text.startswith("Best on the `train` questions: **rag** at 95.0 % accuracy, significantly above")
    assert "always answering 'politician' (30.0 %)" in text
    # The fine-tune said 'politician' to everything: the prior, and a collapse.
    assert "what it learned is at most the answer prior" in text
    assert "Collapsed: ft gave 'politician' to 100 % of the questions." in text


def test_arms_that_chance_cannot_tell_apart_get_no_winner():
    results = summarise(
        _records("rag", _right(30)) + _records("reader+rag", _right(32)), SummaryOptions(first_n=0)
    )
    text = verdict(results)
    assert text.startswith("Highest on the `train` questions: reader+rag at 80.0 %")
    assert "not significantly above rag (75.0 %)" in text and "no single arm is best" in text


def test_nothing_above_the_prior_is_said_plainly():
    results = summarise(_records("rag", _right(13)) + _records("base", _right(2)), SummaryOptions(first_n=0))
    assert verdict(results).startswith(
        "No arm beats the majority baseline on the `train` questions: the best, **rag**"
    )


def test_a_fine_tune_above_the_prior_recalls_facts():
    results = summarise(_records("ft", _right(36)) + _records("rag", _right(38)), SummaryOptions(first_n=0))
    assert (
        "significantly above always answering 'politician' (30.0 %): it recalls some of the facts"
        in verdict(results, recipe="question -> answer turns")
    )
