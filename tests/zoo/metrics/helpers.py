"""Small helpers shared by the metric tests."""

from __future__ import annotations

import torch

from datamodules.base import ImageDataModule
from zoo import GAN


def tiny_gan(seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    return GAN(image_shape=(1, 28, 28), latent_dim=16, width=8)


class SyntheticImages(ImageDataModule):
    """256 random 1x28x28 uint8 images per split: cheap for spawned DDP workers to build."""

    num_classes = 10
    image_shape = (1, 28, 28)

    def __init__(self, n: int = 256, batch_size: int = 16, seed: int = 0) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.n = n

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        images = torch.randint(0, 256, (self.n, 1, 28, 28), generator=g, dtype=torch.uint8)
        return images, torch.randint(0, 10, (self.n,), generator=g)
