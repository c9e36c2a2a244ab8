"""report.html: one self-contained page a person opens from disk. The report's sections (rendered
from report.md, the charts inlined) and a per-question explorer over answers.jsonl. Pure: records
and results in, a string out; no model, no network, every text escaped."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ftvsrag.names import SPLITS
from ftvsrag.text import abstains

HTML_FILE = "report.html"
PAGE_SIZE = 50
"""Rows the explorer renders at once: the page stays quick at 10,000 questions."""
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")


def render_html(markdown_report: str, records: Sequence[dict[str, Any]], folder: Path) -> str:
    """The page: the report's Markdown as HTML (its PNG charts from `folder` inlined as data) and
    the explorer over `records` (answers.jsonl)."""
    explorer = _EXPLORER.format(data=_script_json(explorer_data(records)), script=_asset("report.js"))
    return markdown_page(markdown_report, folder, explorer, before=_NAV)


def markdown_page(markdown: str, folder: Path | None = None, after: str = "", before: str = "") -> str:
    """A self-contained page of `markdown` (our own reports' Markdown) between the HTML `before`
    and `after`."""
    from markdown_it import MarkdownIt

    # html=False: a passage or an answer that holds markup is shown as text, never run.
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    body = parser.render(_inline_images(markdown, folder) if folder else markdown)
    title = markdown.splitlines()[0].lstrip("# ").strip() if markdown else "ftvsrag"
    return _PAGE.format(title=html.escape(title), style=_asset("report.css"), body=before + body, after=after)


def explorer_data(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The explorer's rows: one per (split, seed, question), each arm's answer beside the others,
    passages stored once and named by their index."""
    passages: dict[str, int] = {}
    rows: dict[tuple, dict[str, Any]] = {}
    arms: dict[str, None] = {}
    for record in records:
        arms.setdefault(record["arm"])
        key = (record["split"], record.get("seed", 0), record["id"])
        row = rows.setdefault(key, _question_row(record))
        row["a"][record["arm"]] = {
            "o": record.get("output", ""),
            "c": bool(record.get("correct")),
            "t": bool(record.get("truncated")),
            "x": abstains(record.get("output", "")),
            "p": [passages.setdefault(text, len(passages)) for text in record.get("retrieved_texts") or []],
        }
    present = {key[0] for key in rows}
    splits = [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))
    return {
        "arms": list(arms),
        "splits": splits,
        "passages": list(passages),
        "rows": list(rows.values()),
        "page_size": PAGE_SIZE,
    }


def _question_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "s": record["split"],
        "seed": record.get("seed", 0),
        "id": record["id"],
        "q": record.get("question", ""),
        "g": record.get("gold", ""),
        "m": match_terms(record),
        "a": {},
    }


def match_terms(record: dict[str, Any]) -> list[str]:
    """What the explorer highlights in a passage: the gold number as digits and with thousands
    separators for a numeric answer, else every alias (the gold answer when there are none)."""
    number = record.get("gold_number")
    if isinstance(number, int):
        return list(dict.fromkeys([str(number), f"{number:,}"]))
    aliases = [a for a in record.get("aliases") or [] if a.strip()]
    return aliases or [record.get("gold", "")]


def _inline_images(markdown_report: str, folder: Path) -> str:
    """`![alt](chart.png)` with the chart's bytes as a data URL, so the page needs no other file; a
    chart that is missing is dropped with its link."""

    def inline(found: re.Match) -> str:
        path = folder / found.group(2)
        if not path.is_file():
            return ""
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"![{found.group(1)}](data:image/png;base64,{encoded})"

    return _IMAGE.sub(inline, markdown_report)


def _script_json(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: '<', '>' and '&' as escapes, so no text can close the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("ftvsrag.eval").joinpath(name).read_text(encoding="utf-8")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<main>
{body}
{after}
</main>
</body>
</html>
"""
_NAV = '<nav><a href="#explorer">Questions: every answer, its passages, filters</a></nav>\n'
_EXPLORER = """<h2 id="explorer">Questions</h2>
<section id="filters" aria-label="filters"></section>
<p id="count" role="status"></p>
<div id="pager-top" class="pager"></div>
<table id="questions"><thead></thead><tbody></tbody></table>
<div id="pager-bottom" class="pager"></div>
<script type="application/json" id="explorer-data">{data}</script>
<script>{script}</script>"""
