"""report.md: the tables a person reads, rendered from results.json alone."""

from __future__ import annotations

from typing import Any

from ftvsrag.eval.chart import TRAINING_FILE
from ftvsrag.eval.markdown import p_equals, pct, signed, table
from ftvsrag.eval.metrics import METRICS
from ftvsrag.eval.verdict import SIGNIFICANT, beats, significantly_up
from ftvsrag.eval.verdict_text import decision_line, frontier_table, knowledge_table
from ftvsrag.names import BASE, FT, NO_RETRIEVER, RAG, SPLITS, TRAIN


def results_table(results: dict[str, Any]) -> str:
    """Arms x splits: accuracy (by the verdict's rule) with its interval in every cell."""
    splits = _splits(results)
    rows = [
        [f"**{arm}**", _retriever_cell(results, arm)]
        + [_accuracy_cell(by_split[s]) if s in by_split else "-" for s in splits]
        for arm, by_split in results["arms"].items()
    ]
    return table(["arm", "retriever", *splits], rows)


def _splits(results: dict[str, Any]) -> list[str]:
    return [s for s in SPLITS if any(s in by_split for by_split in results["arms"].values())]


def _retriever_cell(results: dict[str, Any], arm: str) -> str:
    spec = (results.get("arm_specs") or {}).get(arm) or {}
    if spec.get("retriever", NO_RETRIEVER) == NO_RETRIEVER:
        return "-"
    return f"{spec['retriever']}, top {spec['k']}"


def metric_name(results: dict[str, Any]) -> str:
    return (results.get("scoring") or {}).get("metric", "strict")


def details_table(results: dict[str, Any]) -> str:
    """Every arm and split: lenient accuracy, F1, format compliance, stale answers, the most frequent
    answer, the share cut at the limit, the first-N sample, seeds."""
    first_key = next(
        (k for a in results["arms"].values() for m in a.values() for k in m if k.startswith("first")), None
    )
    with_f1 = any("f1" in m.get("metrics", {}) for a in results["arms"].values() for m in a.values())
    header = ["arm", "split", "n", metric_name(results), "lenient", *(["F1"] if with_f1 else [])]
    header += ["format", "stale"]
    header += ["most frequent answer (share)", "cut at limit"]
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
                pct(m["lenient_accuracy"]),
                *([pct(m.get("metrics", {}).get("f1"))] if with_f1 else []),
                pct(m.get("format_ok")),
                pct(m.get("stale")),
                _top_answer_cell(m),
                pct(m.get("truncated")),
            ]
            if first_key:
                sub = m.get(first_key)
                row.append(_count_cell(sub) if sub else "-")
            seeds = m.get("seeds")
            row.append(
                f"{pct(seeds['accuracy_mean'])} ± {pct(seeds['accuracy_sd'])} (n={seeds['n_seeds']})"
                if seeds
                else "-"
            )
            rows.append(row)
    return table(header, rows)


def rules_table(results: dict[str, Any]) -> str:
    """Accuracy of every arm and split under each right-or-wrong rule, for text knowledge bases
    (numbers keep their own rules under all of them, so the columns only differ on text answers)."""
    if "text" not in (results.get("answer_kinds") or {}):
        return ""
    chosen = metric_name(results)
    rules = [
        rule
        for rule in sorted(METRICS.matching(), key=lambda rule: (rule != chosen, rule))
        if any(rule in m.get("metrics", {}) for a in results["arms"].values() for m in a.values())
    ]
    rows = [
        [arm, split, *(pct(m.get("metrics", {}).get(rule)) for rule in rules)]
        for arm, by_split in results["arms"].items()
        for split, m in by_split.items()
    ]
    legend = "; ".join(f"`{rule}`: {METRICS.entry(rule).description}" for rule in rules)
    return table(["arm", "split", *rules], rows) + f"\n\n{legend}."


def _top_answer_cell(m: dict[str, Any]) -> str:
    if "top_answer_share" not in m:
        return "-"
    text = m["top_answer"] if len(m["top_answer"]) <= 40 else m["top_answer"][:37] + "..."
    return f"'{text}' ({pct(m['top_answer_share'])})"


def majority_lines(results: dict[str, Any]) -> list[str]:
    """Per split: what always giving the best single gold answer scores (the answer prior)."""
    return [
        f"- `{split}`: always answering '{b['answer']}' scores {_count_cell(b)}."
        for split in SPLITS
        if (b := (results.get("majority") or {}).get(split))
    ]


