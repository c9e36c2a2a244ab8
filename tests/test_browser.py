"""report.html as a person sees it: headless Chromium (Debian's chromium and chromium-driver, driven
by selenium) opens the report of a real run from disk, filters it, and the rows it shows are the
ones answers.jsonl says; markup injected into a passage shows as text and never runs."""

import json
import os
import shutil
from pathlib import Path

import pytest

from ftvsrag.cli import main
from tests.chromium import headless_chromium, installed

STORED_RUN = Path(__file__).parent / "data" / "slice_run"
INJECTED = '<script>window.__injected = 1</script><img src=x onerror="window.__injected = 2">'

pytestmark = pytest.mark.slow  # it starts a browser


@pytest.fixture
def browser(tmp_path):
    if not installed():
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium and chromium-driver: .ci/run installs them")
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    driver = headless_chromium(tmp_path / "profile")
    yield driver
    driver.quit()


def report_with_injected_passage(folder: Path) -> tuple[Path, list[dict]]:
    """The stored 10-city run with one rag passage replaced by markup, its reports rebuilt."""
    shutil.copytree(STORED_RUN, folder)
    records = [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]
    target = next(
        r for r in records if r["arm"] == "rag" and r["split"] == "train" and r["id"] == "fact-00006"
    )
    target["retrieved_texts"][0] = INJECTED
    (folder / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["report", str(folder)]) == 0
    return folder / "report.html", records


def rows_where(records: list[dict], split: str, right: str, wrong: str) -> set[str]:
    correct = {(r["arm"], r["id"]): r["correct"] for r in records if r["split"] == split}
    ids = {r["id"] for r in records if r["split"] == split}
    return {i for i in ids if correct.get((right, i)) is True and correct.get((wrong, i)) is False}


def test_a_person_filters_the_explorer_and_injected_markup_stays_text(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page, records = report_with_injected_passage(tmp_path / "slice")
    browser.get(page.as_uri())
    questions = {(r["split"], r["id"]) for r in records}
    assert browser.find_element(By.ID, "count").text.startswith(
        f"{len(questions)} of {len(questions)} questions"
    )

    Select(browser.find_element(By.ID, "f-split")).select_by_value("train")
    Select(browser.find_element(By.ID, "f-arm-a")).select_by_value("rag")
    Select(browser.find_element(By.ID, "f-arm-b")).select_by_value("ft+rag")
    expected = rows_where(records, "train", right="rag", wrong="ft+rag")
    shown = {row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "tr.q-row")}
    assert shown == expected and len(expected) == 4
    assert browser.find_element(By.ID, "count").text.startswith(
        f"{len(expected)} of {len(questions)} questions"
    )
    rag_header = browser.find_element(By.CSS_SELECTOR, 'th[data-arm="rag"]').text
    assert rag_header == f"rag ({len(expected)}/{len(expected)})"

    Select(browser.find_element(By.ID, "f-arm-a")).select_by_value("")
    browser.find_element(By.ID, "f-search").send_keys("City_7?")
    row = browser.find_element(By.CSS_SELECTOR, 'tr.q-row[data-id="fact-00006"]')
    row.find_element(By.TAG_NAME, "summary").click()
    passages = [p.text for p in row.find_elements(By.CSS_SELECTOR, "li.passage")]
    assert INJECTED in passages  # shown as the text it is
    assert browser.execute_script("return window.__injected") is None  # and it never ran
    assert row.find_elements(By.TAG_NAME, "mark")  # the gold number highlighted in its passages
    browser.find_element(By.ID, "explorer").location_once_scrolled_into_view  # noqa: B018
    shot = Path(os.environ.get("FTVSRAG_SCREENSHOTS", tmp_path)) / "report-explorer.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_an_alias_is_highlighted_where_it_starts_a_word_and_a_short_one_only_whole(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from ftvsrag.eval.html_report import render_html

    record = {
        "arm": "rag",
        "split": "train",
        "id": "q1",
        "question": "What is X's occupation?",
        "gold": "politician",
        "aliases": ["politician", "pol"],
        "output": "politician",
        "correct": True,
        "retrieved_texts": ["Into politics early, an apolitical man, later a politician (pol.)."],
    }
    page = tmp_path / "report.html"
    page.write_text(render_html("# r\n", [record], tmp_path), encoding="utf-8")
    browser.get(page.as_uri())
    browser.find_element(By.TAG_NAME, "summary").click()
    assert [mark.text for mark in browser.find_elements(By.TAG_NAME, "mark")] == ["politician", "pol"]
