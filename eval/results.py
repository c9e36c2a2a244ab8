"""answers.jsonl records -> the results.json structure that DESIGN.md fixes (plus statistics)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from ftvsrag.eval.extract import NUMBER
from ftvsrag.eval.frontier import frontier
from ftvsrag.eval.metrics import DEFAULT_METRIC, Reference, describe
from ftvsrag.eval.records import score
from ftvsrag.eval.statistics import accuracy_summary, mean_and_sd, mean_of, paired_difference, recall_summary
from ftvsrag.eval.verdict import decide
from ftvsrag.names import BASE, FT, GENERAL, NO_ADAPTER, TRAIN
from ftvsrag.text import normalise_text, padded_words

RECALL_KS = (1, 5)


RUN_FACTS = ("generated_qa", "generated_paraphrases", "training_curves")
"""What a run adds to results.json beside the scores (no answer re-scored changes them): kept by a rescore."""


@dataclass(frozen=True)
class SummaryOptions:
    """How records are summarised: derived from the config in one place (ftvsrag/context.py), for a
    run and for `ftvsrag report` alike."""

    metric: str = DEFAULT_METRIC
    """The right-or-wrong rule of `correct`, accuracy and the verdict."""
    first_n: int = 20
    group_by: str | None = None
    group_buckets: int = 4
    arms: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each arm's definition (adapter, retriever, k, prompt, description), written to results.json."""


def summarise(
    records: Sequence[dict[str, Any]],
    options: SummaryOptions,
    timings: dict[str, float] | None = None,
    notes: Sequence[str] = (),
    cost_seconds: dict[str, float] | None = None,
    tokens: dict[str, dict[str, int]] | None = None,
    parameters: int | None = None,
) -> dict[str, Any]:
    """Everything in results.json, computed from the records alone (and the stage timings).

    `cost_seconds` are what each training and answering stage took when it was computed (a stage
    reused from the cache takes no time in this run's `timings`); the cost table uses them.
    `tokens` are what each stage ran through the model (kept as given, for bench/run.py's FLOPs);
    with the model's `parameters`, they put each arm's compute on the frontier."""
    # Arms without an adapter answer the same under every seed (greedy decoding), so they are asked
    # once, under the first seed; the first seed's records are the headline numbers.
    seeds = sorted({r["seed"] for r in records})
    first_seed = [r for r in records if r["seed"] == seeds[0]] if seeds else []
    grouped = _group(first_seed)
    baselines = majority_baselines(first_seed, options.metric)
    arms: dict[str, dict[str, Any]] = {}
    for (arm, split), rows in grouped.items():
        if split != GENERAL:
            same = [r for r in records if r["arm"] == arm and r["split"] == split]
            arms.setdefault(arm, {})[split] = arm_block(rows, same, baselines.get(split), options.first_n)
    retrieval = _retrieval(first_seed)
    summary = {
        "arms": arms,
        "arm_specs": {arm: options.arms[arm] for arm in arms if arm in options.arms},
        "scoring": {"metric": options.metric, "rule": describe(options.metric)},
        "majority": {split: _public(b) for split, b in baselines.items()},
        "groups": group_table(first_seed, options.group_by, options.group_buckets)
        if options.group_by
        else {},
        "retrieval": retrieval.get(TRAIN, {}),
        "retrieval_by_split": retrieval,
        "answer_kinds": _answer_kinds(first_seed),
        "mcnemar": _mcnemar(grouped),
        "forgetting": _forgetting(grouped),
        "costs": _costs(first_seed, {**(timings or {}), **(cost_seconds or {})}, options.arms),
        "timings_s": dict(timings or {}),
        "compute_s": dict(cost_seconds or {}),
        "tokens": dict(tokens or {}),
        "model_parameters": parameters,
        "notes": list(notes),
    }
    split = headline_split(summary)
    return summary | {"verdict": decide(summary, split), "frontier": frontier(summary, split, parameters)}


def headline_split(summary: dict[str, Any]) -> str:
    """The split the verdict is about: the training questions when they were asked."""
    splits = sorted({split for blocks in summary["arms"].values() for split in blocks})
    return TRAIN if TRAIN in splits or not splits else splits[0]


def arm_block(
    rows: list[dict[str, Any]], all_seeds: list[dict[str, Any]], baseline: dict | None, first_n: int
) -> dict[str, Any]:
    """One arm on one split: accuracy and every metric's mean, the answers' spread, the arm against
    the majority baseline, the first-N sample, the answer kinds apart and the spread over seeds."""
    block = accuracy_summary(rows) | {"metrics": metric_means(rows)} | answer_spread(rows)
    block["balanced_accuracy"] = balanced_accuracy(rows)
    ceiling = answer_in_context(rows)
    if ceiling is not None:
        block["answer_in_context"] = ceiling
    if baseline:
        block["vs_majority"] = _versus_constant(rows, baseline["correct_ids"])
        block["beyond_prior"] = beyond_prior(rows, baseline)
    if first_n and len(rows) > first_n:
        block[f"first{first_n}"] = accuracy_summary(rows[:first_n])
    kinds = _by_kind(rows)
    if len(kinds) > 1:
        block["by_kind"] = kinds
    across = _across_seeds(all_seeds)
    if across:
        block["seeds"] = across
    return block


