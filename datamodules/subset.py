"""Class-balanced subsets of a labelled split, for data-limited training (Zhao et al. 2020, DiffAugment, train on
fixed subsets of 10%-20% of a dataset; Karras et al. 2020, ADA, likewise)."""

from __future__ import annotations

import operator

import torch
from torch import Tensor


def check_subset(n: object, num_classes: int) -> int:
    """``n`` as an int if it is a positive multiple of ``num_classes``; ``TypeError`` (not an int) or
    ``ValueError`` (anything else) naming the fix."""
    try:
        if isinstance(n, bool):
            raise TypeError
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"subset must be an int number of training images, got {n!r}.") from None
    if count < 1 or count % num_classes:
        raise ValueError(
            f"subset={count}: a class-balanced subset needs a positive multiple of the {num_classes} classes "
            f"(e.g. subset={num_classes * max(1, count // num_classes)}), so that every class gets "
            f"subset / {num_classes} images."
        )
    return count


def balanced_subset(labels: Tensor, n: int, seed: int) -> Tensor:
    """Sorted indices of ``n`` samples, ``n / K`` of each of the K classes present in ``labels``, drawn without
    replacement by a generator seeded with ``seed`` (the same indices for the same labels, n and seed).

    ``ValueError`` unless ``n`` is a positive multiple of K that every class can supply; ``TypeError`` unless it
    is an int.
    """
    classes, counts = torch.unique(labels, return_counts=True)
    k = len(classes)
    per_class = check_subset(n, k) // k
    if per_class > int(counts.min()):
        raise ValueError(
            f"subset={n} asks for {per_class} images per class, but the smallest class has {int(counts.min())} "
            f"({int(counts.sum())} images in all): use subset <= {k * int(counts.min())}, or None for the whole split."
        )
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in classes.tolist():
        members = torch.nonzero(labels == c).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values
