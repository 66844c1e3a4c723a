"""Batches cut from in-memory tensors: no DataLoader, no per-sample Python.

``InMemoryBatches`` is the iterable handed to Lightning: each epoch is a permutation drawn from
(seed, epoch), sharded across ranks (each rank a disjoint slice, same number of batches), cut into
batches by tensor indexing. It is stateful (epoch, batch offset), so Lightning stores its position in
checkpoints and a resumed run continues mid-epoch exactly where it stopped. ``UnpairedBatches`` zips two
of them, shuffled independently, for two-domain (unpaired) data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor


class InMemoryBatches:
    """Seeded, rank-sharded batches over tensors that share their first dimension.

    Args:
        tensors: e.g. (images uint8 (N, C, H, W), labels (N,)); yielded as a tuple of slices.
        batch_size: samples per batch on this rank; incomplete trailing batches are dropped.
        seed: permutation of epoch ``e`` is ``torch.randperm(N, generator=seed + e)``.
        rank, world_size: this process's shard of every epoch's permutation.
        shuffle: ``False`` serves the data in order (evaluation).
    """

    def __init__(
        self,
        tensors: tuple[Tensor, ...],
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors must have the same number of samples.")
        per_rank = n // world_size
        if batch_size > per_rank:
            raise ValueError(
                f"batch_size={batch_size} is larger than the {per_rank} samples available per rank "
                f"({n} samples, {world_size} rank(s)): lower batch_size or use more data."
            )
        self.tensors = tensors
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.offset = 0  # batches of the current epoch already served
        self._per_rank = per_rank

    def __len__(self) -> int:
        return self._per_rank // self.batch_size

    def epoch_indices(self, epoch: int) -> Tensor:
        """This rank's sample indices for ``epoch`` (a pure function of seed, epoch, rank)."""
        n = len(self.tensors[0])
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + epoch))
        else:
            order = torch.arange(n)
        return order[: self._per_rank * self.world_size][self.rank :: self.world_size]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        if self.offset >= len(self):  # restored from a checkpoint taken after an epoch's last batch
            self.epoch, self.offset = self.epoch + 1, 0
        indices = self.epoch_indices(self.epoch)
        while self.offset < len(self):
            start = self.offset * self.batch_size
            batch_idx = indices[start : start + self.batch_size]
            self.offset += 1
            yield tuple(t[batch_idx] for t in self.tensors)
        self.epoch += 1
        self.offset = 0

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "offset": self.offset, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.offset = int(state["offset"])


class UnpairedBatches:
    """Zips two ``InMemoryBatches`` with different seeds: each domain is shuffled on its own every epoch.

    Stateful like ``InMemoryBatches`` (its position is saved in checkpoints), so a resumed run continues
    mid-epoch with the same pairs of batches.
    """

    def __init__(self, batches_a: InMemoryBatches, batches_b: InMemoryBatches) -> None:
        self.batches = (batches_a, batches_b)

    def __len__(self) -> int:
        return min(len(b) for b in self.batches)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for (a,), (b,) in zip(*self.batches):
            yield a, b

    def state_dict(self) -> dict[str, Any]:
        return {"a": self.batches[0].state_dict(), "b": self.batches[1].state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches[0].load_state_dict(state["a"])
        self.batches[1].load_state_dict(state["b"])
