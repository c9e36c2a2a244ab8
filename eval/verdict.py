"""The verdict: the user's question answered from the paired tests on one split. **Fine-tune**,
**Retrieve**, **Both**, **Neither** or **Undecided**.

The rule, as the report states it:
1. An arm *knows* beyond the answer prior when it is significantly (exact McNemar, p < 0.05) above
   always giving the most common answer, or, on the questions that answer gets wrong, significantly
   above the best constant answer there (`beyond_prior`). The second test keeps an arm that knows the
   rare answers from being called "no better than the prior" when one answer dominates.
2. Of each role (ftvsrag.names: fine-tune, retrieval, fine-tune + retrieval) the arm compared is the
   most accurate one that knows (the most accurate one when none does).
3. **Neither** when no arm knows. **Both** when the fine-tune + retrieval arm knows and is
   significantly above the retrieval arm and the fine-tune arm. **Retrieve** when the retrieval arm
   knows and the fine-tune arm does not, or is significantly below it; **Fine-tune** the other way
   round. **Undecided** when both know and their difference is not significant.
"""

from __future__ import annotations

from typing import Any

from ftvsrag.eval.work import arm_flops
from ftvsrag.names import (
    BASE,
    CLOSED_BOOK,
    FINE_TUNE,
    FINE_TUNE_RETRIEVAL,
    FT,
    FT_ADAPTER,
    FT_RAG,
    NO_ADAPTER,
    NO_RETRIEVER,
    RAG,
    READER_RAG,
    RETRIEVAL,
    role_of,
)

SIGNIFICANT = 0.05
"""McNemar p below which the verdict calls a difference real."""
FINE_TUNE_DECISION, RETRIEVE, BOTH, NEITHER, UNDECIDED = (
    "Fine-tune",
    "Retrieve",
    "Both",
    "Neither",
    "Undecided",
)


BUILTIN_ROLES = {
    BASE: CLOSED_BOOK,
    FT: FINE_TUNE,
    RAG: RETRIEVAL,
    FT_RAG: FINE_TUNE_RETRIEVAL,
    READER_RAG: RETRIEVAL,
}
"""The built-in arms' roles (ftvsrag/arms.py), for results without `arm_specs`."""


def arm_role(arm: str, spec: dict[str, Any]) -> str:
    """An arm's role as results.json's `arm_specs` records it; for a results.json written before
    roles were recorded, from its adapter (only `ft` was a knowledge fine-tune then) and retriever,
    and from the built-in arm's name when there is no spec at all."""
    if "role" in spec:
        return spec["role"]
    if not spec:
        return BUILTIN_ROLES.get(arm, CLOSED_BOOK)
    knowledge = spec.get("adapter", NO_ADAPTER) == FT_ADAPTER
    return role_of(knowledge, spec.get("retriever", NO_RETRIEVER) != NO_RETRIEVER)


def knows(block: dict[str, Any]) -> bool:
    """Rule 1: significantly above the majority answer, or above the next constant answer on the
    questions the majority answer gets wrong. An arm with no baseline to beat (no gold answers) knows."""
    versus, beyond = block.get("vs_majority"), block.get("beyond_prior")
    if versus is None:
        return True
    above = significantly_up(versus)
    rare = beyond is not None and significantly_up(beyond["vs_next_answer"])
    return above or rare