def metric_means(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Every metric's mean over the rows where it applies (a share, for right-or-wrong ones)."""
    names = dict.fromkeys(name for r in rows for name in r.get("metrics") or {})
    means = {name: mean_of([(r.get("metrics") or {}).get(name) for r in rows]) for name in names}
    return {name: value for name, value in means.items() if value is not None}


def _group(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        grouped[(record["arm"], record["split"])].append(record)
    return grouped


def _by_kind(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accuracy for numeric and for text answers apart, each scored by its own rule."""
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


def majority_baselines(
    records: Sequence[dict[str, Any]], metric: str = DEFAULT_METRIC
) -> dict[str, dict[str, Any]]:
    """Per split, the best constant answer: of the split's gold answers, the one that, given to every
    question, scores best under the very rule the arms are scored by (aliases included). What a
    model earns by learning the answer distribution and nothing about any one question.

    Also the best constant answer on the questions that one gets wrong (`next_answer`): what the
    answer distribution alone earns there, against which an arm's knowledge beyond the prior is
    measured (`beyond_prior`)."""
    baselines = {}
    for split, questions in _questions_by_split(records).items():
        if not all("gold" in q for q in questions.values()):
            continue
        best, best_ids = _best_constant(questions, metric)
        rest = {key: q for key, q in questions.items() if key not in best_ids}
        next_answer, next_ids = _best_constant(rest, metric)
        n = len(questions)
        baselines[split] = {
            "answer": best,
            "n": n,
            "correct": len(best_ids),
            "accuracy": round(len(best_ids) / n, 4) if n else 0.0,
            "next_answer": next_answer,
            "next_correct": len(next_ids),
            "correct_ids": best_ids,
            "next_correct_ids": next_ids,
        }
    return baselines


def _best_constant(questions: dict[tuple, dict], metric: str) -> tuple[str, set]:
    """The gold answer that, given to every one of `questions`, is right most often, and where."""
    best, best_ids = "", set()
    for candidate in sorted({q["gold"] for q in questions.values()}):
        right = {key for key, q in questions.items() if score(candidate, _reference(q), metric)["correct"]}
        if len(right) > len(best_ids):
            best, best_ids = candidate, right
    return best, best_ids


def _reference(record: dict[str, Any]) -> Reference:
    return Reference(record["gold"], record.get("question", ""), tuple(record.get("aliases") or ()))


def _questions_by_split(records: Sequence[dict[str, Any]]) -> dict[str, dict[tuple, dict]]:
    by_split: dict[str, dict[tuple, dict]] = defaultdict(dict)
    for record in records:
        if record["split"] != GENERAL:
            by_split[record["split"]].setdefault(_question_key(record), record)
    return by_split


def _question_key(record: dict[str, Any]) -> tuple:
    return (record["id"], record.get("question", ""))


def _public(baseline: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in baseline.items() if not k.endswith("correct_ids")}


def _versus_constant(rows: Sequence[dict[str, Any]], constant_right: set) -> dict[str, Any]:
    """The arm against always giving the majority answer, on the same questions (exact McNemar)."""
    baseline = [_question_key(r) in constant_right for r in rows]
    return paired_difference(baseline, [r["correct"] for r in rows])


def beyond_prior(rows: Sequence[dict[str, Any]], baseline: dict[str, Any]) -> dict[str, Any] | None:
    """The arm on the questions the majority answer gets wrong, against the best constant answer
    there (exact McNemar): knowledge of the rarer answers, which accuracy hides when one answer
    dominates. None when the majority answer is right everywhere."""
    missed = [r for r in rows if _question_key(r) not in baseline["correct_ids"]]
    if not missed:
        return None
    constant = [_question_key(r) in baseline["next_correct_ids"] for r in missed]
    correct = sum(bool(r["correct"]) for r in missed)
    return {
        "questions": len(missed),
        "correct": correct,
        "accuracy": round(correct / len(missed), 4),
        "next_answer": baseline["next_answer"],
        "next_correct": sum(constant),
        "vs_next_answer": paired_difference(constant, [r["correct"] for r in missed]),
    }


def answer_in_context(rows: Sequence[dict[str, Any]]) -> float | None:
    """The reading ceiling: the share of questions whose prompt passages contain an alias of the
    answer as whole words (after normalisation). None for closed-book arms and for questions
    without aliases (the generated cities are scored by their number)."""
    asked = [r for r in rows if r.get("retrieved_texts") and r.get("aliases")]
    if not asked:
        return None
    found = sum(_holds_alias(r["retrieved_texts"], r["aliases"]) for r in asked)
    return round(found / len(asked), 4)


def _holds_alias(passages: Sequence[str], aliases: Sequence[str]) -> bool:
    """The reader's own test of a passage stating the answer (train/reader_rows.py)."""
    texts = [padded_words(passage) for passage in passages]
    wordings = [padded_words(alias) for alias in aliases if normalise_text(alias)]
    return any(wording in text for wording in wordings for text in texts)


def balanced_accuracy(rows: Sequence[dict[str, Any]]) -> float | None:
    """Mean over the distinct gold answers of the accuracy on that answer's questions: every answer
    counts alike, however many questions share it (a constant answer scores 1 / their number)."""
    by_gold: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        if "gold" in r:
            by_gold[normalise_text(r["gold"])].append(bool(r["correct"]))
    if not by_gold:
        return None
    return round(sum(sum(v) / len(v) for v in by_gold.values()) / len(by_gold), 4)


def answer_spread(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How varied the answers are: the most frequent (normalised) answer and its share, and the share
    cut by the generation limit. A fine-tune that says one thing to every question has collapsed."""
    answers = Counter(normalise_text(r.get("output", "")) for r in rows)
    top, count = answers.most_common(1)[0] if answers else ("", 0)
    spread = {
        "top_answer": top,
        "top_answer_share": round(count / len(rows), 4) if rows else 0.0,
        "distinct_answers": len(answers),
        "truncated": round(sum(bool(r.get("truncated")) for r in rows) / len(rows), 4) if rows else 0.0,
    }
    return spread


def group_table(records: Sequence[dict[str, Any]], field: str, buckets: int) -> dict[str, Any]:
    """Accuracy per arm in groups of a question field: quantile buckets of a numeric field (e.g.
    'pageviews', Soudani et al.'s popularity axis), one group per value of any other. Per split."""
    table: dict[str, Any] = {"field": field, "splits": {}}
    for split, questions in _questions_by_split(records).items():
        values = {key: (q.get("extra") or {}).get(field) for key, q in questions.items()}
        present = {key: v for key, v in values.items() if v is not None}
        if not present:
            continue
        labels = _group_labels(present, buckets)
        rows = []
        for label in dict.fromkeys(labels[key] for key in sorted(present, key=lambda k: _order(present[k]))):
            keys = {key for key in present if labels[key] == label}
            arms = {}
            for record in records:
                if record["split"] == split and _question_key(record) in keys:
                    arms.setdefault(record["arm"], []).append(record["correct"])
            rows.append(
                {
                    "group": label,
                    "n": len(keys),
                    "arms": {arm: round(sum(c) / len(c), 4) for arm, c in arms.items()},
                }
            )
        table["splits"][split] = rows
    return table


def _order(value: Any) -> tuple:
    return (0, value, "") if _is_number(value) else (1, 0, str(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _group_labels(values: dict[tuple, Any], buckets: int) -> dict[tuple, str]:
    """Numeric values: quantile buckets labelled by their range ("43 to 142"); others: the value."""
    if not all(_is_number(v) for v in values.values()):
        return {key: str(value) for key, value in values.items()}
    ordered = sorted(values, key=lambda key: values[key])
    count = min(buckets, len(ordered))
    labels = {}
    for bucket in range(count):
        members = ordered[bucket * len(ordered) // count : (bucket + 1) * len(ordered) // count]
        low, high = values[members[0]], values[members[-1]]
        for key in members:
            labels[key] = f"{low:g} to {high:g}"
    return labels


def _retrieval(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recall per split and retriever. Each question is retrieved once per retriever; any arm that
    used the retriever carries the ranking."""
    rankings: dict[tuple[str, str], dict[str, tuple[list[str], list[str]]]] = defaultdict(dict)
    for record in records:
        if record.get("retriever"):
            gold = record.get("gold_documents") or [record["id"]]
            ranked = record.get("retrieved_documents") or record["retrieved_ids"]
            rankings[(record["split"], record["retriever"])].setdefault(record["id"], (gold, ranked))
    by_split: dict[str, dict[str, Any]] = defaultdict(dict)
    for (split, retriever), found in sorted(rankings.items()):
        golds = [gold for gold, _ in found.values()]
        by_split[split][retriever] = recall_summary(
            golds, [ranked for _, ranked in found.values()], RECALL_KS
        )
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


def _costs(
    records: Sequence[dict[str, Any]], timings: dict[str, float], specs: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per arm: training and index seconds it depends on, prompt tokens and seconds per question."""
    per_arm: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        if record["split"] != GENERAL:
            per_arm[record["arm"]].append(record)
    costs = {}
    for arm, rows in per_arm.items():
        adapter = (specs.get(arm) or {}).get("adapter", NO_ADAPTER)
        costs[arm] = {
            "train_s": timings.get(f"train:{adapter}", 0.0) if adapter != NO_ADAPTER else 0.0,
            "index_s": timings.get("index", 0.0) if rows[0].get("retriever") else 0.0,
            "prompt_tokens_per_question": round(sum(r["prompt_tokens"] for r in rows) / len(rows), 1),
            "seconds_per_question": round(timings.get(f"answer:{arm}", 0.0) / len(rows), 3),
        }
    return costs
