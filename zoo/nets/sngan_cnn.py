"""The "standard CNN" of Miyato et al., "Spectral Normalization for Generative Adversarial Networks", ICLR 2018
(arXiv 1802.05957), Table 3 (a) generator and (b) discriminator, as used for CIFAR-10 and SVHN (32 px, M_g = 4)
and STL-10 (48 px, M_g = 6)::

    G: z in R^128 ~ N(0, I) -> dense -> M_g x M_g x 512
         -> deconv 4x4 stride 2 -> 256, BN, ReLU -> deconv 4x4 stride 2 -> 128, BN, ReLU
         -> deconv 4x4 stride 2 -> 64, BN, ReLU -> conv 3x3 stride 1 -> 3, tanh
    D: x in R^(M x M x 3) -> conv 3x3 s1 64 -> conv 4x4 s2 64 -> conv 3x3 s1 128 -> conv 4x4 s2 128
         -> conv 3x3 s1 256 -> conv 4x4 s2 256 -> conv 3x3 s1 512, each followed by lReLU(0.1) -> dense -> 1

No normalization in D: SN-GAN wraps D's layers in spectral normalization itself, WGAN-GP uses the net as is.
D returns the raw score (no sigmoid).

Details the table leaves open, and what we chose (from the authors' Standard CNN code, pfnet-research/
chainer-gan-lib ``common/net.py`` ``DCGANGenerator`` / ``SNDCGANDiscriminator``, which the authors point to in
pfnet-research/sngan_projection issue #51; google/compare_gan ``architectures/sndcgan.py`` agrees):

* G's dense layer is followed by batch norm and ReLU, like every hidden layer of G (the table lists neither).
  That batch norm normalizes each of the M_g * M_g * 512 dense features (``BatchNorm1d``), as the reference's
  batch norm on the 2-D dense output does.
* Padding 1 everywhere: 3x3 stride-1 convs keep the size, 4x4 stride-2 convs halve it, 4x4 stride-2 deconvs
  double it (32 -> 16 -> 8 -> 4 in D, 4 -> 8 -> 16 -> 32 in G).
* Every dense, conv and deconv layer has a bias, also those followed by batch norm (the reference's layers do).
* G's last layer is a 3x3 stride-1 convolution (the table); the reference writes it as a 3x3 stride-1 deconv
  with padding 1, the same family of functions with the same parameters (a flipped, transposed kernel).
* Initialization: weights ~ N(0, 0.02), biases 0, batch-norm scale 1 and shift 0 (the reference's
  ``Normal(0.02)``; the paper does not say).
* Batch norm keeps PyTorch's momentum 0.1 (= Chainer's decay 0.9) and eps 1e-5 (Chainer: 2e-5).
* D's channel widths are the table's, 64-64-128-128-256-256-512. The reference code (and compare_gan) widen
  at the stride-2 convs instead, 64-128-128-256-256-512-512 (google/compare_gan issue #45): pass
  ``widths=REFERENCE_CODE_D_WIDTHS`` for that D (2.9 M -> 5.9 M parameters at 32 px).
* The reference's lReLU slope is Chainer's default 0.2; the paper's text under Table 3 sets all slopes to 0.1,
  which we follow.

Supported shapes: (C, M, M) with M = 32 (CIFAR-10, SVHN) or 48 (STL-10), any C >= 1 (the table's is RGB).
"""

from __future__ import annotations

from torch import Tensor, nn

from zoo.nets.norms import norm_layer
from zoo.validation import require_at_least

#: image side M -> side of G's first map / D's last map, M_g = M / 8 (Table 3)
BOTTOM_WIDTH = {32: 4, 48: 6}
#: G: channels of the dense layer's map and of the three deconvs' outputs (Table 3 (a))
G_WIDTHS = (512, 256, 128, 64)
#: D: (kernel, stride) of the seven convs, and their channels (Table 3 (b))
D_LAYOUT = ((3, 1), (4, 2), (3, 1), (4, 2), (3, 1), (4, 2), (3, 1))
D_WIDTHS = (64, 64, 128, 128, 256, 256, 512)
#: D's channels in the authors' chainer-gan-lib code and in compare_gan (not the table's)
REFERENCE_CODE_D_WIDTHS = (64, 128, 128, 256, 256, 512, 512)
#: lReLU slope in D ("The slopes of all lReLU functions in the networks are set to 0.1", Table 3)
LEAK = 0.1
WEIGHT_STD = 0.02


