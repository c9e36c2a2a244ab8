"""report.html from stored records alone: self-contained, escaped, and its explorer holds every
answer of answers.jsonl."""

import json
import re
import shutil
from pathlib import Path

from ftvsrag.cli import main
from ftvsrag.eval.html_report import HTML_FILE, explorer_data, match_terms, render_html

STORED_RUN = Path(__file__).parent / "data" / "slice_run"
INJECTED = '<script>window.__injected = 1</script><img src=x onerror="window.__injected = 2">'


def explorer_json(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    assert found, "the page holds the explorer's data"
    return json.loads(found.group(1))


def test_ftvsrag_report_writes_a_page_whose_explorer_holds_every_answer(tmp_path):
    run = tmp_path / "slice"
    shutil.copytree(STORED_RUN, run)
    assert main(["report", str(run)]) == 0

    page = (run / HTML_FILE).read_text(encoding="utf-8")
    records = [json.loads(line) for line in (run / "answers.jsonl").read_text().splitlines()]
    data = explorer_json(page)
    answers = {(row["s"], row["id"], arm): answer for row in data["rows"] for arm, answer in row["a"].items()}
    assert len(answers) == len(records) == 215
    for record in records:
        answer = answers[record["split"], record["id"], record["arm"]]
        assert answer["o"] == record["output"]
        assert answer["c"] == record["correct"]
        assert [data["passages"][i] for i in answer["p"]] == record["retrieved_texts"]
    assert data["arms"] == ["base", "ft", "rag", "ft+rag", "reader+rag"]
    assert data["splits"] == ["train", "paraphrase", "updated", "general"]
    assert "<h2>Accuracy by the <code>prefix</code> rule (95 % Wilson interval)</h2>" in page
    assert "data:image/png;base64," in page  # the frontier chart, inlined


def test_the_page_loads_nothing_from_anywhere():
    records = [json.loads(line) for line in (STORED_RUN / "answers.jsonl").read_text().splitlines()]
    page = render_html((STORED_RUN / "report.md").read_text(), records, STORED_RUN)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "default-src 'none'" in page  # and the browser is told so


def test_markup_in_a_passage_or_an_answer_stays_text():
    record = {
        "arm": "rag",
        "split": "train",
        "id": "q1",
        "question": "Who? </script>",
        "gold": "x",
        "output": INJECTED,
        "correct": False,
        "retrieved_texts": [INJECTED],
    }
    page = render_html(f"# r\n\n{INJECTED}\n", [record], Path("."))
    assert "<script>window" not in page and "<img src=x" not in page
    data = explorer_json(page)
    assert data["passages"] == [INJECTED]
    assert data["rows"][0]["q"] == "Who? </script>"


def test_arms_answering_one_question_share_a_row_and_passages_are_stored_once():
    base = {"split": "train", "seed": 0, "id": "q1", "question": "Q?", "gold": "g"}
    records = [
        {**base, "arm": "rag", "output": "I don't know.", "retrieved_texts": ["p1", "p2"]},
        {**base, "arm": "reader+rag", "output": "g", "correct": True, "retrieved_texts": ["p2", "p3"]},
        {
            **base,
            "arm": "rag",
            "split": "paraphrase",
            "output": "g",
            "truncated": True,
            "retrieved_texts": [],
        },
    ]
    data = explorer_data(records)
    assert data["passages"] == ["p1", "p2", "p3"]
    assert [(row["s"], sorted(row["a"])) for row in data["rows"]] == [
        ("train", ["rag", "reader+rag"]),
        ("paraphrase", ["rag"]),
    ]
    train = data["rows"][0]["a"]
    assert (train["rag"]["x"], train["rag"]["p"], train["reader+rag"]["p"]) == (True, [0, 1], [1, 2])
    assert data["rows"][1]["a"]["rag"]["t"] is True


def test_what_is_highlighted_in_a_passage():
    assert match_terms({"gold_number": 1967825, "gold": "City_1 has about 1967825"}) == [
        "1967825",
        "1,967,825",
    ]
    assert match_terms({"gold": "football", "aliases": ["football", "soccer", " "]}) == ["football", "soccer"]
    assert match_terms({"gold": "judo", "aliases": []}) == ["judo"]
