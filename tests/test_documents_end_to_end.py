"""A document knowledge base end to end with the real embedded model: six PopQA questions and their
Wikipedia passages, chunked, indexed, continued pre-training, a cross-fitted reader in two folds and
the qa-gen recipe's generated pairs in an arm of its own (about three minutes on a 2-core CPU)."""

import json
from pathlib import Path

import pytest

from ftvsrag.cli import main
from ftvsrag.text import normalise_text
from tests.conftest import no_network

ROOT = Path(__file__).parent.parent
POPQA = ROOT / "examples" / "popqa_22_occupation"
QUESTIONS = 6


@pytest.fixture(scope="module")
def document_run(tmp_path_factory, smollm2):
    data = tmp_path_factory.mktemp("popqa-slice")
    questions = [json.loads(line) for line in (POPQA / "questions.jsonl").read_text().splitlines()][
        :QUESTIONS
    ]
    wanted = {doc_id for q in questions for doc_id in q["document_ids"]}
    documents = [json.loads(line) for line in (POPQA / "documents.jsonl").read_text().splitlines()]
    (data / "documents.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in documents if d["id"] in wanted)
    )
    (data / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    runs = tmp_path_factory.mktemp("runs")
    overrides = [
        f"runs_dir={runs}",
        "name=docs",
        f"data.documents={data / 'documents.jsonl'}",
        f"data.questions={data / 'questions.jsonl'}",
        "reader.folds=2",
        "eval.forgetting_probe=false",
        "eval.group_by=pageviews",
        "eval.group_buckets=2",
        "arms.ft-qa={adapter: qa-gen}",
        "eval.arms=[base,ft,rag,ft+rag,reader+rag,ft-qa]",
        "generator.pairs_per_passage=2",
    ]
    with no_network() as attempts:
        assert main(["run", str(ROOT / "configs" / "documents.yaml"), *overrides]) == 0
    assert attempts == []
    return runs / "docs"


@pytest.mark.slow
def test_the_run_folder_holds_the_passages_and_one_reader_per_fold(document_run):
    passages = [json.loads(line) for line in (document_run / "passages.jsonl").read_text().splitlines()]
    assert passages[0]["id"] == "22_28357#0" and passages[0]["document_id"] == "22_28357"
    assert passages[0]["text"].startswith("George Rankin\nGeorge James Rankin")
    manifest = json.loads((document_run / "manifest.json").read_text())
    assert manifest["data"]["passages"] == len(passages) and manifest["data"]["facts"] == QUESTIONS
    assert manifest["report_meta"]["knowledge_method"] == "lm+chat"  # train.method: auto on documents
    assert sorted(p.name for p in (document_run / "adapters").iterdir()) == [
        "ft",
        "qa-gen",
        "reader-fold0",
        "reader-fold1",
    ]
    # The passages once (one epoch), and the questions' turns beside them.
    assert manifest["training"]["ft"]["tokens"]["train_tokens"] >= len(passages)
    assert manifest["config"]["reader"]["without_gold"] == "auto"


@pytest.mark.slow
def test_records_carry_aliases_documents_and_extra_fields(document_run):
    answers = [json.loads(line) for line in (document_run / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 6 * QUESTIONS
    first = next(a for a in answers if a["arm"] == "rag" and a["id"] == "22_0")
    assert first["aliases"][:2] == ["politician", "political leader"]
    assert first["gold_documents"][0] == "22_28357" and first["extra"] == {"pageviews": 142}
    assert len(first["retrieved_ids"]) == 5 and len(first["retrieved_documents"]) == 5
    assert all("#" in passage_id for passage_id in first["retrieved_ids"])
    assert {a["kind"] for a in answers} == {"text"} and all("f1" in a["metrics"] for a in answers)
    assert all(a["correct"] == a["metrics"]["prefix"] for a in answers)  # the default rule


@pytest.mark.slow
def test_the_report_has_the_baseline_collapse_recall_and_groups(document_run):
    results = json.loads((document_run / "results.json").read_text())
    assert results["majority"]["train"]["answer"] == "politician"
    assert results["retrieval"]["dense"]["recall@1"] == 1.0
    assert [row["n"] for row in results["groups"]["splits"]["train"]] == [3, 3]
    for arm in ("base", "ft", "rag", "ft+rag", "reader+rag"):
        block = results["arms"][arm]["train"]
        assert {"top_answer", "top_answer_share", "vs_majority", "metrics", "truncated"} <= set(block)
        assert {"prefix", "strict", "substring", "lenient", "f1"} <= set(block["metrics"])
    report = (document_run / "report.md").read_text()
    for text in (
        "## Majority baseline",
        "always answering 'politician'",
        "## Accuracy by question group",
        "cross-fitted, 2 folds",
        "## Accuracy under each rule",
        "most frequent answer",
    ):
        assert text in report


@pytest.mark.slow
def test_qa_gen_shows_every_generated_pair_and_trains_on_the_kept_ones(document_run):
    """The embedded model wrote the pairs; every one is in the run folder with why it was dropped,
    the counts are in results.json and the report, and the kept ones were trained on."""
    pairs = [json.loads(line) for line in (document_run / "generated_qa.jsonl").read_text().splitlines()]
    passages = (document_run / "passages.jsonl").read_text().splitlines()
    assert len(pairs) == 2 * len(passages)
    kept = [p for p in pairs if not p["dropped"]]
    summary = json.loads((document_run / "results.json").read_text())["generated_qa"]
    assert summary["kept"] == len(kept) > 0
    assert sum(summary["dropped"].values()) == len(pairs) - len(kept)
    for pair in kept:  # each checked: its answer stated in its own passage, never in its question
        passage = next(json.loads(p) for p in passages if json.loads(p)["id"] == pair["passage_id"])
        assert normalise_text(pair["answer"]) in normalise_text(passage["text"])
        assert pair["question"].endswith("?")
    report = (document_run / "report.md").read_text()
    assert f"{summary['kept']} passed the checks and were trained on" in report
    manifest = json.loads((document_run / "manifest.json").read_text())
    assert (
        manifest["training"]["qa-gen"]["tokens"]["train_tokens"]
        > manifest["training"]["ft"]["tokens"]["train_tokens"]
    )
