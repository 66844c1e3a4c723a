"""Where the samples an evaluation scores come from: a fixed set of fakes (the same z, and for conditional models the
same labels, at every evaluation), each DDP rank's share of it, and a translation model's translated held-out images.
Used by ``zoo.metrics.evaluation``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from zoo.conditioning import cycle_labels, is_conditional
from zoo.sampling import draw, eval_mode, fixed_z, generate_batches


def shard(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Contiguous [start, stop) share of n items for ``rank``: concatenated in rank order they give 0..n."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def fake_labels(model: nn.Module, num_fake: int) -> Tensor | None:
    """The label each of a fixed set of ``num_fake`` fakes is generated with: fake i gets ``i % K`` for a conditional
    model with K labels (every label equally often, in a fixed order, over the whole set, not per batch or rank),
    ``None`` for an unconditional one. ``fake_batches`` draws with these and the class-aware metrics read them."""
    return cycle_labels(num_fake, model.num_classes) if is_conditional(model) else None


def fake_batches(
    model: nn.Module, num_fake: int, start: int, stop: int, seed: int, batch_size: int
) -> Iterator[Tensor]:
    """Samples ``start:stop`` of a fixed set of ``num_fake`` fakes drawn from ``seed``, batch by batch.

    Models with ``sample_z`` and ``generator`` (every noise -> image variant) get the same z at every call
    and the generator runs in eval mode (conditional models: fake i gets label ``i % K``, ``fake_labels``, so every
    class is equally represented); other models are asked for ``generate(n)`` under a seeded RNG.
    """
    labels = fake_labels(model, num_fake)
    if labels is not None:
        z = fixed_z(model, num_fake, seed)[start:stop]
        labels = labels[start:stop]
        with eval_mode(model.generator):
            for z_chunk, label_chunk in zip(z.split(batch_size), labels.split(batch_size)):
                with torch.no_grad():
                    yield draw(model, z_chunk, label_chunk.to(z_chunk.device)).float()
        return
    if hasattr(model, "sample_z") and getattr(model, "generator", None) is not None:
        yield from generate_batches(model.generator, fixed_z(model, num_fake, seed)[start:stop], batch_size)
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 7919 * start)
        for begin in range(start, stop, batch_size):
            with torch.no_grad():
                images = model.generate(min(batch_size, stop - begin)).float()
            yield images


def is_translation_model(model: nn.Module) -> bool:
    """Image-to-image models (CycleGAN) translate held-out images instead of sampling a prior."""
    return callable(getattr(model, "translate", None))


#: (direction, source domain, target domain) of a two-domain translation model
TRANSLATIONS = (("AtoB", "A", "B"), ("BtoA", "B", "A"))


def translated_batches(model: nn.Module, images: Tensor, direction: str, batch_size: int) -> Iterator[Tensor]:
    """``model.translate(images, direction)`` batch by batch, with the model in eval mode (restored after)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        for chunk in images.split(batch_size):
            with torch.no_grad():
                translated = model.translate(chunk.to(device), direction).float()
            yield translated


def domain_samples(datamodule: Any, split: str, domain: str, n: int) -> Tensor:
    """The first ``n`` held-out images of ``domain`` (all of them when the split holds fewer)."""
    try:
        images = datamodule.real_samples(split, None, domain=domain)
    except TypeError as err:
        raise ValueError(
            f"{type(datamodule).__name__} serves one domain, but a translation model (CycleGAN) is scored by "
            "translating held-out images of domain A and comparing them with held-out images of domain B (and "
            "back): evaluate it with a two-domain datamodule such as datamodules.UnpairedImageData or "
            "datamodules.FashionMNISTPairData (gan-zoo evaluate --data FashionMNISTPairData)."
        ) from err
    return images[:n]
