"""Normalization layers by name, so nets and variants choose them with one string; and the one weight
initializer the zoo's conv nets share."""

from __future__ import annotations

from torch import nn

from zoo.validation import require_choice

NORMS = ("batch", "instance", "layer", "none")


def norm_layer(name: str, features: int, *, flat: bool = False, instance_affine: bool = True) -> nn.Module:
    """The normalization layer ``name`` for ``features`` channels of (N, C, H, W) maps, or for (N, F) features
    when ``flat``.

    ``layer`` normalizes each sample over all its features (for maps: ``GroupNorm`` with one group over
    (C, H, W)), the layer norm that Gulrajani et al. (2017, Section 4) recommend for a WGAN-GP critic.
    ``instance`` is ``InstanceNorm2d``, with a learned scale and shift unless ``instance_affine=False`` (the
    CycleGAN reference code's default); it is undefined for flat features.
    """
    require_choice("norm", name, NORMS)
    if name == "none":
        return nn.Identity()
    if flat:
        if name == "instance":
            raise ValueError("norm 'instance' is undefined for flat features; use 'batch', 'layer' or 'none'.")
        return nn.BatchNorm1d(features) if name == "batch" else nn.LayerNorm(features)
    if name == "batch":
        return nn.BatchNorm2d(features)
    if name == "instance":
        return nn.InstanceNorm2d(features, affine=instance_affine)
    return nn.GroupNorm(1, features)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """Weights ~ N(0, std), biases 0; normalization scales ~ N(1, std), shifts 0 (use with ``net.apply``).

    DCGAN (Radford et al. 2016, Section 4) and CycleGAN (Zhu et al. 2017, Appendix 7.1; the reference code's
    ``init_type='normal'``) both initialize this way with std = 0.02.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.GroupNorm | nn.InstanceNorm2d) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, std)
        nn.init.zeros_(module.bias)
