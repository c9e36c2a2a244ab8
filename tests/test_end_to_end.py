"""The CLI end to end with the real embedded model on a slice: 10 cities, 1 epoch (about a minute)."""

import json
from pathlib import Path

import pytest
import yaml

from ftvsrag.eval.cli import main

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")
RUN_FILES = ["answers.jsonl", "config.yaml", "knowledge.jsonl", "manifest.json", "report.md", "results.json"]


@pytest.fixture(scope="module")
def slice_run(tmp_path_factory, smollm2):
    runs = tmp_path_factory.mktemp("runs")
    code = main(["run", CITIES, f"runs_dir={runs}", "name=slice", "data.num_cities=10", "train.epochs=1"])
    assert code == 0
    return runs / "slice"


@pytest.mark.slow
def test_every_file_of_the_run_exists_and_parses(slice_run):
    assert sorted(p.name for p in slice_run.iterdir() if p.is_file()) == RUN_FILES
    assert yaml.safe_load((slice_run / "config.yaml").read_text())["data"]["num_cities"] == 10
    manifest = json.loads((slice_run / "manifest.json").read_text())
    assert manifest["model"]["sha256"] == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert manifest["data"]["facts"] == 10 and manifest["device"] in ("cpu", "cuda")
    answers = [json.loads(line) for line in (slice_run / "answers.jsonl").read_text().splitlines()]
    assert [a["arm"] for a in answers] == ["base"] * 10 + ["ft"] * 10 + ["rag"] * 10
    assert all(len(a["retrieved_ids"]) == 5 for a in answers if a["arm"] == "rag")
    assert (slice_run / "adapters" / "ft" / "adapter_model.safetensors").is_file()
    assert "## Accuracy" in (slice_run / "report.md").read_text()


@pytest.mark.slow
def test_results_follow_the_schema_and_rag_wins(slice_run):
    results = json.loads((slice_run / "results.json").read_text())
    assert set(results) == {"arms", "retrieval", "timings_s"}
    assert set(results["arms"]) == {"base", "ft", "rag"}
    for arm in results["arms"].values():
        metrics = arm["train"]
        assert set(metrics) >= {"n", "correct", "accuracy", "ci95", "lenient_accuracy", "format_ok"}
        assert (
            metrics["n"] == 10 and 0 <= metrics["ci95"][0] <= metrics["accuracy"] <= metrics["ci95"][1] <= 1
        )
    # Measured on this slice (greedy decoding, fp32): the RAG prompt answers all ten, closed book none.
    assert results["arms"]["rag"]["train"]["correct"] == 10
    assert results["arms"]["base"]["train"]["correct"] == 0
    assert results["retrieval"]["dense"] == {"recall@1": 0.9, "recall@5": 1.0}
    assert results["timings_s"]["total"] > 0


@pytest.mark.slow
def test_the_adapter_loads_with_peft(slice_run, smollm2):
    from peft import PeftModel

    from ftvsrag.train.model import load_model, plan_device

    model = PeftModel.from_pretrained(load_model(smollm2, plan_device("cpu")), slice_run / "adapters" / "ft")
    assert any("lora_A" in name for name, _ in model.named_parameters())


@pytest.mark.slow
def test_report_rescores_from_answers_alone(slice_run, capsys):
    before = json.loads((slice_run / "results.json").read_text())
    assert main(["report", str(slice_run)]) == 0
    assert "| rag (base model + Chroma top-k) | train | 10 | **100 %** (10/10)" in capsys.readouterr().out
    assert json.loads((slice_run / "results.json").read_text()) == before
