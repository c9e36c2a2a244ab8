"""Embedding shared out over a team of processes gives the vectors of one process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ftvsrag.rag.embeddings import length_batches

SCRIPT = Path(__file__).parent / "scripts" / "embed_in_team.py"


def test_batches_go_longest_first_and_cover_every_text_once():
    texts = ["a", "ccc", "bb", "ccc", "dddd"]
    assert length_batches(texts, 2) == [[4, 1], [3, 2], [0]]
    assert length_batches([], 2) == []


@pytest.mark.slow
def test_two_processes_embed_what_one_does(tmp_path):
    out = tmp_path / "vectors.npz"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    done = subprocess.run(
        [*command, str(SCRIPT), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    saved = np.load(out)
    assert saved["batches"] == 4  # so each process embedded two of them
    assert saved["shared"].shape == (101, 384)
    np.testing.assert_array_equal(saved["shared"], saved["alone"])


@pytest.mark.slow
def test_one_process_gets_the_vectors_of_a_plain_encode():
    """The same batches as sentence-transformers' own `encode` of the whole list, so indexes and
    retrievals are what they were before embedding was shared out (100 sentences, many of one length)."""
    from ftvsrag.knowledge.facts import cities_facts
    from ftvsrag.rag.embeddings import Embedder

    texts = [fact.document for fact in cities_facts(100)]
    embedder = Embedder("all-minilm-l6-v2")
    plain = embedder._model.encode(
        texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    )
    np.testing.assert_array_equal(np.stack(embedder(texts)), plain)
