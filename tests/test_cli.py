"""Bad input ends in one line and exit status 2, and leaves no run folder behind."""

import hashlib
from pathlib import Path

import pytest

from ftvsrag.cli import main

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")


def _run_fails(capsys, tmp_path, *overrides):
    code = main(
        ["run", CITIES, f"runs_dir={tmp_path / 'runs'}", f"cache_dir={tmp_path / 'cache'}", *overrides]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("ftvsrag: error: ")
    assert not (tmp_path / "runs" / "cities").exists()
    assert not list((tmp_path / "runs").glob(".cities*")) if (tmp_path / "runs").exists() else True
    return err


def test_missing_data_file(capsys, tmp_path):
    err = _run_fails(capsys, tmp_path, f"data.path={tmp_path / 'missing.jsonl'}")
    assert "data file not found" in err and "missing.jsonl" in err


def test_unknown_model(capsys, tmp_path):
    err = _run_fails(capsys, tmp_path, "model=smolm2-135m-instruct")
    assert "unknown model 'smolm2-135m-instruct'" in err and "did you mean 'smollm2-135m-instruct'" in err


def test_unknown_config_key(capsys, tmp_path):
    err = _run_fails(capsys, tmp_path, "rag.top_k=3")
    assert "unknown config key 'rag.top_k'" in err


def test_malformed_data_line(capsys, tmp_path):
    data = tmp_path / "kb.jsonl"
    data.write_text('{"messages": [}\n')
    err = _run_fails(capsys, tmp_path, f"data.path={data}")
    assert "kb.jsonl:1: malformed JSON" in err


def test_missing_config_file(capsys, tmp_path):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("run", "report", "cities"))


def test_cities_command_writes_the_blog_file(capsys, tmp_path):
    out = tmp_path / "cities_population.jsonl"
    assert main(["cities", "--out", str(out)]) == 0
    from tests.test_facts import CITIES_SHA256

    assert hashlib.sha256(out.read_bytes()).hexdigest() == CITIES_SHA256


def test_report_on_a_folder_that_is_not_a_run(capsys, tmp_path):
    assert main(["report", str(tmp_path)]) == 2
    assert "no answers.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "kb.jsonl: the file is empty"),
        (b'{"messages": [{"role": "user", "content": "Q?"}]}\n', "kb.jsonl:1: no assistant turn"),
        (
            b'{"messages": [{"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}]}\n',
            "kb.jsonl:1: no user turn",
        ),
        (b'{"question": "Q?", "answer": "  "}\n', "kb.jsonl:1: empty 'answer'"),
        (b"\xff\xfe\x00bad", "kb.jsonl: not UTF-8 text"),
        (b'{"question": "Q?", "answer": 1}\n{"question": "Q?", "answer": 2}\n', "kb.jsonl:2: question 'Q?'"),
    ],
)
def test_bad_knowledge_bases_end_in_one_line(capsys, tmp_path, content, message):
    data = tmp_path / "kb.jsonl"
    data.write_bytes(content)
    err = _run_fails(capsys, tmp_path, f"data.path={data}")
    assert message in err


def test_wrong_config_type(capsys, tmp_path):
    err = _run_fails(capsys, tmp_path, "train.epochs=lots")
    assert "train.epochs" in err


def test_unknown_force_stage(capsys, tmp_path):
    assert main(["run", CITIES, f"runs_dir={tmp_path}", "--force", "trian"]) == 2
    assert "--force trian: not a stage" in capsys.readouterr().err


def test_overrides_after_an_option_still_count(capsys, tmp_path):
    """`run CONFIG --nproc 4 train.batch_size=6`: argparse alone refused the override after the option."""
    assert main(["run", CITIES, "--nproc", "4", "train.batch_size=6", f"runs_dir={tmp_path}"]) == 2
    assert "'train.batch_size' (6) must divide by the number of processes (4)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", CITIES, "--nproc", "4", "--bogus"])
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["cities", "--num-cities", "3", "a=b"])
    assert "unrecognized arguments: a=b" in capsys.readouterr().err


def test_a_bad_run_keeps_the_previous_good_one(capsys, tmp_path):
    good = tmp_path / "runs" / "cities"
    good.mkdir(parents=True)
    (good / "results.json").write_text("{}\n")
    data = tmp_path / "kb.jsonl"
    data.write_text("{not json\n")
    assert main(["run", CITIES, f"runs_dir={tmp_path / 'runs'}", f"data.path={data}"]) == 2
    assert (good / "results.json").read_text() == "{}\n"


def test_missing_model_folder(capsys, tmp_path):
    err = _run_fails(capsys, tmp_path, f"model={tmp_path / 'models' / 'gone'}")
    assert "model folder not found" in err


def test_model_folder_without_config(capsys, tmp_path):
    (tmp_path / "empty-model").mkdir()
    err = _run_fails(capsys, tmp_path, f"model={tmp_path / 'empty-model'}")
    assert "has no config.json" in err


@pytest.mark.slow
def test_corrupt_gguf(capsys, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    err = _run_fails(capsys, tmp_path, f"model={bad}")
    assert "could not be read as GGUF" in err


def test_cache_command_lists_and_prunes_oldest_first(tmp_path, capsys):
    import os
    import time

    cache = tmp_path / ".cache"
    for name, size, days in (("train-old", 3000, 40), ("answers-mid", 2000, 10), ("index-new", 1000, 0)):
        (cache / name).mkdir(parents=True)
        (cache / name / "stage.json").write_bytes(b"x" * size)
        stamp = time.time() - days * 86400
        for path in (cache / name / "stage.json", cache / name):
            os.utime(path, (stamp, stamp))

    assert main(["cache", "--runs-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert listing.index("train-old") < listing.index("answers-mid") < listing.index("index-new")
    assert "total (3 entries)" in listing

    assert main(["cache", "--runs-dir", str(tmp_path), "--older-than", "30d", "--dry-run"]) == 0
    assert "Would remove 1 of 3" in capsys.readouterr().out and (cache / "train-old").exists()
    assert main(["cache", "--runs-dir", str(tmp_path), "--older-than", "30d"]) == 0
    assert sorted(p.name for p in cache.iterdir()) == ["answers-mid", "index-new"]
    assert main(["cache", "--runs-dir", str(tmp_path), "--max-size", "1.5kB"]) == 0
    assert sorted(p.name for p in cache.iterdir()) == ["index-new"]
    assert main(["cache", "--runs-dir", str(tmp_path), "--max-size", "lots"]) == 2
    assert "--max-size 'lots': expected a size like 500MB" in capsys.readouterr().err
