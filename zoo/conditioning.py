"""The conditional interface shared by the class-conditional GANs (cGAN, ACGAN, projection discriminator) and
InfoGAN, and read by the class-aware metrics, ``SampleGrid`` and ``gan-zoo sample --labels``.

A *conditional* model has

* ``num_classes: int`` (a property or attribute): how many label values its generator takes;
* ``label_kind: str``: ``"class"`` when label k asks for data class k (cGAN, ACGAN, projection: trained on the
  datamodule's labels), ``"code"`` when label k is the value of a categorical latent code that the model was never
  told the meaning of (InfoGAN: a code maps to a class only up to a permutation, found by the metrics);
* ``generate(n, labels=None) -> Tensor``: n samples; ``labels`` is a 1-D integer tensor of length n with values in
  ``[0, num_classes)``, or ``None`` for labels cycling through the classes (0, 1, ..., K-1, 0, 1, ...);
* ``sample_z(n, generator=None) -> Tensor`` and ``generate_from(z, labels) -> Tensor``: the generator on given
  latent inputs and labels, so that grids and metrics can hold z fixed (``zoo.sampling.draw``). ``sample_z`` draws
  every random input except the labels (InfoGAN: the noise and its continuous codes).

Unconditional models have none of these; ``is_conditional`` tells the two apart. Plain torch, no Lightning.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

#: what a conditional model's labels mean: data classes, or values of a latent categorical code (InfoGAN)
LABEL_KINDS = ("class", "code")


def is_conditional(model: Any) -> bool:
    """Whether ``model`` follows the conditional interface (has ``num_classes`` and a ``label_kind``)."""
    return getattr(model, "label_kind", None) in LABEL_KINDS and getattr(model, "num_classes", None) is not None


def cycle_labels(n: int, num_classes: int, device: torch.device | str | None = None) -> Tensor:
    """Labels 0, 1, ..., K-1, 0, 1, ... (n of them, int64): every class equally often, in a fixed order."""
    from zoo.sampling import require_count  # zoo.sampling imports this module

    n = require_count("n", n)
    return torch.arange(n, device=device) % int(num_classes)


def check_labels(labels: Any, n: int, num_classes: int, who: str = "the model") -> Tensor:
    """``labels`` as an int64 tensor of shape (n,) with values in [0, num_classes); otherwise a ``ValueError`` or
    ``TypeError`` naming ``who``, what was given and what is expected."""
    if not isinstance(labels, Tensor):
        try:
            labels = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{who}: labels must be a 1-D integer tensor of {n} class indices, got {labels!r}."
            ) from None
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{who}: labels must be integer class indices, got dtype {labels.dtype}.")
    if labels.dim() != 1 or len(labels) != n:
        raise ValueError(
            f"{who}: labels must have shape ({n},), one class index per sample, got shape {tuple(labels.shape)}."
        )
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"{who}: labels must lie in [0, {num_classes - 1}] ({num_classes} classes), got {bad[:5].tolist()}."
        )
    return labels.long()


def require_conditional(model: Any, what: str) -> None:
    """``TypeError`` unless ``model`` is conditional, saying that ``what`` needs labels."""
    if not is_conditional(model):
        raise TypeError(
            f"{what} needs a conditional model (cGAN, ACGAN, ProjectionGAN, InfoGAN: generate(n, labels)), "
            f"got an unconditional {type(model).__name__}."
        )
