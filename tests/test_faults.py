"""The fault campaign's short version (bench/faults.py --quick): a real 10-city slice killed with
SIGKILL mid-training and, from the finished run's cache, a stored file cut; each rerun succeeds with
the unfaulted run's answers, nothing is left behind and the damaged entry is set aside, never loaded."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_short_fault_campaign_survives_every_fault(tmp_path, smollm2):
    out = tmp_path / "bench-faults.json"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "faults.py"), "--quick", "--out", str(out)], check=True
    )
    record = json.loads(out.read_text())
    kill, cut = record["faults"]
    assert (kill["kind"], cut["kind"]) == ("kill", "cut") and kill["where"].startswith("train, ")
    assert kill["faulted_exit"] == -9  # SIGKILL: no cleanup ran
    for fault in (kill, cut):
        assert fault["rerun_exit"] == 0 and fault["answers_equal"] and fault["leftovers"] == []
        assert not fault["damaged_loaded"]
    assert len(cut["set_aside"]) == 1 and ".damaged-" in cut["set_aside"][0]
    assert cut["note"] == "the dry run said 'damaged: recompute'"
    assert record["summary"]["faults"] == 2 and record["summary"]["leftovers"] == 0
