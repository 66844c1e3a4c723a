"""BEGAN's discriminator in Lucic et al. 2018 ("Are GANs Created Equal?", arXiv 1711.10337): an autoencoder made
of the InfoGAN-style nets' parts, as their code google/compare_gan ran it (``compare_gan/src/gans/BEGAN.py``,
``discriminator``, lines 46-96; ops in ``ops.py``)::

    Enc: x -> conv 64 (4x4, stride 2) -> lrelu -> conv 128 (4x4, stride 2) -> flatten   (no activation here)
            -> FC code_dim -> [norm] -> lrelu                                            = the code h
    Dec: h -> FC 128*(H/4)*(W/4) -> [norm] -> lrelu -> reshape (128, H/4, W/4)
            -> deconv 64 (4x4, stride 2) -> [norm] -> lrelu -> deconv C (4x4, stride 2) -> sigmoid

compare_gan's own docstring: "doesn't match the one from the paper, but is similar to our 'standard'
discriminator (same 2 conv layers, using lrelu)". Its code is 64-d (``d_fc6``); ``code_dim`` keeps that default.
``[norm]`` is compare_gan's ``discriminator_batchnorm`` switch (off for BEGAN by default: ``norm="none"``), with
TF's batch-norm constants when on. lrelu slope, padding, biases and initialisation are the InfoGAN nets'
(``zoo.nets.infogan``: 0.2, ``SAME`` = padding 1, a bias on every layer, N(0, 0.02) weights with conv weights
truncated at two standard deviations). Sizes for 1x28x28: 1,073,601 parameters; for 3x32x32: 1,325,379 (the "1.3M"
compare_gan's docstring quotes for its CIFAR-10 runs).

Pixel range: compare_gan's autoencoder reads and writes pixels in [0, 1]. The zoo's images are in [-1, 1], so the
net maps its input with ``(x + 1) / 2`` and returns ``2 * sigmoid(a) - 1``: with the same weights it computes
compare_gan's function up to that fixed affine map. A reconstruction error measured on the zoo's [-1, 1] pixels
is twice compare_gan's; ``BEGAN(pixel_units="zero_one")`` measures it in compare_gan's units.

The interface is :class:`zoo.nets.autoencoder.ConvAutoencoder`'s (``encode``, ``decode``, ``forward(x,
return_code)``), so BEGAN and EBGAN take it unchanged (``nets="infogan"``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.nets.infogan import (
    LEAK,
    MAP_CHANNELS,
    check_infogan_shape,
    compare_gan_norm,
    init_compare_gan,
    upsampling_layers,
)
from zoo.validation import require_at_least

#: compare_gan's code size (``linear(net, 64, scope="d_fc6")``)
CODE_DIM = 64


class InfoGANAutoencoder(nn.Module):
    """Images in [-1, 1] of ``image_shape`` -> reconstructions in [-1, 1] (and codes h of ``code_dim``).

    Args:
        image_shape: (C, H, W) with H and W multiples of 4.
        code_dim: size of the code h (compare_gan: 64).
        norm: ``none`` (compare_gan's BEGAN default), ``batch`` or ``layer``, after the code layer, the decoder's
            FC layer and its first deconv (compare_gan's three ``d_bn`` layers).
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), code_dim: int = CODE_DIM, norm: str = "none"):
        super().__init__()
        channels, height, width = check_infogan_shape(image_shape)
        require_at_least("code_dim", code_dim, 1, "The autoencoder needs a code of at least one dimension.")
        self.image_shape = (channels, height, width)
        self.code_dim = code_dim
        small, large = MAP_CHANNELS
        self.map_shape = (large, height // 4, width // 4)
        map_features = large * (height // 4) * (width // 4)
        self.encoder = nn.Sequential(  # BEGAN.py lines 66-73
            nn.Conv2d(channels, small, 4, 2, 1),
            nn.LeakyReLU(LEAK),
            nn.Conv2d(small, large, 4, 2, 1),
            nn.Flatten(),
            nn.Linear(map_features, code_dim),
            compare_gan_norm(norm, code_dim, flat=True),
            nn.LeakyReLU(LEAK),
        )
        self.project = nn.Sequential(  # lines 76-80
            nn.Linear(code_dim, map_features),
            compare_gan_norm(norm, map_features, flat=True),
            nn.LeakyReLU(LEAK),
        )
        self.decoder = upsampling_layers(channels, norm)  # lines 83-89; the sigmoid of line 90 is in ``decode``
        self.apply(init_compare_gan)

    def encode(self, x: Tensor) -> Tensor:
        """h = Enc(x), shape (N, code_dim), for images in [-1, 1]."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"autoencoder built for images {self.image_shape} got a batch shaped {tuple(x.shape)}; "
                "build the model with the data's image_shape (or let the datamodule set it)."
            )
        return self.encoder((x + 1) / 2)  # compare_gan's D reads pixels in [0, 1]

    def decode(self, h: Tensor) -> Tensor:
        """Dec(h) in [-1, 1], shape (N, C, H, W)."""
        if h.dim() != 2 or h.shape[1] != self.code_dim:
            raise ValueError(f"decoder expects codes shaped (N, {self.code_dim}); got {tuple(h.shape)}.")
        logits = self.decoder(self.project(h).view(len(h), *self.map_shape))
        return torch.sigmoid(logits) * 2 - 1  # line 90, mapped from [0, 1] to [-1, 1]

    def forward(self, x: Tensor, return_code: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Dec(Enc(x)); with ``return_code`` the pair (Dec(Enc(x)), Enc(x)) from one pass."""
        h = self.encode(x)
        reconstruction = self.decode(h)
        return (reconstruction, h) if return_code else reconstruction


__all__ = ["CODE_DIM", "InfoGANAutoencoder"]
