"""Nets: shapes for every supported size, the norms chosen, and clear errors for shapes they can't take."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator, build_pair


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    g = DCGANGenerator((channels, size, size), latent_dim=16, width=8)
    d = DCGANDiscriminator((channels, size, size), width=8)
    x = g(torch.randn(5, 16))
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (5,)


@pytest.mark.parametrize(
    "norm, layer", [("batch", nn.BatchNorm2d), ("instance", nn.InstanceNorm2d), ("layer", nn.GroupNorm)]
)
def test_norm_choice_is_applied(norm, layer):
    d = DCGANDiscriminator((1, 28, 28), width=8, norm=norm)
    assert any(isinstance(m, layer) for m in d.modules())
    plain = DCGANDiscriminator((1, 28, 28), width=8, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d | nn.InstanceNorm2d | nn.GroupNorm) for m in plain.modules())


@pytest.mark.parametrize("shape", [(1, 30, 30), (1, 28, 32), (2, 28, 28), (28, 28)])
def test_dcgan_refuses_shapes_it_cannot_take(shape):
    with pytest.raises(ValueError, match="28, 32 or 64|channels|\\(C, H, W\\)"):
        DCGANGenerator(shape)


def test_discriminator_refuses_wrong_batch_shape():
    d = DCGANDiscriminator((1, 28, 28), width=8)
    with pytest.raises(ValueError, match="built for images"):
        d(torch.randn(2, 3, 28, 28))


def test_unknown_norm_lists_valid():
    with pytest.raises(ValueError, match="'batch', 'instance', 'layer', 'none'"):
        DCGANGenerator((1, 28, 28), norm="spectral-ish")


def test_build_pair_picks_mlp_for_vectors():
    g, d = build_pair((2,), latent_dim=3, width=16)
    assert isinstance(g, MLPGenerator) and isinstance(d, MLPDiscriminator)
    assert g(torch.randn(7, 3)).shape == (7, 2)
    assert d(torch.randn(7, 2)).shape == (7,)
