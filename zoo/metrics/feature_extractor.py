"""``FeatureExtractor``: the interface every metric extractor implements, and the hashes results are keyed by.

An extractor is an ``nn.Module`` that takes images as float tensors in [-1, 1] of shape (N, C, H, W) (the zoo's
convention), checks that it can take them, and returns ``(features, logits)``: ``features`` (N, D) feed FID,
KID and precision/recall; ``logits`` (N, K) feed the Inception score. It carries ``name``, ``weights_sha256``
(the hash that results and caches are keyed by) and ``input_shapes`` (the image shapes it accepts, ``None`` =
any size).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor, nn


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def module_sha256(module: nn.Module) -> str:
    """A hash of a module's class name and state (names, shapes, dtypes, values): identifies injected nets."""
    digest = hashlib.sha256(type(module).__qualname__.encode())
    for key, value in module.state_dict().items():
        digest.update(f"{key}:{tuple(value.shape)}:{value.dtype}".encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class FeatureExtractor(nn.Module):
    """Base class: checks input, returns ``(features, logits)``. Subclasses implement ``extract``."""

    name: str = "extractor"
    input_shapes: tuple[tuple[int, int, int], ...] | None = None  # None: any (C, H, W) with C in channels
    channels: tuple[int, ...] = (1, 3)
    weights_sha256: str = ""
    provides_logits: bool = True  # False: features only (no Inception score from this extractor)
    inference: str = "fp32"  # how the net is run (recorded in evaluation protocols)

    def check_input(self, images: Tensor) -> None:
        if not torch.is_tensor(images) or images.dim() != 4:
            shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise ValueError(
                f"extractor {self.name!r} takes a batch of images (N, C, H, W), got {shape}. "
                "Vector (toy 2-D) data has no image metrics: use the toy mode metrics instead."
            )
        shape = tuple(images.shape[1:])
        if self.input_shapes is not None and shape not in self.input_shapes:
            accepted = " or ".join("x".join(map(str, s)) for s in self.input_shapes)
            raise ValueError(
                f"extractor {self.name!r} takes {accepted} images, got {'x'.join(map(str, shape))}. Train and "
                "evaluate on data of that shape (e.g. FashionMNISTData(image_size=28)), or pick an extractor for "
                "your images: extractor='inception-v3-compat' takes any size with 1 or 3 channels."
            )
        if shape[0] not in self.channels:
            raise ValueError(
                f"extractor {self.name!r} takes images with {' or '.join(map(str, self.channels))} channel(s), "
                f"got {shape[0]} (shape {tuple(images.shape)})."
            )
        if not images.is_floating_point():
            raise ValueError(
                f"extractor {self.name!r} takes float images in [-1, 1], got dtype {images.dtype}: convert uint8 "
                "images with x.float() / 127.5 - 1 (datamodules.base.to_unit_range)."
            )

    @property
    def identity(self) -> dict[str, str]:
        """What results and caches name: the extractor and its weights hash."""
        return {"name": self.name, "weights_sha256": self.weights_sha256}

    def extract(self, images: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        self.check_input(images)
        with torch.no_grad():
            features, logits = self.extract(images)
        return features.float(), logits.float()

    def train(self, mode: bool = True) -> FeatureExtractor:
        return super().train(False)  # always in eval mode (batch norm statistics are part of the weights)


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Float images in [-1, 1] (N, 1 or 3, H, W) -> uint8 RGB in [0, 255], the input of torch-fidelity's nets."""
    x = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
