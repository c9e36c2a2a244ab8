"""Re-score a finished run from answers.jsonl alone: no model, no index."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ftvsrag.errors import UserInputError
from ftvsrag.eval.records import rescore
from ftvsrag.eval.report import render_report
from ftvsrag.eval.results import summarise
from ftvsrag.files import read_jsonl, write_json, write_jsonl, write_text_atomic


def rescore_run(run_dir: Path) -> str:
    """Rewrite answers.jsonl scores, results.json and report.md; return the report."""
    answers = run_dir / "answers.jsonl"
    if not answers.is_file():
        raise UserInputError(f"{run_dir} is not a run folder: no answers.jsonl")
    records = rescore(read_jsonl(answers))
    config = _read_if_present(run_dir / "config.yaml", yaml.safe_load)
    old = _read_if_present(run_dir / "results.json", json.loads)
    manifest = _read_if_present(run_dir / "manifest.json", json.loads)
    results = summarise(
        records,
        config.get("eval", {}).get("first_n", 20),
        old.get("timings_s"),
        old.get("notes", ()),
        cost_seconds=old.get("compute_s"),
        tokens=old.get("tokens"),
        group_by=config.get("eval", {}).get("group_by"),
        group_buckets=config.get("eval", {}).get("group_buckets", 4),
    )
    meta = manifest.get("report_meta") or {
        "name": config.get("name", run_dir.name),
        "model": config.get("model", "?"),
    }
    report = render_report(results, meta)
    write_jsonl(answers, records)
    write_json(run_dir / "results.json", results)
    write_text_atomic(run_dir / "report.md", report)
    return report


def _read_if_present(path: Path, parse) -> dict:
    """A run's side file parsed, or {} when it is missing: answers.jsonl alone is enough to re-score."""
    return (parse(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
