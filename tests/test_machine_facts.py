"""What a run's manifest and the benchmarks record of the CPU: enough to tell apart machines whose
bf16 rates differ a thousandfold (an architecture name alone, "x86_64", did not)."""

import importlib
import importlib.util
import platform
from pathlib import Path

import pytest

from ftvsrag.manifest import build_manifest, cpu_model
from ftvsrag.train import model as model_module

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme avx2

processor\t: 1
model name\t: AMD EPYC 7B13
"""


def test_the_cpu_is_named_as_linux_names_it(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"


@pytest.mark.slow
def test_without_proc_cpuinfo_the_platform_names_the_cpu(tmp_path):
    assert cpu_model(tmp_path / "absent") == (platform.processor() or platform.machine())


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "unit"),
    [(True, True, "AMX-BF16"), (False, True, "AVX512-BF16"), (False, False, None)],
)
def test_the_bf16_unit_is_the_best_the_cpu_reports(monkeypatch, amx, avx512_bf16, unit):
    import torch

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert model_module.native_bf16_unit() == unit
    assert model_module.native_bf16_cpu() is (unit is not None)


@pytest.mark.slow
def test_a_run_manifest_and_the_bench_name_the_cpu_and_its_units(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr("ftvsrag.manifest.cpu_model", lambda: "AMD EPYC 9B14")
    expected = {"model": "AMD EPYC 9B14", "simd": "AVX512", "native_bf16": "AVX512-BF16"}
    assert build_manifest()["cpu"] == expected

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "bench"))
    bench_run = importlib.import_module("run")
    facts = bench_run.machine_facts(model_module.DevicePlan("cpu", "bfloat16", "float32"))
    assert facts["cpu"] == expected and facts["dtype"] == "bfloat16"


def test_a_run_names_the_gpu_on_cuda_and_the_cpu_elsewhere(monkeypatch):
    import torch

    from ftvsrag.manifest import processor_name

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: f"NVIDIA H200 ({device})")
    monkeypatch.setattr("ftvsrag.manifest.cpu_model", lambda: "AMD EPYC 7B13")
    assert processor_name("cuda:1") == "NVIDIA H200 (cuda:1)"
    assert processor_name("cpu") == "AMD EPYC 7B13"


@pytest.mark.parametrize(("native", "dtypes"), [(True, ["float32", "bfloat16"]), (False, ["float32"])])
def test_the_decoding_bench_measures_bf16_only_where_the_cpu_computes_it(monkeypatch, native, dtypes):
    """Emulated bf16 took minutes a point on an AVX2 CPU and measured a path no run takes there."""
    monkeypatch.setattr(model_module, "native_bf16_cpu", lambda: native)
    spec = importlib.util.spec_from_file_location(
        "decoding", Path(__file__).parents[1] / "bench" / "decoding.py"
    )
    decoding = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(decoding)
    assert decoding.parse_args([]).dtypes == dtypes
    assert decoding.parse_args(["--dtypes", "bfloat16"]).dtypes == ["bfloat16"]
