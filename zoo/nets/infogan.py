"""The InfoGAN-style nets of Lucic et al., "Are GANs Created Equal? A Large-Scale Study", NeurIPS 2018
(arXiv 1711.10337), as their code google/compare_gan ran them (branch ``v1``, commit d6c5976, the code the
paper's README points to): ``compare_gan/src/gans/abstract_gan.py`` lines 67-116 and ``ops.py``.

The layer list is InfoGAN's MNIST net (Chen et al., NeurIPS 2016, arXiv 1606.03657; openai/InfoGAN
``infogan/models/regularized_gan.py``), with compare_gan's changes::

    G: z -> FC 1024 -> BN -> lrelu -> FC 128*(H/4)*(W/4) -> BN -> lrelu -> reshape (128, H/4, W/4)
         -> deconv 64 (4x4, stride 2) -> BN -> lrelu -> deconv C (4x4, stride 2) -> sigmoid
    D: x -> conv 64 (4x4, stride 2) -> lrelu -> conv 128 (4x4, stride 2) -> [BN] -> lrelu -> flatten
         -> FC 1024 -> [BN] -> lrelu -> FC 1                                  (raw score, the logit)

* lrelu has slope 0.2 in both nets (``ops.lrelu``); InfoGAN's own G used ReLU, compare_gan uses lrelu.
* Every FC/conv/deconv has a bias, also the ones followed by BN (``ops.linear``/``conv2d``/``deconv2d``).
* G's BN is always on. D's BN (``[BN]``) is the per-model switch ``discriminator_batchnorm``, default on for
  GAN (MM/NS), LSGAN, WGAN and DRAGAN and off for WGAN-GP (and BEGAN, whose D is an autoencoder, not this
  net): compare_gan ``params.py`` lines 111-233. Never on D's input layer or either net's output layer.
* G's first two BNs normalise each FC feature (``BatchNorm1d``), its third and D's first each channel
  (``BatchNorm2d``), as ``tf.contrib.layers.batch_norm`` does for 2-D and NHWC 4-D input. TF's settings
  (``ops.batch_norm``: decay 0.999, epsilon 0.001, learned scale and shift) become ``momentum=0.001`` (PyTorch
  counts the other way) and ``eps=1e-3``. One TF detail is not matched: TF's moving variance averages the
  biased batch variance, PyTorch's running variance the unbiased one (a factor n/(n-1): 64/63 for the FC BNs
  at batch 64); it only matters in eval mode.
* TF's ``SAME`` padding with 4x4 kernels and stride 2 pads one pixel on each side for even sizes: PyTorch
  ``padding=1`` for the convs and the deconvs alike. TF flattens maps in (H, W, C) order, PyTorch in
  (C, H, W): a relabelling of the FC units, which are initialised i.i.d., so the same family of nets.
* Initialisation (``ops.py``): FC and deconv weights ~ N(0, 0.02), conv weights ~ N(0, 0.02) truncated at
  two standard deviations, all biases 0, BN scale 1 and shift 0. This is not ``zoo.nets.norms.init_normal``
  (which draws BN scales from N(1, 0.02) and does not truncate), hence :func:`init_compare_gan`.

Pixel range. compare_gan feeds D images in [0, 1] and ends G with a sigmoid. The zoo's images are in
[-1, 1], so G returns ``2 * sigmoid(a) - 1`` and D first maps its input back with ``(x + 1) / 2``: with the
same weights, G and D compute exactly compare_gan's functions (up to that fixed affine map), so initial
weights, Adam steps and WGAN's weight clipping are the paper's. A gradient penalty taken with respect to the
[-1, 1] input is half the one taken in compare_gan's [0, 1] units; that is for the variant to account for.
``output="tanh"`` is offered for comparisons (the DCGAN convention) and is not the paper's.

Supported shapes: (C, H, W) with any C >= 1 and H, W positive multiples of 4 (compare_gan builds the net from
``height // 4`` and ``width // 4``). Lucic et al. ran 1x28x28 (MNIST, Fashion-MNIST), 3x32x32 (CIFAR-10) and
3x64x64 (CelebA) with these nets.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.nets.norms import norm_layer
from zoo.validation import require_at_least, require_choice

#: lrelu slope, compare_gan ``ops.lrelu`` (leak=0.2)
LEAK = 0.2
#: weight std of every FC, conv and deconv layer, compare_gan ``ops.py`` (stddev=0.02)
WEIGHT_STD = 0.02
#: ``tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001)`` in PyTorch's terms
TF_BN_MOMENTUM = 1.0 - 0.999
TF_BN_EPS = 1e-3
#: G's output activations: the paper's sigmoid (mapped to [-1, 1]) and, for comparisons, tanh
OUTPUTS = ("sigmoid", "tanh")
#: channels of the two feature maps (after the first conv / before the last deconv, and the 1/4-size map)
MAP_CHANNELS = (64, 128)
#: width of the hidden FC layer in both nets
FC_WIDTH = 1024


def check_infogan_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Validate a (C, H, W) shape for the InfoGAN nets (H, W multiples of 4) and return it as ints."""
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(f"InfoGAN nets take images shaped (C, H, W); got image_shape={shape}.")
    c, h, w = shape
    if c < 1:
        raise ValueError(f"InfoGAN nets need at least one channel; got image_shape={shape}.")
    if h < 4 or w < 4 or h % 4 or w % 4:
        raise ValueError(
            f"InfoGAN nets take heights and widths that are multiples of 4 (two stride-2 stages), e.g. 28 or 32; "
            f"got {h}x{w}. Resize or pad the data (e.g. the datamodule's image_size, or "
            "torchvision.transforms.Resize) to such a size."
        )
    return c, h, w


