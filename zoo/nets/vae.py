"""Convolutional VAE encoder q(z | x) = N(mu(x), diag(exp(logvar(x)))) for 28, 32 and 64 px images.

Mirrors the DCGAN discriminator (strided 4x4 convolutions, normalization after every conv but the first,
LeakyReLU 0.2), then a linear layer to (mu, logvar). Larsen et al. (ICML 2016, appendix) use the same
shape of encoder: strided convolutions with batch norm, then fully connected layers to the Gaussian's
parameters; their 5x5 kernels and 2048-unit hidden layer become the DCGAN 4x4 kernels and no hidden layer, so
the encoder, decoder (``DCGANGenerator``) and discriminator (``DCGANDiscriminator``) share sizes.
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.dcgan import STAGES, check_image_shape, downsampling_trunk
from zoo.nets.norms import init_normal
from zoo.validation import require_at_least, require_positive


class VAEEncoder(nn.Module):
    """Maps images of ``image_shape`` to (mu, logvar), each shaped (N, latent_dim).

    Args:
        image_shape: (C, H, W) with H = W in {28, 32, 64} and C in {1, 3}.
        latent_dim: size of z.
        width: channels of the first conv; later convs double it per stage.
        norm: ``batch`` (paper), ``instance``, ``layer`` or ``none``; never on the input layer.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int = 128, width: int = 64, norm: str = "batch"
    ) -> None:
        super().__init__()
        channels, size, _ = check_image_shape(image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        require_positive("width", width)
        self.image_shape = (channels, size, size)
        self.latent_dim = latent_dim
        stages = STAGES[size]
        self.features, ch = downsampling_trunk(channels, size, width, norm)
        side = size // 2**stages
        self.head = nn.Linear(ch * side * side, 2 * latent_dim)
        self.apply(init_normal)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"encoder built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )
        mu, logvar = self.head(self.features(x).flatten(1)).chunk(2, dim=1)
        return mu, logvar
