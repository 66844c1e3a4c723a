"""benchmarks.protocol: the hardware block names what makes a CPU result repeatable."""

from __future__ import annotations

import torch

from benchmarks.protocol import cpu_model, hardware


def test_hardware_records_the_cpu_and_the_kernel_level_torch_chose():
    info = hardware()
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["cpu_capability"] in {"DEFAULT", "NO AVX", "AVX2", "AVX512", "Z VECTOR", "VSX", "SVE256", "SVE"}
    assert info["cpu_model"] == cpu_model() and info["cpu_model"]
    assert info["torch_threads"] == torch.get_num_threads()
