"""Provenance for a run: code version, package versions, hashes of the inputs, device, seeds."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "trl",
    "accelerate",
    "datasets",
    "chromadb",
    "sentence-transformers",
)


def git_commit() -> str:
    """The commit of this checkout (with '+dirty' for uncommitted changes), or why there is none."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return commit + ("+dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's name as its maker gives it ("AMD EPYC", "Intel(R) Xeon(R) Platinum 8481C"):
    Linux's `model name`; elsewhere the platform's own name for it (often only the architecture)."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine()


def processor_name(device: str) -> str:
    """What computed on `device`: the GPU's name on CUDA, the CPU's elsewhere."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(device)
    return cpu_model()


def cpu_description() -> dict[str, str | None]:
    """Which CPU the timings were measured on. Timings from two machines compare only when this
    tells them apart: the 2-core development VM has been an AVX2-only, an AVX512-BF16 and an AMX
    CPU, whose 2048-square bf16 matmuls ran at 1.3, 404 and 2357 GFLOP/s (`bench/peaks.py`)."""
    import torch

    from ftvsrag.train.model import native_bf16_unit

    return {
        "model": cpu_model(),
        "simd": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": native_bf16_unit(),
    }


def build_manifest(**fields: Any) -> dict[str, Any]:
    return {
        "git_commit": git_commit(),
        "versions": package_versions(),
        "platform": platform.platform(),
        "cpu": cpu_description(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **fields,
    }
