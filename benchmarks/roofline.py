"""The machine's measured compute peak: FLOP/s of a large square matrix product, per dtype.

A datasheet peak (cores x clock x SIMD lanes x FMA units x 2) assumes every core at its all-core turbo with
both FMA pipes busy, which a shared 2-core VM never sustains; the best ``torch.mm`` of two n x n matrices on
the same machine, threads and dtype is the ceiling a training step could reach with the same libraries
(oneDNN / MKL on CPU, cuBLAS on GPU), so "fraction of peak" below is measured against that (2 n^3 FLOPs per
product, best of ``repeats`` after a warm-up).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from benchmarks.step_loops import synchronize


def matmul_peak(dtype: torch.dtype, device: torch.device, n: int = 2048, repeats: int = 10) -> dict[str, Any]:
    """Best FLOP/s of ``torch.mm`` on two ``n`` x ``n`` matrices of ``dtype`` on ``device``."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device, dtype)
    b = torch.randn(n, n, generator=generator).to(device, dtype)
    torch.mm(a, b)  # warm-up: library initialisation and kernel choice
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return {"dtype": str(dtype).replace("torch.", ""), "n": n, "repeats": repeats, "flops_per_s": 2 * n**3 / best}
