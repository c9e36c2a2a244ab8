"""A quiet console: library warnings, library logs and the trainer's loss lines go to run.log, not
the screen (unless --verbose); stage lines, progress bars and the result stay on the screen."""

import logging
import warnings

import pytest

from ftvsrag.console import run_log


def test_warnings_and_library_logs_go_to_the_log_file(tmp_path, capfd):
    from transformers.utils import logging as transformers_logging

    log = tmp_path / "run.log"
    with run_log(log):
        warnings.warn("`past_key_values` is deprecated", FutureWarning, stacklevel=1)
        transformers_logging.get_logger("transformers.modeling_utils").warning("a library notice")
        logging.getLogger("chromadb.telemetry").warning("telemetry off")
        print("==> train:ft (seed 0)")
    out, err = capfd.readouterr()
    assert out == "==> train:ft (seed 0)\n" and err == ""
    text = log.read_text()
    for line in ("FutureWarning: `past_key_values` is deprecated", "a library notice", "telemetry off"):
        assert line in text


def test_verbose_shows_them_too_and_the_setup_is_restored_after(tmp_path, capfd):
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    with run_log(tmp_path / "run.log", verbose=True):
        logging.getLogger("transformers").warning("shown with --verbose")
    assert "shown with --verbose" in capfd.readouterr().err
    assert (root.level, list(root.handlers)) == before
    assert logging.getLogger("transformers").handlers  # its own stderr handler is back


@pytest.mark.slow
def test_the_trainers_loss_lines_go_to_the_log(smollm2_tokenizer, tmp_path, capfd):
    from ftvsrag.knowledge.facts import cities_records
    from ftvsrag.train.config import LoraSettings, TrainSettings
    from ftvsrag.train.lora import train_lora
    from ftvsrag.train.model import plan_device
    from tests.conftest import tiny_llama

    model = tiny_llama(smollm2_tokenizer, tmp_path / "tiny")
    rows = [{"messages": r["messages"]} for r in cities_records(4)]
    settings = TrainSettings(epochs=1, batch_size=2, logging_steps=1, lora=LoraSettings(r=4, alpha=8))
    with run_log(tmp_path / "run.log"):
        train_lora(model, smollm2_tokenizer, rows, settings, plan_device("cpu", "float32"), 0, tmp_path / "a")
    out, err = capfd.readouterr()
    assert "'loss'" not in out + err and "Warning" not in out + err
    assert "ftvsrag.train: step 1: {'loss'" in (tmp_path / "run.log").read_text()
