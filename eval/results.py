"""answers.jsonl records -> the results.json structure that DESIGN.md fixes (plus statistics)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from ftvsrag.eval.arms import ARMS, BASE, FT
from ftvsrag.eval.extract import NUMBER
from ftvsrag.eval.metrics import accuracy_summary, mean_and_sd, paired_difference, recall_summary
from ftvsrag.eval.questions import GENERAL, TRAIN

RECALL_KS = (1, 5)


def summarise(
    records: Sequence[dict[str, Any]],
    first_n: int,
    timings: dict[str, float] | None = None,
    notes: Sequence[str] = (),
    cost_seconds: dict[str, float] | None = None,
    tokens: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Everything in results.json, computed from the records alone (and the stage timings).

    `cost_seconds` are what each training and answering stage took when it was computed (a stage
    reused from the cache takes no time in this run's `timings`); the cost table uses them.
    `tokens` are what each stage ran through the model (kept as given, for bench/run.py's FLOPs)."""
    # Arms without an adapter answer the same under every seed (greedy decoding), so they are asked
    # once, under the first seed; the first seed's records are the headline numbers.
    seeds = sorted({r["seed"] for r in records})
    first_seed = [r for r in records if r["seed"] == seeds[0]] if seeds else []
    grouped = _group(first_seed)
    arms: dict[str, dict[str, Any]] = {}
    for (arm, split), rows in grouped.items():
        if split == GENERAL:
            continue
        block = accuracy_summary(rows)
        if first_n and len(rows) > first_n:
            block[f"first{first_n}"] = accuracy_summary(rows[:first_n])
        kinds = _by_kind(rows)
        if len(kinds) > 1:
            block["by_kind"] = kinds
        across = _across_seeds([r for r in records if r["arm"] == arm and r["split"] == split])
        if across:
            block["seeds"] = across
        arms.setdefault(arm, {})[split] = block
    retrieval = _retrieval(first_seed)
    return {
        "arms": arms,
        "retrieval": retrieval.get(TRAIN, {}),
        "retrieval_by_split": retrieval,
        "answer_kinds": _answer_kinds(first_seed),
        "mcnemar": _mcnemar(grouped),
        "forgetting": _forgetting(grouped),
        "costs": _costs(first_seed, {**(timings or {}), **(cost_seconds or {})}),
        "timings_s": dict(timings or {}),
        "compute_s": dict(cost_seconds or {}),
        "tokens": dict(tokens or {}),
        "notes": list(notes),
    }


def _group(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        grouped[(record["arm"], record["split"])].append(record)
    return grouped


def _by_kind(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Strict accuracy for numeric and for text answers apart, each scored by its own rule."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row.get("kind", NUMBER)].append(row)
    return {
        kind: {"n": len(group), "correct": sum(r["correct"] for r in group)}
        | {"accuracy": round(sum(r["correct"] for r in group) / len(group), 4)}
        for kind, group in sorted(by_kind.items())
    }


def _answer_kinds(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many distinct questions were scored by number and how many as text."""
    kinds = {
        (r["split"], r["id"], r.get("question")): r.get("kind", NUMBER)
        for r in records
        if r["split"] != GENERAL
    }
    return {kind: list(kinds.values()).count(kind) for kind in sorted(set(kinds.values()))}


def _across_seeds(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    by_seed: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        by_seed[record["seed"]].append(record)
    if len(by_seed) < 2:
        return None
    accuracies = [accuracy_summary(rows)["accuracy"] for _, rows in sorted(by_seed.items())]
    mean, sd = mean_and_sd(accuracies)
    return {
        "n_seeds": len(accuracies),
        "accuracy_mean": round(mean, 4),
        "accuracy_sd": round(sd, 4),
        "per_seed": accuracies,
    }


def _retrieval(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recall per split and retriever. Each question is retrieved once per retriever; any arm that
    used the retriever carries the ranking."""
    rankings: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(dict)
    for record in records:
        if record.get("retriever"):
            rankings[(record["split"], record["retriever"])].setdefault(record["id"], record["retrieved_ids"])
    by_split: dict[str, dict[str, Any]] = defaultdict(dict)
    for (split, retriever), ranked in sorted(rankings.items()):
        by_split[split][retriever] = recall_summary(list(ranked), list(ranked.values()), RECALL_KS)
    return dict(by_split)


def _mcnemar(grouped: dict[tuple[str, str], list[dict]]) -> dict[str, dict[str, Any]]:
    """Exact McNemar for every pair of arms asked the same questions."""
    by_split: dict[str, dict[str, Any]] = defaultdict(dict)
    splits = sorted({split for _, split in grouped if split != GENERAL})
    for split in splits:
        arms = [arm for arm, s in grouped if s == split]
        for first, second in combinations(arms, 2):
            a = {r["id"]: r["correct"] for r in grouped[(first, split)]}
            b = {r["id"]: r["correct"] for r in grouped[(second, split)]}
            shared = [i for i in a if i in b]
            pair = paired_difference([a[i] for i in shared], [b[i] for i in shared])
            by_split[split][f"{second} vs {first}"] = pair
    return dict(by_split)


def _forgetting(grouped: dict[tuple[str, str], list[dict]]) -> dict[str, Any]:
    base, tuned = grouped.get((BASE, GENERAL)), grouped.get((FT, GENERAL))
    if not base or not tuned:
        return {}
    after = {r["id"]: r["correct"] for r in tuned}
    return {
        "questions": len(base),
        BASE: accuracy_summary(base),
        FT: accuracy_summary(tuned),
        "change": paired_difference([r["correct"] for r in base], [after[r["id"]] for r in base]),
    }


def _costs(records: Sequence[dict[str, Any]], timings: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per arm: training and index seconds it depends on, prompt tokens and seconds per question."""
    per_arm: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record["split"] != GENERAL:
            per_arm[record["arm"]].append(record)
    costs = {}
    for arm, rows in per_arm.items():
        adapter = ARMS[arm].adapter if arm in ARMS else None
        costs[arm] = {
            "train_s": timings.get(f"train:{adapter}", 0.0) if adapter else 0.0,
            "index_s": timings.get("index", 0.0) if rows[0].get("retriever") else 0.0,
            "prompt_tokens_per_question": round(sum(r["prompt_tokens"] for r in rows) / len(rows), 1),
            "seconds_per_question": round(timings.get(f"answer:{arm}", 0.0) / len(rows), 3),
        }
    return costs
