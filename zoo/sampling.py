"""Drawing from a generator for grids and metrics: eval mode, no gradients, the same z at every call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn


@contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Put ``nets`` in eval mode; restore each net's own train/eval mode afterwards (gradients untouched:
    combine with ``torch.no_grad()``, which a generator function must not hold across its ``yield``)."""
    modes = [net.training for net in nets]
    try:
        for net in nets:
            net.eval()
        yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)


def fixed_z(model: nn.Module, n: int, seed: int) -> Tensor:
    """The n latent codes ``model.sample_z`` draws from a generator seeded with ``seed`` (same z every call)."""
    return model.sample_z(n, generator=torch.Generator().manual_seed(seed))


def generate_batches(generator: nn.Module, z: Tensor, batch_size: int) -> Iterator[Tensor]:
    """``generator(z)`` in eval mode, without gradients, ``batch_size`` codes at a time (float32)."""
    with eval_mode(generator):
        for chunk in z.split(batch_size):
            with torch.no_grad():
                images = generator(chunk).float()
            yield images


def fixed_z_samples(model: nn.Module, n: int, seed: int) -> Tensor:
    """G(z) for ``fixed_z(model, n, seed)`` in eval mode, on the CPU as float32 (grids, toy metrics)."""
    with eval_mode(model.generator), torch.no_grad():
        return model.generator(fixed_z(model, n, seed)).float().cpu()
