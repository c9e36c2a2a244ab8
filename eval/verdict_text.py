"""The verdict in words: the line that opens the CLI's output and report.md, the table of what
each arm knows beyond the answer prior, and the rule, all from results.json alone."""

from __future__ import annotations

from typing import Any

from ftvsrag.eval.chart import FRONTIER_FILE
from ftvsrag.eval.markdown import p_equals, pct, table
from ftvsrag.eval.verdict import (
    BOTH,
    FINE_TUNE_DECISION,
    NEITHER,
    RETRIEVE,
    SIGNIFICANT,
    UNDECIDED,
    knows,
    significantly_up,
)

RULE = (
    f"An arm *knows* beyond the answer prior when it is significantly (exact McNemar, p < {SIGNIFICANT}) "
    "above always giving the most common answer, or above the best constant answer on the questions "
    "that one gets wrong. Of each role, the most accurate arm that knows is compared. **Neither**: no "
    "arm knows. **Both**: the fine-tune + retrieval arm knows and is significantly above the retrieval "
    "arm and the fine-tune arm. **Retrieve** / **Fine-tune**: that arm knows and the other does not, or "
    "is significantly below it. **Undecided**: both know and differ by less than chance can explain."
)


def decision_line(results: dict[str, Any]) -> str:
    """'**Retrieve.** Retrieval (rag, 87.0 %) beats …': the user's question, answered."""
    verdict = results.get("verdict")
    if not verdict:
        return ""
    split = verdict["split"]
    scored = {arm: blocks[split] for arm, blocks in results["arms"].items() if split in blocks}
    prior = (results.get("majority") or {}).get(split)
    retrieval, fine_tune, both = verdict["retrieval_arm"], verdict["finetune_arm"], verdict["both_arm"]
    decision = verdict["decision"]
    if decision == NEITHER:
        against = f"always answering '{prior['answer']}' ({pct(prior['accuracy'])})" if prior else "chance"
        body = (
            f"No arm knows beyond the answer prior on the `{split}` questions: none is significantly above "
            f"{against}, nor above the best constant answer on the questions that one gets wrong."
        )
    elif decision == BOTH:
        body = (
            f"The fine-tune with retrieval ({_arm(scored, both)}) is significantly above "
            + " and ".join(f"{what} ({_arm(scored, arm)})" for what, arm in _alone(retrieval, fine_tune))
            + f" on the `{split}` questions."
        )
    elif decision == UNDECIDED:
        body = (
            f"Retrieval ({_arm(scored, retrieval)}) and the fine-tune without retrieval "
            f"({_arm(scored, fine_tune)}) both know beyond the answer prior on the `{split}` "
            f"questions; their difference ({_points(verdict['difference'])}) is not significant "
            f"(McNemar {p_equals(verdict['p'])})."
        )
    else:
        body = _winner_sentence(verdict, scored, split)
    return f"**{decision}.** {body}{_rare_sentence(scored, verdict, prior)}"


def _winner_sentence(verdict: dict[str, Any], scored: dict[str, Any], split: str) -> str:
    retrieve = verdict["decision"] == RETRIEVE
    winner, loser = (verdict["retrieval_arm"], verdict["finetune_arm"])[:: 1 if retrieve else -1]
    what, other = (
        ("Retrieval", "the best fine-tune without retrieval")
        if retrieve
        else (
            "The fine-tune without retrieval",
            "the best retrieval arm",
        )
    )
    sentence = f"{what} ({_arm(scored, winner)})"
    if loser is None:
        return (
            f"{sentence} knows beyond the answer prior on the `{split}` questions; no arm of the other "
            "kind was run."
        )
    difference = verdict["difference"] if retrieve else -verdict["difference"]
    if knows(scored[loser]):
        sentence += (
            f" beats {other} ({_arm(scored, loser)}) by {_points(difference)} on the `{split}` questions "
            f"(McNemar {p_equals(verdict['p'])})"
        )
    else:
        sentence += (
            f" knows beyond the answer prior on the `{split}` questions and {other} "
            f"({_arm(scored, loser)}) does not"
        )
        if verdict["p"] is not None:
            sentence += f" ({_points(difference)} apart, McNemar {p_equals(verdict['p'])})"
    return sentence + _compute_clause(verdict["compute_ratio"], retrieve) + "."


