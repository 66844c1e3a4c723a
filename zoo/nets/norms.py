"""Normalization layers by name, so nets and variants choose them with one string."""

from __future__ import annotations

from torch import nn

from zoo.validation import require_choice

NORMS = ("batch", "instance", "layer", "none")


def conv_norm(name: str, channels: int) -> nn.Module:
    """A normalization layer for (N, C, H, W) feature maps.

    ``layer`` normalizes over (C, H, W) per sample (``GroupNorm`` with one group), the layer norm that
    Gulrajani et al. (2017, Section 4) recommend for a WGAN-GP critic.
    """
    require_choice("norm", name, NORMS)
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if name == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def linear_norm(name: str, features: int) -> nn.Module:
    """A normalization layer for (N, F) features."""
    require_choice("norm", name, NORMS)
    if name == "batch":
        return nn.BatchNorm1d(features)
    if name == "layer":
        return nn.LayerNorm(features)
    if name == "instance":
        raise ValueError("norm 'instance' is undefined for flat features; use 'batch', 'layer' or 'none'.")
    return nn.Identity()
