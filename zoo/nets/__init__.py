"""Networks: plain ``torch.nn`` modules, no Lightning. ``build_pair`` picks nets by data shape."""

from __future__ import annotations

from torch import nn

from zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator, check_image_shape
from zoo.nets.infogan import InfoGANDiscriminator, InfoGANGenerator
from zoo.nets.mlp import MLPDiscriminator, MLPGenerator
from zoo.nets.sngan_cnn import SNGANCNNDiscriminator, SNGANCNNGenerator
from zoo.validation import require_choice

#: image net families ``build_pair`` offers (vectors always get the MLP)
IMAGE_NETS = ("dcgan", "infogan", "sngan_cnn")


def build_pair(
    image_shape: tuple[int, ...],
    latent_dim: int,
    width: int = 64,
    g_norm: str = "batch",
    d_norm: str = "batch",
    nets: str = "dcgan",
) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator for ``image_shape``: for (C, H, W) images the ``nets`` family (``dcgan``:
    Radford et al. 2016, ``zoo.nets.dcgan``; ``infogan``: the InfoGAN-style nets of Lucic et al. 2018,
    ``zoo.nets.infogan``; ``sngan_cnn``: the standard CNN of Miyato et al. 2018, Table 3, ``zoo.nets.sngan_cnn``),
    MLPs for (D,) vectors.

    ``width`` is DCGAN's base channel count or the MLP's hidden units (the InfoGAN and SNGAN nets have fixed widths).
    """
    require_choice("nets", nets, IMAGE_NETS)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 1:
        return (
            MLPGenerator(shape[0], latent_dim, hidden=width, norm=g_norm),
            MLPDiscriminator(shape[0], hidden=width, norm=d_norm),
        )
    if nets == "infogan":
        return InfoGANGenerator(shape, latent_dim, norm=g_norm), InfoGANDiscriminator(shape, norm=d_norm)
    if nets == "sngan_cnn":
        return SNGANCNNGenerator(shape, latent_dim, norm=g_norm), SNGANCNNDiscriminator(shape, norm=d_norm)
    return (
        DCGANGenerator(shape, latent_dim, width=width, norm=g_norm),
        DCGANDiscriminator(shape, width=width, norm=d_norm),
    )


__all__ = [
    "DCGANDiscriminator",
    "DCGANGenerator",
    "IMAGE_NETS",
    "InfoGANDiscriminator",
    "InfoGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "SNGANCNNDiscriminator",
    "SNGANCNNGenerator",
    "build_pair",
    "check_image_shape",
]