def _compute_clause(ratio: float | None, retrieve: bool) -> str:
    """The winner's model compute against the loser's (training and answering, in FLOPs)."""
    if not ratio:
        return ""
    ratio = ratio if retrieve else 1 / ratio
    share = f"1/{1 / ratio:.0f} of" if ratio < 0.5 else f"{ratio:.2g} times"
    return f", at {share} its compute"


def _rare_sentence(scored: dict[str, Any], verdict: dict[str, Any], prior: dict[str, Any] | None) -> str:
    """Where the deciding arm knows only the rare answers (its accuracy not above the prior), say so."""
    order = [verdict["retrieval_arm"], verdict["finetune_arm"], verdict["both_arm"]]
    deciding = {RETRIEVE: order, FINE_TUNE_DECISION: order[1:2], BOTH: order[2:]}.get(verdict["decision"], [])
    for arm in (a for a in deciding if a):
        block = scored[arm]
        beyond, versus = block.get("beyond_prior"), block.get("vs_majority")
        if not (beyond and versus and prior and knows(block)) or significantly_up(versus):
            continue
        return (
            f" Its accuracy is not above always answering '{prior['answer']}' "
            f"({pct(prior['accuracy'])}), but on the {beyond['questions']} questions that answer gets "
            f"wrong, {arm} is right on {beyond['correct']} (the best constant answer there, "
            f"'{beyond['next_answer']}': {beyond['next_correct']}): knowledge beyond the prior."
        )
    return ""


def knowledge_table(results: dict[str, Any]) -> str:
    """Per arm on the verdict's split: accuracy, balanced accuracy, the questions the majority answer
    gets wrong, and whether the arm knows beyond the prior."""
    verdict = results.get("verdict")
    if not verdict:
        return ""
    split = verdict["split"]
    rows = []
    for arm, blocks in results["arms"].items():
        block = blocks.get(split)
        if not block:
            continue
        beyond = block.get("beyond_prior")
        rare = (
            f"{beyond['correct']}/{beyond['questions']} ({p_equals(beyond['vs_next_answer']['p'])})"
            if beyond
            else "-"
        )
        rows.append(
            [
                arm,
                pct(block["accuracy"]),
                pct(block.get("balanced_accuracy")),
                rare,
                "yes" if knows(block) else "no",
            ]
        )
    prior = (results.get("majority") or {}).get(split) or {}
    header = [
        "arm",
        "accuracy",
        "balanced accuracy (mean over gold answers)",
        f"right where '{prior.get('answer', '?')}' is wrong (vs the best constant there)",
        "knows beyond the prior",
    ]
    return f"`{split}` split. " + RULE + "\n\n" + table(header, rows)


def _alone(retrieval: str | None, fine_tune: str | None) -> list[tuple[str, str]]:
    named = [("retrieval alone", retrieval), ("the fine-tune alone", fine_tune)]
    return [(what, arm) for what, arm in named if arm]


def _arm(scored: dict[str, Any], arm: str) -> str:
    return f"{arm}, {pct(scored[arm]['accuracy'])}"


def _points(change: float | None) -> str:
    return "-" if change is None else f"{100 * abs(change):.1f} points"


def frontier_table(results: dict[str, Any]) -> str:
    """The frontier's points: each arm's accuracy beside what it cost to answer the split."""
    found = results.get("frontier")
    if not found:
        return ""
    rows = [
        [
            point["arm"],
            point["role"],
            f"{pct(point['accuracy'])} [{pct(point['ci95'][0])}, {pct(point['ci95'][1])}]",
            "-" if point["flops"] is None else f"{point['flops'] / 1e12:.3g}",
            f"{point['seconds']:.1f}",
        ]
        for point in found["points"]
    ]
    header = ["arm", "role", "accuracy", "model compute (TFLOP)", "seconds"]
    return (
        f"`{found['split']}` split. Model compute is training the arm's adapter plus answering this "
        "split's questions (2 FLOPs per parameter per token run forward, 4 per token trained; the "
        "embedding model's index build is not counted). Seconds are this run's: training, the index "
        "build for arms that retrieve, and answering.\n\n"
        + table(header, rows)
        + f"\n\n![cost against accuracy]({FRONTIER_FILE})"
    )
