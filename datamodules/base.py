"""``InMemoryData``: the datamodule base for datasets that fit in memory (MNIST, Fashion-MNIST, toys)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from datamodules.in_memory import InMemoryBatches
from zoo.validation import require_at_least, require_choice

IMAGE_SIZES = (28, 32, 64)


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 images in [0, 255] -> float in [-1, 1]; float input is returned unchanged."""
    if images.dtype == torch.uint8:
        return images.float().div_(127.5).sub_(1.0)
    return images


def resize_uint8(images: Tensor, size: int) -> Tensor:
    """(N, C, 28, 28) uint8 -> (N, C, size, size): 28 kept, 32 zero-padded (the usual MNIST-32), 64 resized."""
    require_choice("image_size", size, IMAGE_SIZES)
    if images.shape[-1] == size:
        return images
    if size == 32 and images.shape[-1] == 28:
        return F.pad(images, (2, 2, 2, 2))
    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


class InMemoryData(L.LightningDataModule):
    """Serves (samples, labels) batches from memory; samples reach the model as float in [-1, 1].

    Subclasses set ``image_shape`` and ``num_classes`` in ``__init__`` (before ``setup``) and implement
    ``load_split(split) -> (samples, labels)`` returning uint8 images (N, C, H, W) or float vectors.

    Args:
        batch_size: samples per batch and rank.
        seed: seeds every epoch's permutation (see ``InMemoryBatches``).
    """

    image_shape: tuple[int, ...]
    num_classes: int

    def __init__(self, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        require_at_least("batch_size", batch_size, 1)
        self.batch_size = batch_size
        self.seed = seed
        self._splits: dict[str, tuple[Tensor, Tensor]] = {}

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def split(self, split: str) -> tuple[Tensor, Tensor]:
        """The raw (samples, labels) of ``split`` ("train" or "test"), loaded once and cached."""
        if split not in self._splits:
            self._splits[split] = self.load_split(split)
        return self._splits[split]

    def setup(self, stage: str | None = None) -> None:
        self.split("train")

    def train_dataloader(self) -> InMemoryBatches:
        trainer = self.trainer
        rank = trainer.global_rank if trainer is not None else 0
        world = trainer.world_size if trainer is not None else 1
        return InMemoryBatches(self.split("train"), self.batch_size, self.seed, rank=rank, world_size=world)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        samples, *rest = batch
        return (to_unit_range(samples), *rest)

    def real_samples(self, split: str = "test", n: int | None = None) -> Tensor:
        """The first ``n`` samples of ``split`` as floats in [-1, 1] (for metrics and sample grids)."""
        samples = self.split(split)[0]
        if n is not None:
            if n > len(samples):
                raise ValueError(f"asked for {n} real samples but split {split!r} has {len(samples)}.")
            samples = samples[:n]
        return to_unit_range(samples.clone())


def shuffled_loader(dataset: Any, batch_size: int, seed: int, num_workers: int, where: str) -> Any:
    """A seeded, shuffling, last-batch-dropping DataLoader for folder datasets (CelebA, unpaired sets)."""
    from torch.utils.data import DataLoader

    if batch_size > len(dataset):
        raise ValueError(
            f"batch_size={batch_size} is larger than the {len(dataset)} training images in {where}; lower batch_size."
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