def groups_table(results: dict[str, Any]) -> str:
    """Accuracy per arm in groups of a question field (one table per split)."""
    groups = results.get("groups") or {}
    tables = []
    for split, rows in (groups.get("splits") or {}).items():
        arms = list(dict.fromkeys(arm for row in rows for arm in row["arms"]))
        body = [[row["group"], str(row["n"])] + [pct(row["arms"].get(arm)) for arm in arms] for row in rows]
        tables.append(
            f"`{split}` split, by `{groups['field']}`:\n\n" + table([groups["field"], "n", *arms], body)
        )
    return "\n\n".join(tables)


def retrieval_table(results: dict[str, Any]) -> str:
    by_split = results.get("retrieval_by_split") or {}
    if not by_split:
        return ""
    rows = [
        [split, retriever, pct(scores["recall@1"]), pct(scores["recall@5"])]
        for split in [s for s in SPLITS if s in by_split]
        for retriever, scores in by_split[split].items()
    ]
    recall = table(["split", "retriever", "recall@1", "recall@5"], rows)
    return recall + ceiling_lines(results)


def ceiling_lines(results: dict[str, Any]) -> str:
    """Per retrieving arm, the share of questions with an answer alias in its prompt's passages:
    the most its reader could get right (documents with alias lists only)."""
    found = [
        f"- `{split}`, {arm}: {pct(block['answer_in_context'])}"
        for arm, blocks in results["arms"].items()
        for split, block in blocks.items()
        if block.get("answer_in_context") is not None
    ]
    if not found:
        return ""
    return (
        "\n\nAn answer-bearing passage in the prompt (an alias of the answer among its passages):\n\n"
        + "\n".join(found)
    )


def comparisons_table(results: dict[str, Any]) -> str:
    """Every pair of arms asked the same questions, per split: the row arm's accuracy minus the
    column arm's, and the exact McNemar p of the difference."""
    tables = []
    for split in [s for s in SPLITS if s in (results.get("mcnemar") or {})]:
        pairs = results["mcnemar"][split]
        arms = [arm for arm, by_split in results["arms"].items() if split in by_split]
        rows = [
            [f"**{row}**", *(_pair_cell(pairs.get(f"{row} vs {column}")) for column in arms[:-1])]
            for row in arms[1:]
        ]
        tables.append(f"`{split}` split (row minus column):\n\n" + table(["", *arms[:-1]], rows))
    return "\n\n".join(tables)


def _pair_cell(pair: dict[str, Any] | None) -> str:
    return "" if pair is None else f"{signed(pair['change'])} ({p_equals(pair['p'])})"


