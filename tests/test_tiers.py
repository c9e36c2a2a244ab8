"""The fast tier refuses what would make it slow, so a test cannot sit there by mistake."""

import contextlib
import re
import subprocess
import sys

import pytest

from tests.conftest import TierViolation, heavy_work_refused


@pytest.mark.parametrize(
    ("work", "said"),
    [
        (lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), "starts a process"),
        (lambda: __import__("torch").nn.Linear(2, 2), "builds a torch module (Linear)"),
        (lambda: __import__("transformers").AutoTokenizer.from_pretrained("x"), "loads a tokenizer"),
    ],
)
def test_slow_work_is_refused_outside_the_slow_tier(work, said):
    refused: list[str] = []
    with heavy_work_refused(refused), pytest.raises(TierViolation, match=re.escape(said)):
        work()
    assert said in refused[0]


def test_git_is_quick_enough_for_the_fast_tier():
    refused: list[str] = []
    with heavy_work_refused(refused):
        subprocess.run(["git", "--version"], check=True, capture_output=True)
    assert refused == []


def test_matplotlib_may_list_the_fonts_on_its_first_import():
    # On a machine with no font cache yet, the first chart of a fast test runs `fc-list --help`.
    refused: list[str] = []
    with heavy_work_refused(refused), contextlib.suppress(FileNotFoundError):  # no fontconfig: fine
        subprocess.run(["fc-list", "--help"], capture_output=True)
    assert refused == []


@pytest.mark.slow
def test_the_slow_tier_may_build_a_module():
    import torch

    assert torch.nn.Linear(2, 2).weight.shape == (2, 2)
