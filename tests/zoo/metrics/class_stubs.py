"""Stub conditional models, data and classifier for the class-aware metric, SampleGrid and ``gan-zoo sample`` tests.

Class k is a 1x8x8 image of brightness ``LEVELS[k]`` plus noise (``StubData``: the real data). The stub generator
draws class ``class_of[label]`` (identity for a faithful class-conditional model, a permutation for an InfoGAN-like
code) with noise ``noise * z``; ``StubClassifier`` classifies by mean brightness (perfect on this data) and takes
its first ``NUM_FEATURES`` pixels as features. Everything is exact enough for closed-form expectations.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from torch import Tensor, nn

from datamodules.base import ImageDataModule
from zoo.metrics.feature_extractor import FeatureExtractor

K = 4
SHAPE = (1, 8, 8)
PIXELS = 64
LEVELS = torch.linspace(-0.75, 0.75, K)  # class k's brightness (0.5 apart; the noise's mean is ~0.1 / 8)
NUM_FEATURES = 6


class StubGenerator(nn.Module):
    """(z, labels) -> LEVELS[class_of[labels]] + noise * z[:, :64] (+ 0.1 x the first continuous code, if any)."""

    def __init__(self, class_of: Sequence[int], noise: Sequence[float] | float, continuous: int = 0) -> None:
        super().__init__()
        self.register_buffer("class_of", torch.as_tensor(list(class_of)))
        noise = [float(noise)] * len(class_of) if isinstance(noise, (int, float)) else list(noise)
        self.noise = nn.Parameter(torch.tensor(noise))
        self.continuous = continuous

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        classes = self.class_of[labels]
        images = LEVELS.to(z.device)[classes, None] + self.noise[labels, None] * z[:, :PIXELS]
        if self.continuous:
            images = images + 0.1 * z[:, -self.continuous :][:, :1]
        return images.view(-1, *SHAPE)


class StubConditional(L.LightningModule):
    """A conditional model (``zoo.conditioning``): ``label_kind`` "class" (label k asks for class ``class_of[k]``,
    k by default) or "code" (InfoGAN-like: ``num_continuous`` U(-1, 1) codes as the last columns of z)."""

    def __init__(
        self,
        label_kind: str = "class",
        class_of: Sequence[int] | None = None,
        noise: Sequence[float] | float = 0.1,
        num_continuous: int = 0,
    ) -> None:
        super().__init__()
        self.label_kind = label_kind
        self.num_classes = K if class_of is None else len(class_of)
        self.image_shape = SHAPE
        if label_kind == "code":
            self.num_continuous = num_continuous
        self.generator = StubGenerator(range(K) if class_of is None else class_of, noise, num_continuous)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, PIXELS, generator=generator)
        continuous = getattr(self, "num_continuous", 0)
        if continuous:
            z = torch.cat([z, torch.rand(n, continuous, generator=generator) * 2 - 1], dim=1)
        return z.to(self.device)

    def generate_from(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.generator(z, labels)

    def generate(self, n: int, labels: Tensor | None = None) -> Tensor:
        labels = torch.arange(n) % self.num_classes if labels is None else labels
        return self.generate_from(self.sample_z(n), labels.to(self.device))

    # a trainable module, so Trainer.fit can run the callbacks (lr 0: the weights stay as built)
    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self.generator.noise.sum() * 0.0

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


class StubUnconditional(L.LightningModule):
    """An unconditional model of the same images: ``generator(z)``, no ``num_classes`` / ``label_kind``."""

    def __init__(self) -> None:
        super().__init__()
        self.image_shape = SHAPE
        self.generator = nn.Sequential(nn.Linear(PIXELS, PIXELS), nn.Tanh(), nn.Unflatten(1, SHAPE))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, PIXELS, generator=generator).to(self.device)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return sum(p.sum() for p in self.parameters()) * 0.0

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


def stub_images(labels: Tensor, seed: int, noise: float = 0.1) -> Tensor:
    """uint8 images of the classes ``labels`` (brightness LEVELS[k] + noise, as the stub generator draws them)."""
    g = torch.Generator().manual_seed(seed)
    x = LEVELS[labels, None] + noise * torch.randn(len(labels), PIXELS, generator=g)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).view(-1, *SHAPE)


class StubData(ImageDataModule):
    """``n`` labelled 1x8x8 images per split, classes in a seeded random order (``num_classes = K``); with
    ``labelled=False`` it claims no classes (like CelebA)."""

    image_shape = SHAPE

    def __init__(self, n: int = 400, labelled: bool = True, batch_size: int = 8) -> None:
        super().__init__(batch_size=batch_size)
        self.n = n
        self.num_classes = K if labelled else 0

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        seed = 0 if split == "train" else 1
        labels = torch.randint(0, K, (self.n,), generator=torch.Generator().manual_seed(seed + 10))
        return stub_images(labels, seed), labels


class StubClassifier(FeatureExtractor):
    """Features: the first ``NUM_FEATURES`` pixels; logits: minus the squared distance of the mean brightness to each
    class's level (``num_logits`` columns, the first K of them the classes; ``logits=False``: no class head)."""

    name = "stub-classifier"
    input_shapes = (SHAPE,)
    channels = (1,)
    weights_sha256 = "0" * 64

    def __init__(self, logits: bool = True, num_logits: int = K) -> None:
        super().__init__()
        self.provides_logits = logits
        self.num_logits = num_logits

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        flat = images.flatten(1)
        distance = (flat.mean(1, keepdim=True) - LEVELS.to(images.device)) ** 2
        logits = torch.full((len(images), self.num_logits), -1e6, device=images.device)
        logits[:, :K] = -100 * distance
        return flat[:, :NUM_FEATURES], logits


def decode(images: Tensor) -> Tensor:
    """The class each stub image shows (nearest brightness level)."""
    return (images.flatten(1).mean(1, keepdim=True) - LEVELS).abs().argmin(1)
