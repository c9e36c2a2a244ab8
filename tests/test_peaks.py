"""The benchmark's matmul peaks: a dtype the machine only emulates is measured small, not for minutes."""

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("peaks", Path(__file__).parents[1] / "bench" / "peaks.py")
peaks = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(peaks)


@pytest.mark.parametrize(
    ("probe_gflops", "expected_size"),
    [
        (120.0, 2048),  # fp32 on the AVX2 CPU: the full size
        (1.17, 512),  # bf16 emulated there: 1024 squared would take 1.8 s a call
        (0.01, 256),  # never below the probe's own size
    ],
)
def test_a_slow_dtype_is_measured_at_a_size_one_call_of_which_fits_the_budget(probe_gflops, expected_size):
    probe_seconds = 2 * peaks.PROBE_SIZE**3 / (probe_gflops * 1e9)
    assert peaks.affordable_size(probe_seconds, largest=2048, budget_s=1.0) == expected_size


def test_a_size_below_the_probe_is_kept():
    assert peaks.affordable_size(10.0, largest=64) == 64
