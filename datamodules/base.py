"""``ImageDataModule``: the base of every zoo datamodule, and ``TwoDomainData``: the base of unpaired ones.

Also the small helpers they share: uint8 -> [-1, 1] (``to_unit_range``), MNIST-style resizing
(``resize_uint8``) and the seeded DataLoader of folder datasets (``shuffled_loader``).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from datamodules.batches import InMemoryBatches
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


class ImageDataModule(L.LightningDataModule):
    """A datamodule whose samples reach the model as float in [-1, 1], with their shape known up front.

    Subclasses set ``image_shape`` and ``num_classes`` in ``__init__`` (before ``setup``) and implement
    ``load_split(split) -> (samples, labels)`` returning uint8 images (N, C, H, W) or float vectors. The
    training split is then served from memory by ``InMemoryBatches`` (MNIST, Fashion-MNIST, toys); folder
    datasets too large for memory (CelebA, unpaired image sets) override ``train_dataloader`` and stream
    from disk instead.

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

    def rank_and_world_size(self) -> tuple[int, int]:
        """This process's rank and the number of ranks (0 and 1 outside a ``Trainer``)."""
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def train_dataloader(self) -> InMemoryBatches:
        rank, world = self.rank_and_world_size()
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


#: Backwards-compatible alias: ``ImageDataModule``'s name from before it also covered datamodules that stream
#: from disk; user code, configs and ``--data`` help naming ``datamodules.InMemoryData`` keep working.
InMemoryData = ImageDataModule

DOMAINS = ("A", "B")


class TwoDomainData(ImageDataModule):
    """Unpaired two-domain data (CycleGAN): batches are ``(images_a, images_b)``, both moved to [-1, 1].

    Subclasses keep the ``ImageDataModule`` interface, with ``real_samples(split, n, domain)`` taking a
    ``domain`` in ``DOMAINS`` ("A" or "B").
    """

    num_classes = 0  # no class labels: batches are (images_a, images_b)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images_a, images_b, *rest = batch
        return (to_unit_range(images_a), to_unit_range(images_b), *rest)


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
