"""Whether bfloat16 is native on the device a run trains on, and a warning where it would be emulated.

``Trainer(precision="bf16-mixed")`` works for every variant on any device (tests/zoo/test_precision_compile.py).
It is only *fast* where the hardware has bf16 arithmetic: on x86 CPUs the AVX512-BF16 instructions (AMD Zen 4
and later, Intel Cooper Lake and later) or Intel AMX tiles (Sapphire Rapids and later), which oneDNN uses for
bf16 convolutions and matrix products; on NVIDIA GPUs compute capability 8.0 (Ampere) and later. Elsewhere
oneDNN / cuBLAS convert to fp32 and back around kernels, and a bf16 run is usually slower than fp32, with
less precise results. ``warn_if_bf16_is_emulated`` says so at ``setup()`` and names the fix.
benchmarks/throughput.py measures the speed-up where bf16 is native.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn

BF16_PRECISIONS = ("bf16-mixed", "bf16-true", "bf16")


def native_bf16(device: torch.device | str) -> bool:
    """True where ``device`` computes in bfloat16 natively (CPU: AVX512-BF16 or AMX; CUDA: compute capability 8+)."""
    device = torch.device(device)
    if device.type == "cpu":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8)
    return True  # other accelerators (MPS, XLA): their own runtime decides; nothing to say here


def cpu_bf16_units() -> dict[str, bool]:
    """The CPU's bf16 units as torch sees them (recorded with every timing)."""
    return {
        "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
        "amx_tile": bool(torch.cpu._is_amx_tile_supported()),
    }


def warn_if_bf16_is_emulated(trainer: Any, device: torch.device | str) -> bool:
    """Warn (once per rank 0) when ``trainer`` runs in bf16 on a ``device`` without native bf16; returns whether
    it warned."""
    precision = str(getattr(trainer, "precision", "32-true"))
    if precision not in BF16_PRECISIONS or native_bf16(device):
        return False
    where = (
        "this CPU has neither AVX512-BF16 nor AMX"
        if torch.device(device).type == "cpu"
        else ("this GPU is older than compute capability 8.0 (Ampere)")
    )
    rank_zero_warn(
        f'Trainer(precision="{precision}"): {where}, so bf16 is emulated (converted to fp32 around '
        "each kernel) and usually trains slower than fp32, with less precise results. Use "
        'Trainer(precision="32-true") here (the default), or run on a CPU/GPU with native bf16 (zoo/precision.py).',
        category=UserWarning,
    )
    return True
