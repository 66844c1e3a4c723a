"""Keep freed CPU memory in the process, so a training step does not page its buffers in again every time.

A training step allocates and frees the same large buffers every time: activations, gradients and the optimizer's
temporaries (single-tensor Adam makes several full-size copies of each weight per step). glibc's ``malloc``
serves a block above its *mmap threshold* with a fresh ``mmap`` and unmaps it on ``free``, and it hands the top of
its heap back to the kernel once more than the *trim threshold* is free there; both thresholds adapt, but not to
this pattern. Every step then page-faults the same memory in again, and the kernel zero-fills each 4 KiB page: with
Lucic et al.'s InfoGAN-style nets at batch 64, about 25,000 minor page faults per step on CPU.

``keep_freed_memory()`` raises both thresholds with ``mallopt`` (``M_MMAP_THRESHOLD`` to its 32 MiB maximum on
64-bit glibc, ``M_TRIM_THRESHOLD`` to 1 GiB), which is what setting ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` before start-up does; PyTorch's CPU performance tuning guide gets the same effect by
preloading jemalloc or tcmalloc. Freed blocks then stay in the process for the next step: the numbers computed are
the same (only where memory comes from changes), steps run faster, and the resident memory stays at its peak
instead of shrinking between steps. Measured by ``python -m benchmarks.allocator_bench``
(``benchmarks/results/allocator.md``).

It changes the whole process, so the library never calls it by itself: the ``gan-zoo`` command and the benchmark
scripts do (``GAN_ZOO_KEEP_FREED_MEMORY=0`` turns that off), and a script of your own calls it once at start-up.
Where the C library is not glibc (macOS, Windows, musl), it does nothing and returns None.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Any

#: ``mallopt`` parameter numbers (glibc ``malloc.h``)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: the largest mmap threshold glibc accepts on 64-bit (``HEAP_MAX_SIZE / 2``); larger blocks are always mmapped
MMAP_THRESHOLD_MAX = 32 * 2**20
TRIM_THRESHOLD = 2**30
OPT_OUT = "GAN_ZOO_KEEP_FREED_MEMORY"
PRELOADED = ("jemalloc", "tcmalloc", "mimalloc")

_applied: dict[str, int] | None = None


def uses_glibc() -> bool:
    """Whether this process's C library is glibc (the one whose ``mallopt`` this module calls)."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def keep_freed_memory(
    mmap_threshold: int = MMAP_THRESHOLD_MAX, trim_threshold: int = TRIM_THRESHOLD
) -> dict[str, int] | None:
    """Raise glibc's mmap and trim thresholds for this process (see the module docstring); returns the settings
    applied, or None where the C library is not glibc. Calling it again with the same values changes nothing.

    Raises:
        ValueError: a threshold below 0 or an mmap threshold above glibc's maximum (32 MiB on 64-bit).
        OSError: glibc refused a setting.
    """
    global _applied
    if not 0 <= mmap_threshold <= MMAP_THRESHOLD_MAX:
        raise ValueError(
            f"mmap_threshold must be in [0, {MMAP_THRESHOLD_MAX}] bytes (glibc's maximum on 64-bit), "
            f"got {mmap_threshold}."
        )
    if trim_threshold < 0:
        raise ValueError(f"trim_threshold must be >= 0 bytes, got {trim_threshold}.")
    if not uses_glibc():
        return None
    libc = ctypes.CDLL(None)
    for parameter, value, name in (
        (M_MMAP_THRESHOLD, mmap_threshold, "M_MMAP_THRESHOLD"),
        (M_TRIM_THRESHOLD, trim_threshold, "M_TRIM_THRESHOLD"),
    ):
        if libc.mallopt(ctypes.c_int(parameter), ctypes.c_int(value)) != 1:
            raise OSError(f"glibc refused mallopt({name}, {value}).")
    _applied = {"mmap_threshold": mmap_threshold, "trim_threshold": trim_threshold}
    return dict(_applied)


def keep_freed_memory_unless_opted_out() -> dict[str, int] | None:
    """``keep_freed_memory()`` for the zoo's commands and scripts, unless ``GAN_ZOO_KEEP_FREED_MEMORY=0``."""
    if os.environ.get(OPT_OUT, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    return keep_freed_memory()


def allocator_settings() -> dict[str, Any]:
    """What serves this process's CPU memory, for a result's protocol: an allocator preloaded with ``LD_PRELOAD``,
    the thresholds ``keep_freed_memory`` set, the ``MALLOC_*_`` environment variables glibc read at start-up, or
    glibc's defaults."""
    preload = os.environ.get("LD_PRELOAD", "")
    found = [name for name in PRELOADED if name in preload]
    settings: dict[str, Any] = {"malloc": found[0] if found else ("glibc" if uses_glibc() else platform.system())}
    if _applied is not None:
        settings["keep_freed_memory"] = dict(_applied)
    environment = {k: v for k, v in os.environ.items() if k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    if environment:
        settings["environment"] = environment
    return settings
