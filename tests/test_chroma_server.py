"""The index on a real Chroma server (`chroma run`, started here on a free loopback port) against the
embedded index: the same retrieval and the same answers, the updated split upserted into a copy."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ftvsrag.cli import main
from tests.conftest import no_network

CITIES = str(Path(__file__).parent.parent / "configs" / "cities.yaml")
SLICE = [
    "data.num_cities=10",
    "eval.arms=[rag]",
    "eval.splits=[train,updated]",
    "eval.updated_facts=3",
    "eval.forgetting_probe=false",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    """`chroma run` on the loopback port, once its heartbeat answers."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI comes with chromadb"
    command = [chroma, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).close()
            return server
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    server = start_server(tmp_path_factory.mktemp("chroma"), port)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def records(run: Path) -> list[tuple]:
    lines = (run / "answers.jsonl").read_text().splitlines()
    return [
        (r["split"], r["id"], r["retrieved_ids"], r["retrieved_texts"], r["output"])
        for r in map(json.loads, lines)
    ]


@pytest.mark.slow
def test_a_run_on_a_chroma_server_equals_the_embedded_run(
    chroma_server, tmp_path, monkeypatch, capsys, smollm2
):
    import chromadb

    monkeypatch.setenv("CHROMA_TOKEN", "secret-token")
    server = [
        f"rag.server={chroma_server}",
        "rag.server_headers={X-Chroma-Token: '${CHROMA_TOKEN}', X-Team: plain-secret}",
    ]
    with no_network() as attempts:
        assert main(["run", CITIES, f"runs_dir={tmp_path}", "name=embedded", *SLICE]) == 0
        assert main(["run", CITIES, f"runs_dir={tmp_path}", "name=served", *SLICE, *server]) == 0
    assert attempts == []
    embedded, served = records(tmp_path / "embedded"), records(tmp_path / "served")
    assert len(served) == 13 and served == embedded
    # The updated split read the facts' new sentences, upserted into the run's own copy.
    found = {(split, fact): dict(zip(ids, texts, strict=True)) for split, fact, ids, texts, _ in served}
    changed = [fact for split, fact in found if split == "updated"]
    assert len(changed) == 3
    assert all(found["updated", fact][fact] != found["train", fact][fact] for fact in changed)

    index = json.loads((tmp_path / "served" / "manifest.json").read_text())["index"]
    assert index["server"] == chroma_server and index["collection"].startswith("knowledge-")
    client = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
    names = [c.name for c in client.list_collections()]
    assert names == [index["collection"]]  # the run's copy is gone
    assert client.get_collection(index["collection"]).count() == 10  # the knowledge base, no upserts
    assert not (tmp_path / "served" / "chroma").exists()
    headers = yaml.safe_load((tmp_path / "served" / "config.yaml").read_text())["rag"]["server_headers"]
    assert headers == {"X-Chroma-Token": "${CHROMA_TOKEN}", "X-Team": "<redacted>"}
    assert "secret" not in (tmp_path / "served" / "manifest.json").read_text()

    capsys.readouterr()
    assert main(["run", CITIES, f"runs_dir={tmp_path}", "name=served", *SLICE, *server]) == 0
    assert f"reused {index['collection']} on {chroma_server}" in capsys.readouterr().out


def test_a_dead_chroma_server_is_one_line_at_once(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    assert main(["run", CITIES, f"runs_dir={tmp_path}", *SLICE, f"rag.server={url}"]) == 2
    assert time.monotonic() - started < 10
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"ftvsrag: error: no Chroma server answers at {url} within 10 s (")
    assert "\n" not in error and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_server_that_goes_away_mid_run_is_one_line_and_the_rerun_keeps_what_was_computed(tmp_path, smollm2):
    """Defect: a server stopped mid-run ended the run in httpx's traceback."""
    port, data = free_port(), tmp_path / "chroma"
    server = start_server(data, port)
    command = [sys.executable, "-m", "ftvsrag", "run", CITIES, f"runs_dir={tmp_path / 'runs'}", *SLICE]
    command += [f"rag.server=http://127.0.0.1:{port}", "rag.server_timeout_s=3"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in run.stdout:  # the train split answered: the updated split's upserts come next
        if line.startswith("==> answer:rag (train"):
            server.kill()
            server.wait()
            break
    _, err = run.communicate(timeout=300)
    said = [line for line in err.splitlines() if line.startswith("ftvsrag")]
    assert run.returncode == 2 and "Traceback" not in err
    assert said == [said[0]] and said[0].startswith(
        f"ftvsrag: error: the Chroma server at 127.0.0.1:{port} stopped answering (ConnectError: "
    )
    assert "stages already computed are kept in the cache; restart the server and run again" in said[0]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [".cache"]  # no run folder, no staging
    assert [p.name for p in (tmp_path / "runs" / ".cache").iterdir() if ".partial-" in p.name] == []

    server = start_server(data, port)
    try:
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "==> answer:rag (train, seed 0, reused answers-" in rerun.stdout
    assert len(records(tmp_path / "runs" / "cities")) == 13