def decide(results: dict[str, Any], split: str) -> dict[str, Any] | None:
    """results.json's `verdict` for `split` (None when no arm of a knowledge role answered it)."""
    scored = {arm: splits[split] for arm, splits in results["arms"].items() if split in splits}
    specs = results.get("arm_specs") or {}
    chosen = {
        role: _representative(scored, specs, role) for role in (FINE_TUNE, RETRIEVAL, FINE_TUNE_RETRIEVAL)
    }
    if not any(chosen.values()):
        return None
    retrieval, fine_tune, both = chosen[RETRIEVAL], chosen[FINE_TUNE], chosen[FINE_TUNE_RETRIEVAL]
    knowing = {arm for arm in chosen.values() if arm and knows(scored[arm])}
    decision = _decision(results, split, retrieval, fine_tune, both, knowing)
    pair = _pair(results, split, retrieval, fine_tune) if retrieval and fine_tune else None
    return {
        "split": split,
        "decision": decision,
        "retrieval_arm": retrieval,
        "finetune_arm": fine_tune,
        "both_arm": both,
        "knowing_arms": sorted(knowing),
        "difference": pair["change"] if pair else None,
        "p": pair["p"] if pair else None,
        "compute_ratio": _compute_ratio(results, specs, retrieval, fine_tune),
    }


def _decision(
    results: dict[str, Any],
    split: str,
    retrieval: str | None,
    fine_tune: str | None,
    both: str | None,
    knowing: set,
) -> str:
    if not knowing:
        return NEITHER
    if both in knowing and all(
        _above(results, split, both, other) for other in (retrieval, fine_tune) if other
    ):
        return BOTH
    retrieval_knows, fine_tune_knows = retrieval in knowing, fine_tune in knowing
    if retrieval_knows and (not fine_tune_knows or _above(results, split, retrieval, fine_tune)):
        return RETRIEVE
    if fine_tune_knows and (not retrieval_knows or _above(results, split, fine_tune, retrieval)):
        return FINE_TUNE_DECISION
    return UNDECIDED


def _representative(scored: dict[str, Any], specs: dict[str, Any], role: str) -> str | None:
    """Rule 2: the most accurate arm of `role` that knows, else the most accurate of `role`."""
    arms = [arm for arm in scored if arm_role(arm, specs.get(arm) or {}) == role]
    if not arms:
        return None
    knowing = [arm for arm in arms if knows(scored[arm])] or arms
    return max(knowing, key=lambda arm: scored[arm]["accuracy"])


def _pair(results: dict[str, Any], split: str, first: str, second: str) -> dict[str, Any] | None:
    """McNemar of `first` against `second` on `split`, signed so that `change` is first - second."""
    pairs = (results.get("mcnemar") or {}).get(split) or {}
    if f"{first} vs {second}" in pairs:
        return pairs[f"{first} vs {second}"]
    if f"{second} vs {first}" in pairs:
        pair = pairs[f"{second} vs {first}"]
        return {**pair, "change": -pair["change"], "ci95": [-pair["ci95"][1], -pair["ci95"][0]]}
    return None


def _above(results: dict[str, Any], split: str, winner: str, other: str | None) -> bool:
    return other is None or beats(results, split, winner, other)


def beats(results: dict[str, Any], split: str, winner: str, other: str) -> bool:
    """`winner` significantly above `other` on `split` (False when the pair was not tested)."""
    pair = _pair(results, split, winner, other)
    return pair is not None and significantly_up(pair)


def significantly_up(pair: dict[str, Any]) -> bool:
    """A paired difference real (McNemar p < SIGNIFICANT) and in favour of the second arm."""
    return pair["p"] < SIGNIFICANT and pair["change"] > 0


def _compute_ratio(
    results: dict[str, Any], specs: dict[str, Any], retrieval: str | None, fine_tune: str | None
) -> float | None:
    """The retrieval arm's model compute over the fine-tune arm's: training its adapter (if any) and
    answering every question the run asked it, in FLOPs (eval/work.py; one model, so parameters
    cancel). The embedding model's index build is not counted (it is not this model's compute)."""
    tokens = results.get("tokens") or {}
    if not (retrieval and fine_tune and tokens):
        return None
    costs = [
        arm_flops(tokens, (specs.get(arm) or {}).get("adapter", NO_ADAPTER), arm, 1)
        for arm in (retrieval, fine_tune)
    ]
    return round(costs[0] / costs[1], 4) if costs[1] > 0 else None
