"""The protocol block every benchmark/table result carries: command, git SHA, versions, hardware."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import torch

from zoo.allocator import allocator_settings
from zoo.precision import cpu_bf16_units


def git_sha() -> str:
    """HEAD's SHA (``-dirty`` when tracked files differ from it); ``ZOO_GIT_SHA`` names it for a copy of the tree
    that has no ``.git`` (a borrowed machine), ``unknown`` where neither is there."""
    if os.environ.get("ZOO_GIT_SHA"):
        return os.environ["ZOO_GIT_SHA"] + " (given by ZOO_GIT_SHA)"
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    """Where a result was produced. ``cpu_capability`` is the SIMD level torch picked its CPU kernels for (e.g.
    AVX2, AVX512): a CPU run is bit-for-bit repeatable only on the same level, since kernels for different levels
    round differently and a GAN's training amplifies the difference."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_bf16_units": cpu_bf16_units(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_allocator": allocator_settings(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def versions() -> dict[str, str]:
    import torchvision

    from zoo.metrics.evaluation import library_versions

    return {**library_versions(), "torchvision": torchvision.__version__}


def protocol(**extra: Any) -> dict[str, Any]:
    return {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "git_sha": git_sha(),
        "versions": versions(),
        "hardware": hardware(),
        **extra,
    }


def protocol_line(proto: dict[str, Any]) -> str:
    """The one-line protocol footer of a benchmark's Markdown."""
    return (
        f"Protocol: command `{proto['command']}`; git `{proto['git_sha']}`; hardware {proto['hardware']}; "
        f"versions {proto['versions']}; wall {proto['wall_time_s']} s."
    )
