"""``GeneratorSnapshots``: keep the generator's weights at chosen step counts, for scoring them later.

Lucic et al. (2018, "Are GANs Created Equal?", Sec. 5 and google/compare_gan v1) score every run at several
checkpoints (every 3,906 steps of a 15,625-step Fashion-MNIST run) and keep the best FID; a table that reports
only the end of training needs the intermediate generators to say how much that choice matters. A full
checkpoint (both nets, both optimizers) is ~6x the generator, and ``ZooCheckpoint`` keeps only the last one;
this callback writes the generator alone (its parameters and buffers, i.e. its batch-norm running statistics)
when the chosen counter reaches each chosen value:

    GeneratorSnapshots("runs/snapshots", counter="d_steps", at=[3906, 7812, 11718, 15625])

Each file ``<dirpath>/<counter><value>.pt`` is a plain dict of tensors and ints (loadable with
``torch.load(..., weights_only=True)``): ``generator`` (state dict), ``g_steps``, ``d_steps``. Writes are
atomic; a snapshot that already exists is kept (a resumed run reaches the same steps with the same weights).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch

COUNTERS = ("g_steps", "d_steps")


def snapshot_path(dirpath: str | Path, counter: str, value: int) -> Path:
    """Where ``GeneratorSnapshots`` keeps the generator of ``counter == value`` (e.g. ``d_steps3906.pt``)."""
    return Path(dirpath) / f"{counter}{int(value)}.pt"


class GeneratorSnapshots(L.Callback):
    """Saves ``pl_module.generator``'s state dict when ``pl_module.<counter>`` reaches each value of ``at``."""

    def __init__(self, dirpath: str | Path, at: Iterable[int], counter: str = "d_steps") -> None:
        if counter not in COUNTERS:
            raise ValueError(f"counter must be one of {COUNTERS}, got {counter!r}.")
        values = sorted({int(v) for v in at})
        if not values or values[0] < 1:
            raise ValueError(f"at must name step counts >= 1, got {list(at)!r}.")
        self.dirpath = Path(dirpath)
        self.counter = counter
        self.at = values

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            self.dirpath.mkdir(parents=True, exist_ok=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        value = int(getattr(pl_module, self.counter))
        if value in self.at and trainer.is_global_zero:
            self.save(pl_module, value)

    def save(self, pl_module: L.LightningModule, value: int) -> Path:
        path = snapshot_path(self.dirpath, self.counter, value)
        if path.exists():
            return path
        state = {k: v.detach().cpu().clone() for k, v in pl_module.generator.state_dict().items()}
        record = {"generator": state, "g_steps": int(pl_module.g_steps), "d_steps": int(pl_module.d_steps)}
        tmp = path.with_suffix(".pt.tmp")
        torch.save(record, tmp)
        os.replace(tmp, path)
        return path


def load_snapshot(path: str | Path) -> dict[str, Any]:
    """A snapshot written by ``GeneratorSnapshots`` (tensors and ints only: ``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)
