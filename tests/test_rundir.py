import json

import pytest

from ftvsrag.eval.rundir import staged_run_dir, write_json


def test_a_failed_run_leaves_the_previous_run_untouched(tmp_path):
    final = tmp_path / "cities"
    with staged_run_dir(final) as run:
        write_json(run / "results.json", {"good": True})
    with pytest.raises(RuntimeError), staged_run_dir(final) as run:
        write_json(run / "results.json", {"good": False})
        raise RuntimeError("training crashed")
    assert json.loads((final / "results.json").read_text()) == {"good": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cities"]


def test_a_finished_run_replaces_the_previous_one(tmp_path):
    final = tmp_path / "cities"
    for value in (1, 2):
        with staged_run_dir(final) as run:
            write_json(run / "results.json", {"value": value})
    assert json.loads((final / "results.json").read_text()) == {"value": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cities"]
