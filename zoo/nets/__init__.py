"""Networks: plain ``torch.nn`` modules, no Lightning. ``build_pair`` picks nets by data shape."""

from __future__ import annotations

from torch import nn

from zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator, check_image_shape
from zoo.nets.mlp import MLPDiscriminator, MLPGenerator


def build_pair(
    image_shape: tuple[int, ...],
    latent_dim: int,
    width: int = 64,
    g_norm: str = "batch",
    d_norm: str = "batch",
) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for ``image_shape``: DCGAN for (C, H, W) images, MLP for (D,) vectors.

    ``width`` is DCGAN's base channel count or the MLP's hidden units.
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 1:
        return (
            MLPGenerator(shape[0], latent_dim, hidden=width, norm=g_norm),
            MLPDiscriminator(shape[0], hidden=width, norm=d_norm),
        )
    return (
        DCGANGenerator(shape, latent_dim, width=width, norm=g_norm),
        DCGANDiscriminator(shape, width=width, norm=d_norm),
    )


__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "build_pair",
    "check_image_shape",
]
