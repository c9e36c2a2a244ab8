"""FLOP accounting for the benchmark: 2 per parameter and token forward, 4 for LoRA training."""

import pytest

from ftvsrag.eval.work import fraction_of_peak, run_flops, stage_flops


def test_training_counts_four_flops_and_answering_two_per_parameter_and_token():
    assert stage_flops({"train_tokens": 14028}, 1000) == 4 * 14028 * 1000
    assert stage_flops({"prompt_tokens": 300, "generated_tokens": 20}, 1000) == 2 * 320 * 1000


def test_a_run_adds_its_stages():
    flops = run_flops(
        {"train:ft": {"train_tokens": 10}, "answer:rag": {"prompt_tokens": 5, "generated_tokens": 5}}, 100
    )
    assert flops == {"train:ft": 4000.0, "answer:rag": 2000.0, "total": 6000.0}


def test_the_fraction_of_peak_is_work_over_time_times_peak():
    assert fraction_of_peak(50e9, 1.0, 100e9) == pytest.approx(0.5)
    assert fraction_of_peak(50e9, 0.0, 100e9) == 0.0
