"""DCGAN generator and discriminator (Radford et al., ICLR 2016, arXiv 1511.06434) for 28, 32, 64 px.

Architecture guidelines of Section 3: strided (transposed) convolutions instead of pooling, no fully
connected hidden layers, ReLU in G (tanh output), LeakyReLU(0.2) in D, normalization everywhere except
G's output and D's input layer, weights initialized from N(0, 0.02).

28 px (MNIST, Fashion-MNIST) starts from a 7x7 map with two upsamplings; 32 px and 64 px start from 4x4
with three and four. The discriminator returns one raw score per image (no sigmoid).
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import init_normal, norm_layer
from zoo.validation import require_at_least, require_positive

#: supported square image sizes -> number of 2x up/down-sampling stages
STAGES = {28: 2, 32: 3, 64: 4}


def check_image_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Validate a (C, H, W) shape for the DCGAN nets and return it as a tuple of ints."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(f"DCGAN nets take images shaped (C, H, W); got image_shape={shape}.")
    c, h, w = shape
    if h != w or h not in STAGES:
        raise ValueError(
            f"DCGAN nets take square 28, 32 or 64 px images; got {h}x{w}. Resize or pad the data "
            "(e.g. the datamodule's image_size=32, or torchvision.transforms.Resize) to a supported size."
        )
    if c not in (1, 3):
        raise ValueError(f"DCGAN nets take 1 (grayscale) or 3 (RGB) channels; got {c}.")
    return c, h, w


def downsampling_trunk(channels: int, size: int, width: int, norm: str) -> tuple[nn.Sequential, int]:
    """DCGAN's strided-conv trunk: ``size`` px -> the 4x4 (or 7x7) map, doubling ``width`` per stage.

    No normalization on the input layer (Radford et al., Section 3). Returns the trunk and its output channels.
    """
    ch = width
    layers: list[nn.Module] = [nn.Conv2d(channels, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for _ in range(STAGES[size] - 1):
        layers += [
            nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"),
            norm_layer(norm, ch * 2),
            nn.LeakyReLU(0.2, True),
        ]
        ch *= 2
    return nn.Sequential(*layers), ch


class DCGANGenerator(nn.Module):
    """Maps z of shape (N, latent_dim) to images in [-1, 1] of ``image_shape``.

    Args:
        image_shape: (C, H, W) with H = W in {28, 32, 64} and C in {1, 3}.
        latent_dim: size of z.
        width: channels of the last hidden layer; earlier layers double it per stage.
        norm: ``batch`` (DCGAN), ``instance``, ``layer`` or ``none``.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int = 100, width: int = 64, norm: str = "batch"
    ) -> None:
        super().__init__()
        channels, size, _ = check_image_shape(image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        require_positive("width", width)
        self.image_shape = (channels, size, size)
        self.latent_dim = latent_dim
        stages = STAGES[size]
        start = size // 2**stages
        ch = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch, start, 1, 0, bias=norm == "none"),
            norm_layer(norm, ch),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=norm == "none"),
                norm_layer(norm, ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"generator expects z shaped (N, {self.latent_dim}); got {tuple(z.shape)}.")
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Maps images of ``image_shape`` to one raw score each, shape (N,). Higher = more real.

    Args:
        image_shape: (C, H, W) with H = W in {28, 32, 64} and C in {1, 3}.
        width: channels of the first layer; later layers double it per stage.
        norm: ``batch`` (DCGAN), ``instance``, ``layer`` (WGAN-GP) or ``none``; never on the input layer.
    """

    def __init__(self, image_shape: tuple[int, int, int], width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        channels, size, _ = check_image_shape(image_shape)
        require_positive("width", width)
        self.image_shape = (channels, size, size)
        self.features, ch = downsampling_trunk(channels, size, width, norm)
        self.head = nn.Conv2d(ch, 1, size // 2 ** STAGES[size], 1, 0)
        self.apply(init_normal)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"discriminator built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )
        return self.head(self.features(x)).flatten()


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


__all__ = ["DCGANGenerator", "DCGANDiscriminator", "check_image_shape"]