def forgetting_line(results: dict[str, Any]) -> str:
    forgetting = results.get("forgetting") or {}
    if not forgetting:
        return ""
    change = forgetting["change"]
    before, after = pct(forgetting[BASE]["accuracy"]), pct(forgetting[FT]["accuracy"])
    return (
        f"General-knowledge probe ({forgetting['questions']} questions written for this repo): "
        f"base {before}, after the knowledge fine-tune {after}; change {signed(change['change'])} "
        f"(95 % CI {_signed_interval(change['ci95'])}, McNemar {p_equals(change['p'])})."
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
    return table(["arm", "training s", "index s", "prompt tokens / question", "s / question"], rows)


def training_table(results: dict[str, Any]) -> str:
    """Each adapter's training loss at its first and last logged step, and the curves' chart."""
    curves = results.get("training_curves") or {}
    if not curves:
        return ""
    rows = [
        [name, f"{curve[-1][0]:.0f}", f"{curve[0][1]:.3f}", f"{curve[-1][1]:.3f}"]
        if curve
        else [name, "-", "-", "no curve: trained before curves were kept"]
        for name, curve in curves.items()
    ]
    body = table(["adapter", "last logged step", "first loss", "last loss"], rows)
    if any(curves.values()):
        body += f"\n\n![training loss of each adapter]({TRAINING_FILE})"
    return body


def scoring_line(results: dict[str, Any]) -> str:
    """Which rule accuracy and the verdict count by, and how many answers were numbers or text."""
    kinds = results.get("answer_kinds") or {"number": 1}
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    scoring = results.get("scoring") or {"metric": "strict", "rule": "the blog's rule"}
    line = f"Accuracy and the verdict count by the `{scoring['metric']}` rule: {scoring['rule']}"
    line += f" ({counts} questions). " if len(kinds) > 1 else ". "
    line += "Lenient = every word of an alias, or a number read with separators and number words; "
    if "text" in kinds:
        line += "F1 = SQuAD's token F1 against the best alias; "
    return line + (
        "format = the answer has the training answer's shape; "
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
    """Per arm and split, accuracy on numeric and on text answers apart (when both occur)."""
    rows = [
        [arm, split]
        + [_count_cell(m["by_kind"][k]) if k in m["by_kind"] else "-" for k in ("number", "text")]
        for arm, by_split in results["arms"].items()
        for split, m in by_split.items()
        if "by_kind" in m
    ]
    return table(["arm", "split", "numeric answers", "text answers"], rows) if rows else ""


def verdict(results: dict[str, Any], split: str = TRAIN, recipe: str = "") -> str:
    """Sentences from the measured numbers: which arm answered best, whether that beats always giving
    the most common answer and the other arms beyond chance, and what the knowledge fine-tune learned
    (`recipe`: what it trained on, in its recipe's words)."""
    scored = {arm: splits[split] for arm, splits in results["arms"].items() if split in splits}
    if not scored:
        return ""
    best = max(scored, key=lambda arm: scored[arm]["accuracy"])
    return " ".join(
        part
        for part in (
            _best_sentence(results, scored, best, split),
            _fine_tune_sentence(results, scored, split, recipe),
            _collapse_sentence(scored),
        )
        if part
    )


def _collapse_sentence(scored: dict[str, Any]) -> str:
    """Arms that gave one and the same answer to most questions: they answer the prior, not the question."""
    collapsed = [
        f"{arm} gave {_quoted(m['top_answer'])} to {pct(m['top_answer_share'])} of the questions"
        for arm, m in scored.items()
        if m.get("top_answer_share", 0) > 0.5 and m["n"] > 1
    ]
    return f"Collapsed: {'; '.join(collapsed)}." if collapsed else ""


def _quoted(answer: str) -> str:
    return "an empty answer" if not answer else f"'{answer[:40]}'"


def _best_sentence(results: dict[str, Any], scored: dict[str, Any], best: str, split: str) -> str:
    block = scored[best]
    baseline = (results.get("majority") or {}).get(split)
    versus = block.get("vs_majority")
    above_prior = versus is None or significantly_up(versus)
    prior = f"always answering '{baseline['answer']}' ({pct(baseline['accuracy'])})" if baseline else ""
    if not above_prior:
        return (
            f"No arm beats the majority baseline on the `{split}` questions: the best, **{best}** at "
            f"{pct(block['accuracy'])}, is not significantly above {prior} "
            f"(McNemar {p_equals(versus['p'])})."
        )
    ties = [arm for arm in scored if arm != best and not beats(results, split, best, arm)]
    above_prior = f", significantly above {prior}" if prior else ""
    if not ties:
        return (
            f"Best on the `{split}` questions: **{best}** at {pct(block['accuracy'])} accuracy"
            f"{above_prior} and above every other arm (McNemar p < {SIGNIFICANT})."
        )
    named = ", ".join(f"{arm} ({pct(scored[arm]['accuracy'])})" for arm in ties)
    return (
        f"Highest on the `{split}` questions: {best} at {pct(block['accuracy'])}{above_prior}, but not "
        f"significantly above {named} (McNemar p ≥ {SIGNIFICANT}): no single arm is best on these questions."
    )


def _fine_tune_sentence(results: dict[str, Any], scored: dict[str, Any], split: str, recipe: str) -> str:
    """What the knowledge fine-tune learned: facts, only the answer prior, or only a format."""
    ft, rag = scored.get(FT), scored.get(RAG)
    if not ft:
        return ""
    how = f" ({recipe})" if recipe else ""
    sentence = f"The knowledge fine-tune{how} answered {pct(ft['accuracy'])} correctly"
    if ft.get("top_answer_share", 0) * ft["n"] >= 2:  # an answer given more than once
        share = pct(ft["top_answer_share"])
        sentence += f"; its most frequent answer, {_quoted(ft['top_answer'])}, is {share} of all"
    versus, prior = ft.get("vs_majority"), (results.get("majority") or {}).get(split)
    if versus and prior and not significantly_up(versus):
        sentence += (
            f". That is not significantly above always answering '{prior['answer']}' "
            f"({pct(prior['accuracy'])}, McNemar {p_equals(versus['p'])}): what it learned is at most the "
            "answer prior, not these facts"
        )
    elif versus and prior:
        sentence += (
            f", significantly above always answering '{prior['answer']}' ({pct(prior['accuracy'])}): "
            "it recalls some of the facts it was trained on"
        )
    sentence += "."
    if (
        ft.get("format_ok") is not None
        and (ft["format_ok"] or 0) >= 0.5
        and rag
        and rag["accuracy"] > ft["accuracy"]
    ):
        sentence += (
            f" It gave the trained answer format {pct(ft['format_ok'])} of the time; retrieval answered "
            f"{pct(rag['accuracy'])}. Fine-tuning taught the format; retrieval supplied the facts."
        )
    return sentence


def render_report(results: dict[str, Any], meta: dict[str, Any]) -> str:
    """The whole report.md; `meta` holds the run name, model, device and chart file."""
    parts = [
        f"# ftvsrag report: {meta.get('name', 'run')}",
        "",
        f"Model `{meta.get('model', '?')}` on `{meta.get('device', '?')}` ({_machine(meta)}). "
        + closed_book_line(meta.get("closed_book_prompt"))
        + scoring_line(results),
        "",
        decision_line(results),
        "",
        verdict(results, recipe=meta.get("knowledge_phrase", "")),
        "",
        f"## Accuracy by the `{metric_name(results)}` rule (95 % Wilson interval)",
        "",
        results_table(results),
        "",
        arms_line(results),
    ]
    if meta.get("chart"):
        parts += ["", f"![accuracy per arm and split]({meta['chart']})"]
    parts += ["", "## Details", "", details_table(results)]
    for title, body in (
        ("Majority baseline (the answer prior)", "\n".join(majority_lines(results))),
        ("What each arm knows beyond the answer prior (the verdict's rule)", knowledge_table(results)),
        ("Accuracy under each rule", rules_table(results)),
        ("Accuracy by question group", groups_table(results)),
        ("Accuracy by answer kind", kinds_table(results)),
        ("Retrieval (a gold document among the first k documents retrieved)", retrieval_table(results)),
        ("Paired comparisons (same questions)", comparisons_table(results)),
        ("Forgetting", forgetting_line(results)),
        ("Cost per arm", costs_table(results)),
        ("Cost against accuracy (the frontier)", frontier_table(results)),
        ("Training loss", training_table(results)),
    ):
        if body:
            parts += ["", f"## {title}", "", body]
    timings = results.get("timings_s") or {}
    if timings:
        parts += ["", "## Time (seconds)", "", " · ".join(f"{stage} {s:.1f}" for stage, s in timings.items())]
    if results.get("notes"):
        parts += ["", "## Notes", "", *(f"- {note}" for note in results["notes"])]
    return "\n".join(parts) + "\n"


def _machine(meta: dict[str, Any]) -> str:
    """'AMD EPYC 7B13, float32': the processor the timings were measured on, then the dtypes (a run
    recorded before the processor was kept names the dtypes alone)."""
    return ", ".join(filter(None, [meta.get("processor"), _dtypes(meta)]))


def _dtypes(meta: dict[str, Any]) -> str:
    """'bfloat16', or 'bfloat16; trained in float32' when training used another dtype."""
    dtype, trained = meta.get("dtype", "?"), meta.get("train_dtype")
    return dtype if not trained or trained == dtype else f"{dtype}; trained in {trained}"


def arms_line(results: dict[str, Any]) -> str:
    specs = results.get("arm_specs") or {}
    described = [f"`{arm}` = {specs[arm]['description']}" for arm in results["arms"] if arm in specs]
    return f"Arms: {'; '.join(described)}." if described else ""


def _accuracy_cell(m: dict[str, Any]) -> str:
    return f"{pct(m['accuracy'])} [{pct(m['ci95'][0])}, {pct(m['ci95'][1])}]"


def _count_cell(m: dict[str, Any]) -> str:
    return f"{pct(m['accuracy'])} ({m['correct']}/{m['n']})"


def _signed_interval(bounds: list[float]) -> str:
    return f"{signed(bounds[0])} to {signed(bounds[1])}"