def init_compare_gan(module: nn.Module) -> None:
    """compare_gan's initialisation (``ops.py``; use with ``net.apply``).

    ``linear`` and ``deconv2d``: weights ~ N(0, 0.02) (``tf.random_normal_initializer``); ``conv2d``: weights
    ~ N(0, 0.02) truncated to +-0.04 (``tf.truncated_normal_initializer`` redraws beyond two standard
    deviations); biases 0. Normalization layers keep PyTorch's scale 1 and shift 0, which is TF's too.
    """
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, 0.0, WEIGHT_STD, -2 * WEIGHT_STD, 2 * WEIGHT_STD)
    elif isinstance(module, nn.Linear | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, WEIGHT_STD)
    else:
        return
    nn.init.zeros_(module.bias)


def compare_gan_norm(norm: str, features: int, *, flat: bool = False) -> nn.Module:
    """``norm_layer(norm, features)``, with TF's batch-norm momentum and epsilon when ``norm`` is ``batch``."""
    layer = norm_layer(norm, features, flat=flat)
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
        layer.momentum, layer.eps = TF_BN_MOMENTUM, TF_BN_EPS
    return layer


def upsampling_layers(channels: int, norm: str) -> nn.Sequential:
    """(128, H/4, W/4) maps -> (channels, H, W) logits: deconv 64 (4x4, stride 2) -> [norm] -> lrelu -> deconv
    ``channels`` (4x4, stride 2). G's last layers (abstract_gan.py lines 109-114), and the decoder of compare_gan's
    BEGAN autoencoder (BEGAN.py lines 83-89)."""
    small, large = MAP_CHANNELS
    return nn.Sequential(
        nn.ConvTranspose2d(large, small, 4, 2, 1),
        compare_gan_norm(norm, small),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(small, channels, 4, 2, 1),
    )


class InfoGANGenerator(nn.Module):
    """Maps z of shape (N, latent_dim) to images in [-1, 1] of ``image_shape`` (compare_gan's ``generator``).

    Args:
        image_shape: (C, H, W) with H and W multiples of 4.
        latent_dim: size of z (Lucic et al.: 64, drawn from U[-1, 1]; the prior is the model's business).
        norm: ``batch`` (compare_gan, every model), ``layer`` or ``none``, after each hidden layer.
        output: ``sigmoid`` (compare_gan: ``2 * sigmoid(a) - 1``, its [0, 1] output in the zoo's [-1, 1]) or
            ``tanh``.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 64,
        norm: str = "batch",
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        channels, height, width = check_infogan_shape(image_shape)
        require_at_least("latent_dim", latent_dim, 1)
        require_choice("output", output, OUTPUTS)
        self.image_shape = (channels, height, width)
        self.latent_dim = latent_dim
        self.output = output
        small, large = MAP_CHANNELS
        self.map_shape = (large, height // 4, width // 4)
        map_features = large * (height // 4) * (width // 4)
        self.project = nn.Sequential(  # abstract_gan.py lines 102-107
            nn.Linear(latent_dim, FC_WIDTH),
            compare_gan_norm(norm, FC_WIDTH, flat=True),
            nn.LeakyReLU(LEAK),
            nn.Linear(FC_WIDTH, map_features),
            compare_gan_norm(norm, map_features, flat=True),
            nn.LeakyReLU(LEAK),
        )
        self.upsample = upsampling_layers(channels, norm)  # abstract_gan.py lines 109-114
        self.apply(init_compare_gan)

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"generator expects z shaped (N, {self.latent_dim}); got {tuple(z.shape)}.")
        logits = self.upsample(self.project(z).view(-1, *self.map_shape))
        if self.output == "tanh":
            return torch.tanh(logits)
        return torch.sigmoid(logits) * 2 - 1  # abstract_gan.py line 115, mapped from [0, 1] to [-1, 1]


class InfoGANDiscriminator(nn.Module):
    """Maps images in [-1, 1] of ``image_shape`` to one raw score (logit) each, shape (N,). Higher = more real.

    Args:
        image_shape: (C, H, W) with H and W multiples of 4.
        norm: ``batch`` (compare_gan's ``discriminator_batchnorm=True``), ``layer`` or ``none`` (WGAN-GP's
            default), after the second conv and the hidden FC layer; never on the input layer.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), norm: str = "batch") -> None:
        super().__init__()
        channels, height, width = check_infogan_shape(image_shape)
        self.image_shape = (channels, height, width)
        small, large = MAP_CHANNELS
        map_features = large * (height // 4) * (width // 4)
        self.features = nn.Sequential(  # abstract_gan.py lines 82-92
            nn.Conv2d(channels, small, 4, 2, 1),
            nn.LeakyReLU(LEAK),
            nn.Conv2d(small, large, 4, 2, 1),
            compare_gan_norm(norm, large),
            nn.LeakyReLU(LEAK),
            nn.Flatten(),
            nn.Linear(map_features, FC_WIDTH),
            compare_gan_norm(norm, FC_WIDTH, flat=True),
            nn.LeakyReLU(LEAK),
        )
        self.head = nn.Linear(FC_WIDTH, 1)  # line 93: out_logit; the sigmoid of line 94 is the loss's business
        self.apply(init_compare_gan)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"discriminator built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )
        unit_range = (x + 1) / 2  # compare_gan's D sees pixels in [0, 1]
        return self.head(self.features(unit_range)).squeeze(1)


__all__ = ["InfoGANDiscriminator", "InfoGANGenerator", "check_infogan_shape", "init_compare_gan", "upsampling_layers"]
