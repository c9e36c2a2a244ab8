"""Two runs over the same questions, paired: per arm and split both accuracies, the difference with
its interval, exact McNemar, and the questions that flipped. For fp32 against bf16, two models, two
configs, two seeds. Pure: answers.jsonl records in, records and text out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ftvsrag.errors import UserInputError
from ftvsrag.eval.markdown import p_equals, pct, signed, table
from ftvsrag.eval.statistics import paired_difference
from ftvsrag.names import SPLITS

Key = tuple[str, int, str]
"""(split, the seed's position in its run, question id): seeds 0 and 1 pair as two runs' first seed."""


@dataclass(frozen=True)
class Flip:
    """A question right in one run and wrong in the other."""

    id: str
    question: str
    gold: str
    output_a: str
    output_b: str
    right_in: str
    """'A' or 'B'."""


@dataclass
class ArmComparison:
    arm: str
    split: str
    n: int
    correct_a: int
    correct_b: int
    change: float
    """B's accuracy minus A's."""
    ci95: list[float]
    p: float
    flips: list[Flip] = field(default_factory=list)

    @property
    def accuracy_a(self) -> float:
        return self.correct_a / self.n if self.n else 0.0

    @property
    def accuracy_b(self) -> float:
        return self.correct_b / self.n if self.n else 0.0


def compare_runs(
    records_a: Sequence[dict[str, Any]], records_b: Sequence[dict[str, Any]], names: tuple[str, str]
) -> list[ArmComparison]:
    """Every arm and split both runs answered, paired question by question. A one-line error when
    a split both runs have asks different questions in each, or when they share no arm."""
    a, b = _by_arm_split(records_a), _by_arm_split(records_b)
    _check_same_questions(a, b, names)
    shared = [key for key in a if key in b]
    if not shared:
        raise UserInputError(f"{names[0]} and {names[1]} answered no arm and split in common")
    return [_compare(arm, split, a[arm, split], b[arm, split]) for arm, split in _ordered(shared)]


def _by_arm_split(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[Key, dict[str, Any]]]:
    seeds = sorted({r.get("seed", 0) for r in records})
    grouped: dict[tuple[str, str], dict[Key, dict[str, Any]]] = defaultdict(dict)
    for record in records:
        key = (record["split"], seeds.index(record.get("seed", 0)), record["id"])
        grouped[record["arm"], record["split"]][key] = record
    return grouped


def _check_same_questions(a: dict, b: dict, names: tuple[str, str]) -> None:
    """Per split, the same question ids with the same question text in both runs."""
    shared = {split for _, split in a} & {split for _, split in b}
    for split in [s for s in SPLITS if s in shared] + sorted(shared - set(SPLITS)):
        asked_a, asked_b = _asked(a, split), _asked(b, split)
        if asked_a != asked_b:
            only_a, only_b = sorted(asked_a - asked_b), sorted(asked_b - asked_a)
            example = (only_a or only_b)[0]
            raise UserInputError(
                f"{names[0]} and {names[1]} asked different questions on the `{split}` split "
                f"({len(only_a)} only in the first, {len(only_b)} only in the second, e.g. "
                f"{example[1]!r}): a paired comparison needs the same questions"
            )


def _asked(grouped: dict, split: str) -> set[tuple[Any, ...]]:
    return {
        (key[2], record.get("question", ""), key[1])
        for (_, s), answers in grouped.items()
        if s == split
        for key, record in answers.items()
    }


def _ordered(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    arms = list(dict.fromkeys(arm for arm, _ in keys))
    rank = {split: i for i, split in enumerate(SPLITS)}
    return sorted(keys, key=lambda key: (arms.index(key[0]), rank.get(key[1], len(rank)), key[1]))


def _compare(arm: str, split: str, a: dict[Key, dict], b: dict[Key, dict]) -> ArmComparison:
    keys = [key for key in a if key in b]
    right_a = [bool(a[key].get("correct")) for key in keys]
    right_b = [bool(b[key].get("correct")) for key in keys]
    paired = paired_difference(right_a, right_b)
    flips = [
        Flip(
            key[2],
            a[key].get("question", ""),
            a[key].get("gold", ""),
            a[key].get("output", ""),
            b[key].get("output", ""),
            "A" if was_right else "B",
        )
        for key, was_right, is_right in zip(keys, right_a, right_b, strict=True)
        if was_right != is_right
    ]
    return ArmComparison(
        arm,
        split,
        len(keys),
        sum(right_a),
        sum(right_b),
        paired["change"],
        paired["ci95"],
        paired["p"],
        flips,
    )


def comparison_table(comparisons: Sequence[ArmComparison], names: tuple[str, str]) -> str:
    rows = [
        [
            c.arm,
            c.split,
            str(c.n),
            f"{pct(c.accuracy_a)} ({c.correct_a})",
            f"{pct(c.accuracy_b)} ({c.correct_b})",
            f"{signed(c.change)} [{signed(c.ci95[0])}, {signed(c.ci95[1])}]",
            p_equals(c.p),
            f"{sum(f.right_in == 'A' for f in c.flips)} / {sum(f.right_in == 'B' for f in c.flips)}",
        ]
        for c in comparisons
    ]
    header = ["arm", "split", "n", f"A: {names[0]}", f"B: {names[1]}", "B - A (95 % CI)", "McNemar"]
    return table([*header, "right only in A / only in B"], rows)


def flips_table(comparison: ArmComparison, limit: int | None = None) -> str:
    """The flipped questions of one arm and split (the first `limit`, or all)."""
    shown = comparison.flips if limit is None else comparison.flips[:limit]
    rows = [
        [_cell(f.id), _cell(f.question), _cell(f.gold), f.right_in, _cell(f.output_a), _cell(f.output_b)]
        for f in shown
    ]
    return table(["id", "question", "gold", "right in", "answer in A", "answer in B"], rows)


def comparison_markdown(
    comparisons: Sequence[ArmComparison], names: tuple[str, str], limit: int | None = None
) -> str:
    """The whole comparison: the table, then each arm and split's flipped questions."""
    parts = [
        f"# Paired comparison: A = {names[0]}, B = {names[1]}",
        "",
        "Each arm and split on the questions both runs answered; the difference is B's accuracy minus "
        "A's, with a Wald interval for paired proportions and the exact McNemar p.",
        "",
        comparison_table(comparisons, names),
    ]
    for c in comparisons:
        if c.flips:
            more = f" (the first {limit})" if limit is not None and len(c.flips) > limit else ""
            parts += ["", f"## {c.arm}, `{c.split}`: {len(c.flips)} flipped{more}", "", flips_table(c, limit)]
    return "\n".join(parts) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, its pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
