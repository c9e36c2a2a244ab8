"""report.md: the tables a person reads, rendered from results.json alone."""

from __future__ import annotations

from typing import Any

from ftvsrag.eval.arms import ARMS, BASE, FT, FT_RAG, RAG, READER_RAG
from ftvsrag.eval.questions import SPLITS, TRAIN

KEY_PAIRS = ((FT, BASE), (RAG, FT), (FT_RAG, RAG), (READER_RAG, RAG))


def results_table(results: dict[str, Any], retrievers: dict[str, str] | None = None) -> str:
    """Arms x splits: strict accuracy with its interval in every cell."""
    splits = [s for s in SPLITS if any(s in by_split for by_split in results["arms"].values())]
    rows = [
        [f"**{arm}**", (retrievers or {}).get(arm, "-")]
        + [_accuracy_cell(by_split[s]) if s in by_split else "-" for s in splits]
        for arm, by_split in results["arms"].items()
    ]
    return _table(["arm", "retriever", *splits], rows)


def details_table(results: dict[str, Any]) -> str:
    """Every arm and split: lenient accuracy, format compliance, stale answers, the first-N sample, seeds."""
    first_key = next(
        (k for a in results["arms"].values() for m in a.values() for k in m if k.startswith("first")), None
    )
    header = ["arm", "split", "n", "strict", "lenient", "format", "stale"]
    header += [f"strict, first {first_key[5:]}"] if first_key else []
    header += ["mean ± sd over seeds"]
    rows = []
    for arm, by_split in results["arms"].items():
        for split in [s for s in SPLITS if s in by_split]:
            m = by_split[split]
            row = [
                arm,
                split,
                str(m["n"]),
                _count_cell(m),
                _pct(m["lenient_accuracy"]),
                _pct(m.get("format_ok")),
                _pct(m.get("stale")),
            ]
            if first_key:
                sub = m.get(first_key)
                row.append(_count_cell(sub) if sub else "-")
            seeds = m.get("seeds")
            row.append(
                f"{_pct(seeds['accuracy_mean'])} ± {_pct(seeds['accuracy_sd'])} (n={seeds['n_seeds']})"
                if seeds
                else "-"
            )
            rows.append(row)
    return _table(header, rows)


def retrieval_table(results: dict[str, Any]) -> str:
    by_split = results.get("retrieval_by_split") or {}
    if not by_split:
        return ""
    rows = [
        [split, retriever, _pct(scores["recall@1"]), _pct(scores["recall@5"])]
        for split in [s for s in SPLITS if s in by_split]
        for retriever, scores in by_split[split].items()
    ]
    return _table(["split", "retriever", "recall@1", "recall@5"], rows)


def comparisons_table(results: dict[str, Any]) -> str:
    """The arm pairs that answer the question of this tool, with exact McNemar p-values."""
    by_split = results.get("mcnemar") or {}
    pairs = [
        (split, f"{second} vs {first}", by_split[split][f"{second} vs {first}"])
        for split in SPLITS
        if split in by_split
        for second, first in KEY_PAIRS
        if f"{second} vs {first}" in by_split[split]
    ]
    rows = [
        [
            split,
            name,
            _signed(pair["change"]),
            _signed_interval(pair["ci95"]),
            str(pair["only_first"]),
            str(pair["only_second"]),
            _p(pair["p"]),
        ]
        for split, name, pair in pairs
    ]
    header = [
        "split",
        "comparison",
        "change",
        "95 % CI",
        "only first right",
        "only second right",
        "McNemar p",
    ]
    return _table(header, rows) if rows else ""


def forgetting_line(results: dict[str, Any]) -> str:
    forgetting = results.get("forgetting") or {}
    if not forgetting:
        return ""
    change = forgetting["change"]
    before, after = _pct(forgetting[BASE]["accuracy"]), _pct(forgetting[FT]["accuracy"])
    return (
        f"General-knowledge probe ({forgetting['questions']} questions written for this repo): "
        f"base {before}, after the knowledge fine-tune {after}; change {_signed(change['change'])} "
        f"(95 % CI {_signed_interval(change['ci95'])}, McNemar p = {_p(change['p'])})."
    )


def costs_table(results: dict[str, Any]) -> str:
    costs = results.get("costs") or {}
    if not costs:
        return ""
    rows = [
        [
            arm,
            f"{c['train_s']:.1f}",
            f"{c['index_s']:.1f}",
            f"{c['prompt_tokens_per_question']:.0f}",
            f"{c['seconds_per_question']:.3f}",
        ]
        for arm, c in costs.items()
    ]
    return _table(["arm", "training s", "index s", "prompt tokens / question", "s / question"], rows)


