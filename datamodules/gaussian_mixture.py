"""2-D Gaussian mixtures: the ring of 8 and the grid of 25 (Metz et al. 2017; Srivastava et al. 2017).

Ring: 8 modes evenly spaced on a circle of radius 2, std 0.02. Grid: 25 modes at {-4,-2,0,2,4}^2,
std 0.05. These are the settings of the unrolled-GAN (Metz et al., ICLR 2017, Appendix A) and VEEGAN
(Srivastava et al., NeurIPS 2017, Section 5.1) toy benchmarks.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from datamodules.base import ImageDataModule
from zoo.validation import require_at_least, require_choice, require_positive

LAYOUTS = ("ring", "grid")


def mixture_centers(layout: str, num_modes: int = 8, radius: float = 2.0) -> Tensor:
    """Mode centers (K, 2): ``num_modes`` on a circle of ``radius``, or the 5x5 grid with spacing 2."""
    require_choice("layout", layout, LAYOUTS)
    if layout == "ring":
        angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
        return torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1).float()
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


class GaussianMixtureData(ImageDataModule):
    """Samples from an equal-weight 2-D Gaussian mixture; labels are the component indices.

    Args:
        layout: ``ring`` (8 modes, radius 2) or ``grid`` (25 modes).
        std: per-mode standard deviation (default 0.02 ring, 0.05 grid).
        num_samples: size of the fixed training set (drawn once from ``seed``).
    """

    image_shape = (2,)

    def __init__(
        self,
        layout: str = "ring",
        std: float | None = None,
        num_samples: int = 50_000,
        batch_size: int = 512,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("layout", layout, LAYOUTS)
        require_at_least("num_samples", num_samples, 1)
        self.layout = layout
        self.std = std if std is not None else (0.02 if layout == "ring" else 0.05)
        require_positive("std", self.std)
        self.num_samples = num_samples
        self.centers = mixture_centers(layout)
        self.num_classes = len(self.centers)

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        labels = torch.randint(len(self.centers), (n,), generator=generator)
        points = self.centers[labels] + self.std * torch.randn(n, 2, generator=generator)
        return points, labels

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        require_choice("split", split, ("train", "test"))
        offset = 0 if split == "train" else 1_000_003
        return self.sample(self.num_samples, torch.Generator().manual_seed(self.seed + offset))
