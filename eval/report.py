"""report.md: the table a person reads, rendered from results.json alone."""

from __future__ import annotations

from typing import Any

ARM_LABELS = {
    "base": "base (closed book)",
    "ft": "ft (LoRA fine-tuned, closed book)",
    "rag": "rag (base model + Chroma top-k)",
}


def results_table(results: dict[str, Any]) -> str:
    """Markdown table: one row per arm and split."""
    first_key = next(
        (
            key
            for arm in results["arms"].values()
            for split in arm.values()
            for key in split
            if key.startswith("first")
        ),
        None,
    )
    header = ["arm", "split", "n", "strict accuracy", "95 % CI", "lenient", "format"]
    if first_key:
        header.append(f"strict, first {first_key[5:]}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for arm, splits in results["arms"].items():
        for split, m in splits.items():
            row = [
                ARM_LABELS.get(arm, arm),
                split,
                str(m["n"]),
                f"**{_pct(m['accuracy'])}** ({m['correct']}/{m['n']})",
                f"{_pct(m['ci95'][0])}-{_pct(m['ci95'][1])}",
                _pct(m["lenient_accuracy"]),
                _pct(m["format_ok"]),
            ]
            if first_key:
                sub = m.get(first_key)
                row.append(f"{_pct(sub['accuracy'])} ({sub['correct']}/{sub['n']})" if sub else "-")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def retrieval_table(results: dict[str, Any]) -> str:
    retrieval = results.get("retrieval") or {}
    if not retrieval:
        return ""
    ks = sorted(
        {key for scores in retrieval.values() for key in scores}, key=lambda key: int(key.split("@")[1])
    )
    lines = ["| retriever | " + " | ".join(ks) + " |", "|---|" + "---|" * len(ks)]
    for name, scores in retrieval.items():
        lines.append(f"| {name} | " + " | ".join(_pct(scores[k]) for k in ks) + " |")
    return "\n".join(lines)


def verdict(results: dict[str, Any], split: str = "train") -> str:
    """One sentence from the measured numbers: which arm answered, and what fine-tuning learned."""
    scored = {arm: splits[split] for arm, splits in results["arms"].items() if split in splits}
    if not scored:
        return ""
    best = max(scored, key=lambda arm: scored[arm]["accuracy"])
    sentence = (
        f"Best on the `{split}` questions: **{best}** at {_pct(scored[best]['accuracy'])} strict accuracy."
    )
    ft, rag = scored.get("ft"), scored.get("rag")
    if ft and rag:
        sentence += (
            f" The fine-tuned model answered {_pct(ft['accuracy'])} correctly while giving the trained "
            f"answer format {_pct(ft['format_ok'])} of the time; retrieval answered {_pct(rag['accuracy'])}."
        )
        if ft["format_ok"] >= 0.5 and rag["accuracy"] > ft["accuracy"]:
            sentence += " Fine-tuning taught the format; retrieval supplied the facts."
    return sentence


def render_report(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The whole report.md; `meta` holds the run name, model and device for the heading."""
    parts = [
        f"# ftvsrag report: {meta.get('name', 'run')}",
        "",
        f"Model `{meta.get('model', '?')}` on `{meta.get('device', '?')}` ({meta.get('dtype', '?')}). "
        "Strict = the blog's rule (first integer after whitespace equals the gold number); lenient also "
        "reads thousands separators and number words; format = the answer has the training sentence's shape.",
        "",
        verdict(results),
        "",
        "## Accuracy",
        "",
        results_table(results),
    ]
    retrieval = retrieval_table(results)
    if retrieval:
        parts += ["", "## Retrieval (gold document among the top k)", "", retrieval]
    timings = results.get("timings_s") or {}
    if timings:
        parts += [
            "",
            "## Time (seconds)",
            "",
            " · ".join(f"{stage} {seconds:.1f}" for stage, seconds in timings.items()),
        ]
    return "\n".join(parts) + "\n"


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %" if value in (0, 1) else f"{100 * value:.1f} %"