def check_sngan_cnn_shape(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """Validate a (C, M, M) shape for the standard CNN (M in 32, 48) and return (C, M)."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(f"the SNGAN standard CNN takes images shaped (C, H, W); got image_shape={shape}.")
    c, h, w = shape
    if c < 1:
        raise ValueError(f"the SNGAN standard CNN needs at least one channel; got image_shape={shape}.")
    if h != w or h not in BOTTOM_WIDTH:
        raise ValueError(
            f"the SNGAN standard CNN (Miyato et al. 2018, Table 3) takes square 32 px (CIFAR-10, SVHN) or 48 px "
            f"(STL-10) images; got {h}x{w}. Resize or pad the data to 32 px (e.g. CIFAR10Data, or image_size=32 "
            "for MNIST/Fashion-MNIST), or choose nets='dcgan' (28, 32, 64 px) or nets='infogan'."
        )
    return c, h


def init_reference(module: nn.Module) -> None:
    """Weights ~ N(0, 0.02) and biases 0 for dense, conv and deconv layers (chainer-gan-lib's
    ``Normal(0.02)``); normalization layers keep scale 1, shift 0 (use with ``net.apply``)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, WEIGHT_STD)
        nn.init.zeros_(module.bias)


def optional_norm(norm: str, features: int, *, flat: bool = False) -> list[nn.Module]:
    """``[norm_layer(...)]``, or ``[]`` for ``none`` (so that the layer lists read like the table)."""
    return [] if norm == "none" else [norm_layer(norm, features, flat=flat)]


class SNGANCNNGenerator(nn.Module):
    """Table 3 (a): maps z of shape (N, latent_dim) to images in [-1, 1] of ``image_shape``.

    Args:
        image_shape: (C, M, M) with M = 32 or 48.
        latent_dim: size of z (the paper: 128, z ~ N(0, I); the prior is the model's business).
        norm: ``batch`` (the table), ``layer`` or ``none``, after the dense layer and each deconv.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (3, 32, 32), latent_dim: int = 128, norm: str = "batch"):
        super().__init__()
        channels, size = check_sngan_cnn_shape(image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        self.image_shape = (channels, size, size)
        self.latent_dim = latent_dim
        bottom = BOTTOM_WIDTH[size]
        self.map_shape = (G_WIDTHS[0], bottom, bottom)
        features = G_WIDTHS[0] * bottom * bottom
        self.project = nn.Sequential(  # "dense -> M_g x M_g x 512" (+ BN, ReLU: see the module docstring)
            nn.Linear(latent_dim, features), *optional_norm(norm, features, flat=True), nn.ReLU()
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(G_WIDTHS, G_WIDTHS[1:]):  # "4x4, stride=2 deconv. BN <c_out> ReLU", three times
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), *optional_norm(norm, c_out), nn.ReLU()]
        layers += [nn.Conv2d(G_WIDTHS[-1], channels, 3, 1, 1), nn.Tanh()]  # "3x3, stride=1 conv. 3 Tanh"
        self.upsample = nn.Sequential(*layers)
        self.apply(init_reference)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"generator expects z shaped (N, {self.latent_dim}); got {tuple(z.shape)}.")
        return self.upsample(self.project(z).view(-1, *self.map_shape))


class SNGANCNNDiscriminator(nn.Module):
    """Table 3 (b): maps images of ``image_shape`` to one raw score each, shape (N,). Higher = more real.

    Args:
        image_shape: (C, M, M) with M = 32 or 48.
        norm: ``none`` (the table: SN-GAN adds spectral norm itself, WGAN-GP uses the net as is), or
            ``batch``, ``instance``, ``layer`` after every conv but the first (never on the input layer).
        widths: the seven convs' channels; the table's ``D_WIDTHS`` or ``REFERENCE_CODE_D_WIDTHS``.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (3, 32, 32),
        norm: str = "none",
        widths: tuple[int, ...] = D_WIDTHS,
    ) -> None:
        super().__init__()
        channels, size = check_sngan_cnn_shape(image_shape)
        widths = tuple(int(w) for w in widths)
        if len(widths) != len(D_LAYOUT) or min(widths) < 1:
            raise ValueError(f"widths must be {len(D_LAYOUT)} positive channel counts (one per conv); got {widths}.")
        self.image_shape = (channels, size, size)
        layers: list[nn.Module] = []
        c_in = channels
        for i, ((kernel, stride), c_out) in enumerate(zip(D_LAYOUT, widths)):
            layers.append(nn.Conv2d(c_in, c_out, kernel, stride, 1))
            if i > 0:
                layers += optional_norm(norm, c_out)
            layers.append(nn.LeakyReLU(LEAK))
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.Flatten())
        bottom = BOTTOM_WIDTH[size]
        self.head = nn.Linear(c_in * bottom * bottom, 1)  # "dense -> 1"
        self.apply(init_reference)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"discriminator built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )
        return self.head(self.features(x)).squeeze(1)


__all__ = [
    "D_WIDTHS",
    "REFERENCE_CODE_D_WIDTHS",
    "SNGANCNNDiscriminator",
    "SNGANCNNGenerator",
    "check_sngan_cnn_shape",
    "init_reference",
]
