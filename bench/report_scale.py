"""report.html at scale: a real run's answers repeated until the explorer holds N questions (each
copy with its own ids and passage texts, so nothing is shared that a larger knowledge base would not
share), the page written, its size measured, and the time headless Chromium takes to open it and to
apply a filter. Writes bench-report.json.

    python bench/report_scale.py runs/cities --questions 1000 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from ftvsrag.eval.html_report import render_html
from ftvsrag.eval.rescore import read_answers

REPO = Path(__file__).resolve().parent.parent


def scaled(records: list[dict], questions: int) -> list[dict]:
    """`records` copied until they cover `questions` (split, id) pairs, each copy's ids and passage
    texts made its own."""
    keys = list(dict.fromkeys((r["split"], r["id"]) for r in records))
    copies = -(-questions // len(keys))
    out = []
    for copy in range(copies):
        for record in records:
            out.append(
                {
                    **record,
                    "id": f"{record['id']}-{copy}",
                    "retrieved_texts": [f"{t} ({copy})" for t in record.get("retrieved_texts") or []],
                }
            )
    wanted = set(list(dict.fromkeys((r["split"], r["id"]) for r in out))[:questions])
    return [r for r in out if (r["split"], r["id"]) in wanted]


def open_in_chromium(page: Path) -> dict[str, float]:
    sys.path.insert(0, str(REPO))
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.chromium import headless_chromium

    with tempfile.TemporaryDirectory() as profile:
        driver = headless_chromium(Path(profile))
        try:
            start = time.perf_counter()
            driver.get(page.as_uri())  # returns once the page's scripts have run
            loaded = time.perf_counter() - start
            first_arm = driver.execute_script(
                "return JSON.parse(document.getElementById('explorer-data').textContent).arms[0]"
            )
            start = time.perf_counter()
            Select(driver.find_element(By.ID, "f-arm-a")).select_by_value(first_arm)
            count = driver.find_element(By.ID, "count").text  # the filter renders synchronously
            filtered = time.perf_counter() - start
            rows = len(driver.find_elements(By.CSS_SELECTOR, "tr.q-row"))
        finally:
            driver.quit()
    return {"open_s": round(loaded, 2), "filter_s": round(filtered, 2), "rows_rendered": rows, "count": count}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path, help="a finished run folder, e.g. runs/cities")
    parser.add_argument("--questions", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--out", type=Path, default=Path("bench-report.json"))
    args = parser.parse_args()
    records = read_answers(args.run_dir)
    report = (args.run_dir / "report.md").read_text(encoding="utf-8")
    sizes = []
    with tempfile.TemporaryDirectory() as scratch:
        for questions in args.questions:
            rows = scaled(records, questions)
            page = Path(scratch) / f"report-{questions}.html"
            start = time.perf_counter()
            page.write_text(render_html(report, rows, args.run_dir), encoding="utf-8")
            written = time.perf_counter() - start
            result = {
                "questions": questions,
                "answers": len(rows),
                "megabytes": round(page.stat().st_size / 1e6, 2),
                "write_s": round(written, 2),
                **open_in_chromium(page),
            }
            print(json.dumps(result))
            sizes.append(result)
    from ftvsrag.manifest import cpu_description, git_commit

    facts = {"cpu": cpu_description(), "commit": git_commit()}
    args.out.write_text(
        json.dumps({"machine": facts, "run": str(args.run_dir), "pages": sizes}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
