"""Text answers with aliases (PopQA-style), token F1, the majority baseline, answer collapse and
the breakdown by a question field: pure functions over records."""

import pytest

from ftvsrag.eval.extract import token_f1
from ftvsrag.eval.results import SummaryOptions, answer_spread, group_table, majority_baselines, summarise
from tests.conftest import score_text

POLITICIAN = ["politician", "political leader", "political figure", "polit.", "pol"]
ACTOR = ["actor", "actress", "actors"]
QUESTION = "What is George Rankin's occupation?"


@pytest.mark.parametrize(
    ("output", "aliases", "correct", "lenient", "f1"),
    [
        ("politician", POLITICIAN, True, True, 1.0),
        ("George James Rankin was an Australian soldier and politician.", POLITICIAN, True, True, 0.2222),
        ("He was a Political Leader.", POLITICIAN, True, True, 0.6667),
        ("She is an actress.", ACTOR, True, True, 0.5),
        ("a leader, political", POLITICIAN, False, True, 1.0),
        ("He was a policeman.", POLITICIAN, False, False, 0.0),
        ("Herman Aladdin Barnett III (January 22, 1926 - May 27", ["surgeon"], False, False, 0.0),
        ("I don't know.", ACTOR, False, False, 0.0),
        ("The pol. of the region", POLITICIAN, True, True, 0.5),
    ],
)
def test_alias_scoring_on_real_looking_outputs(output, aliases, correct, lenient, f1):
    scores = score_text(output, aliases[0], QUESTION, aliases=aliases)
    assert (scores["correct"], scores["correct_lenient"], scores["metrics"]["f1"]) == (correct, lenient, f1)


def test_token_f1_is_squads():
    assert token_f1("the Eiffel tower", "Eiffel Tower") == 1.0
    assert token_f1("tower", "Eiffel Tower") == pytest.approx(2 / 3)
    assert token_f1("", "x") == 0.0


def test_numbers_keep_their_rules_beside_aliases():
    scores = score_text("City_7 has about 1,200 inhabitants.", "1200", "What is the population of City_7?")
    assert scores["kind"] == "number" and scores["correct"] is False and scores["correct_lenient"] is True


def _record(qid, gold, aliases, output, arm="ft", pageviews=None, truncated=False):
    correct = score_text(output, gold, "Q?", aliases=aliases)
    return {
        "arm": arm,
        "split": "train",
        "seed": 0,
        "id": qid,
        "question": "Q?",
        "gold": gold,
        "aliases": aliases,
        "output": output,
        "prompt_tokens": 10,
        "truncated": truncated,
        "extra": {} if pageviews is None else {"pageviews": pageviews},
        **correct,
    }


GOLDS = [
    ("q1", "politician", POLITICIAN),
    ("q2", "politician", POLITICIAN),
    ("q3", "actor", ACTOR),
    ("q4", "journalist", ["journalist"]),
    ("q5", "diplomat", ["diplomat", "politician"]),
]


def test_majority_baseline_scores_the_best_constant_answer_by_the_arms_rule():
    records = [_record(q, g, a, "actor") for q, g, a in GOLDS]
    baseline = majority_baselines(records)["train"]
    # 'politician' is the gold of two questions and an alias of a third.
    assert (baseline["answer"], baseline["correct"], baseline["n"], baseline["accuracy"]) == (
        "politician",
        3,
        5,
        0.6,
    )


def test_collapse_is_the_share_of_the_most_frequent_answer():
    outputs = ["Actor.", "actor", "politician", "An actor", "journalist"]
    rows = [
        _record(q, g, a, out, truncated=i == 0)
        for (q, g, a), out, i in zip(GOLDS, outputs, range(5), strict=True)
    ]
    spread = answer_spread(rows)
    assert (spread["top_answer"], spread["top_answer_share"], spread["distinct_answers"]) == ("actor", 0.6, 3)
    assert spread["truncated"] == 0.2


def test_summary_compares_each_arm_with_the_majority_baseline():
    records = [_record(q, g, a, "politician", arm="ft") for q, g, a in GOLDS]
    records += [_record(q, g, a, a[0], arm="rag") for q, g, a in GOLDS]
    results = summarise(records, SummaryOptions(first_n=0))
    assert results["majority"]["train"]["accuracy"] == 0.6
    ft, rag = results["arms"]["ft"]["train"], results["arms"]["rag"]["train"]
    assert ft["vs_majority"]["change"] == 0.0 and ft["top_answer_share"] == 1.0
    assert rag["accuracy"] == 1.0 and rag["vs_majority"]["only_second"] == 2


def test_group_table_by_numeric_quantiles_and_by_category():
    records = [
        _record(f"q{i}", "actor", ACTOR, "actor" if i >= 4 else "no", pageviews=10 * i) for i in range(8)
    ]
    table = group_table(records, "pageviews", buckets=4)
    rows = table["splits"]["train"]
    assert [(r["group"], r["n"], r["arms"]["ft"]) for r in rows] == [
        ("0 to 10", 2, 0.0),
        ("20 to 30", 2, 0.0),
        ("40 to 50", 2, 1.0),
        ("60 to 70", 2, 1.0),
    ]
    for record in records:
        record["extra"] = {"pageviews": "high" if record["correct"] else "low"}
    rows = group_table(records, "pageviews", buckets=4)["splits"]["train"]
    assert [(r["group"], r["n"], r["arms"]["ft"]) for r in rows] == [("high", 4, 1.0), ("low", 4, 0.0)]
