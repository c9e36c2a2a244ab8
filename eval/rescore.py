"""Re-score a finished run from answers.jsonl alone: no model, no index."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ftvsrag.errors import UserInputError
from ftvsrag.eval.chart import FRONTIER_FILE, TRAINING_FILE, write_frontier_chart, write_training_chart
from ftvsrag.eval.html_report import HTML_FILE, render_html
from ftvsrag.eval.records import rescore
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import RUN_FACTS, SummaryOptions, summarise
from ftvsrag.files import read_jsonl, write_json, write_jsonl, write_text_atomic

ANSWERS_FILE = "answers.jsonl"


def rescore_run(
    run_dir: Path, options: SummaryOptions, recipe_phrase: Callable[[str | None], str] = lambda _: ""
) -> str:
    """Rewrite answers.jsonl scores, results.json, report.md and report.html by `options`; return the report.
    `recipe_phrase` words a knowledge fine-tune's recipe for a manifest that names only the recipe
    (written before the manifest kept the phrase)."""
    records = rescore(read_answers(run_dir), options.metric)
    old = _read_if_present(run_dir / "results.json")
    manifest = _read_if_present(run_dir / "manifest.json")
    results = summarise(
        records,
        options,
        old.get("timings_s"),
        old.get("notes", ()),
        cost_seconds=old.get("compute_s"),
        tokens=old.get("tokens"),
        parameters=old.get("model_parameters"),
    )
    results |= {key: old[key] for key in RUN_FACTS if key in old}
    meta = manifest.get("report_meta") or {"name": run_dir.name}
    meta.setdefault("knowledge_phrase", recipe_phrase(meta.get("knowledge_method")))
    write_frontier_chart(results, run_dir / FRONTIER_FILE)
    write_training_chart(results, run_dir / TRAINING_FILE)
    report = render_report(results, meta)
    write_jsonl(run_dir / ANSWERS_FILE, records)
    write_json(run_dir / "results.json", results)
    write_text_atomic(run_dir / "report.md", report)
    write_text_atomic(run_dir / HTML_FILE, render_html(report, records, run_dir))
    return report


def read_answers(run_dir: Path) -> list[dict]:
    """A run folder's answers.jsonl records; a one-line error when it has none."""
    answers = run_dir / ANSWERS_FILE
    if not answers.is_file():
        raise UserInputError(f"{run_dir} is not a run folder: no {ANSWERS_FILE}")
    return read_jsonl(answers)


def _read_if_present(path: Path) -> dict:
    """A run's side file parsed, or {} when it is missing: answers.jsonl alone is enough to re-score."""
    return (json.loads(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