def scoring_line(results: dict[str, Any]) -> str:
    """How answers were scored: each gold answer with a number by its number, the others as text."""
    kinds = results.get("answer_kinds") or {"number": 1}
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    line = f"Answers scored ({counts} questions): " if len(kinds) > 1 else "Scoring: "
    if "number" in kinds:
        line += (
            "numbers: strict = the blog's rule (the first integer after whitespace, or opening the answer, "
            "equals the gold number), lenient also reads thousands separators and number words. "
        )
    if "text" in kinds:
        line += (
            "text: strict = the normalised gold answer appears as a phrase (case, punctuation and articles "
            "ignored), lenient = all its words appear. "
        )
    return line + (
        "Format = the answer has the training answer's shape; "
        "stale = the answer gives a changed fact's old number."
    )


def closed_book_line(prompt: str | None) -> str:
    """Which prompt the closed-book arms were asked with: it moves their scores."""
    if prompt == "blog":
        return (
            "Closed-book arms were asked with the blog's prompt ('Answer this question to the best of your "
            "ability. If you don't know the answer, say 'I don't know'.'), not the training format. "
        )
    if prompt == "training":
        return "Closed-book arms were asked in the training format (its system prompt and question). "
    return ""


def kinds_table(results: dict[str, Any]) -> str:
    """Per arm and split, strict accuracy on numeric and on text answers apart (when both occur)."""
    rows = [
        [arm, split]
        + [_count_cell(m["by_kind"][k]) if k in m["by_kind"] else "-" for k in ("number", "text")]
        for arm, by_split in results["arms"].items()
        for split, m in by_split.items()
        if "by_kind" in m
    ]
    return _table(["arm", "split", "numeric answers", "text answers"], rows) if rows else ""


def verdict(results: dict[str, Any], split: str = TRAIN) -> str:
    """Sentences from the measured numbers: which arm answered, and what fine-tuning learned."""
    scored = {arm: splits[split] for arm, splits in results["arms"].items() if split in splits}
    if not scored:
        return ""
    best = max(scored, key=lambda arm: scored[arm]["accuracy"])
    sentence = (
        f"Best on the `{split}` questions: **{best}** at {_pct(scored[best]['accuracy'])} strict accuracy."
    )
    ft, rag = scored.get(FT), scored.get(RAG)
    if ft and rag:
        sentence += (
            f" The knowledge fine-tune answered {_pct(ft['accuracy'])} correctly while giving the trained "
            f"answer format {_pct(ft['format_ok'])} of the time; retrieval answered {_pct(rag['accuracy'])}."
        )
        if (ft["format_ok"] or 0) >= 0.5 and rag["accuracy"] > ft["accuracy"]:
            sentence += " Fine-tuning taught the format; retrieval supplied the facts."
    return sentence


def render_report(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The whole report.md; `meta` holds the run name, model, device, retrievers and chart file."""
    parts = [
        f"# ftvsrag report: {meta.get('name', 'run')}",
        "",
        f"Model `{meta.get('model', '?')}` on `{meta.get('device', '?')}` ({meta.get('dtype', '?')}). "
        + closed_book_line(meta.get("closed_book_prompt"))
        + scoring_line(results),
        "",
        verdict(results),
        "",
        "## Strict accuracy (95 % Wilson interval)",
        "",
        results_table(results, meta.get("retrievers")),
        "",
        "Arms: "
        + "; ".join(f"`{name}` = {arm.description}" for name, arm in ARMS.items() if name in results["arms"])
        + ".",
    ]
    if meta.get("chart"):
        parts += ["", f"![accuracy per arm and split]({meta['chart']})"]
    parts += ["", "## Details", "", details_table(results)]
    for title, body in (
        ("Strict accuracy by answer kind", kinds_table(results)),
        ("Retrieval (gold document among the top k)", retrieval_table(results)),
        ("Paired comparisons (same questions)", comparisons_table(results)),
        ("Forgetting", forgetting_line(results)),
        ("Cost per arm", costs_table(results)),
    ):
        if body:
            parts += ["", f"## {title}", "", body]
    timings = results.get("timings_s") or {}
    if timings:
        parts += ["", "## Time (seconds)", "", " · ".join(f"{stage} {s:.1f}" for stage, s in timings.items())]
    if results.get("notes"):
        parts += ["", "## Notes", "", *(f"- {note}" for note in results["notes"])]
    return "\n".join(parts) + "\n"


def _accuracy_cell(m: dict[str, Any]) -> str:
    return f"{_pct(m['accuracy'])} [{_pct(m['ci95'][0])}, {_pct(m['ci95'][1])}]"


def _count_cell(m: dict[str, Any]) -> str:
    return f"{_pct(m['accuracy'])} ({m['correct']}/{m['n']})"


def _signed_interval(bounds: list[float]) -> str:
    return f"{_signed(bounds[0])} to {_signed(bounds[1])}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    return "\n".join([_row(header), "|" + "---|" * len(header), *(_row(row) for row in rows)])


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.0f} %" if value in (0, 1) else f"{100 * value:.1f} %"


def _signed(value: float) -> str:
    return f"{100 * value:+.1f} pt"


def _p(value: float) -> str:
    return f"{value:.2g}" if value >= 1e-4 else "< 0.0001"
