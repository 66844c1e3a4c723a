"""BEGAN's discriminator in Lucic et al. 2018 against compare_gan's layer list (``BEGAN.py`` lines 46-96): a
functional re-statement of its forward pass (TF ``SAME`` padding and the deconv as an adjoint, from
``test_infogan_nets``), parameter counts worked out from the layer list, norm placement, the initialisation, the
[-1, 1] <-> [0, 1] pixel map, the selection by ``nets="infogan"`` and the errors."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from tests.zoo.test_infogan_nets import lrelu, tf_batch_norm, tf_conv2d, tf_deconv2d
from zoo import BEGAN, EBGAN
from zoo.nets import InfoGANGenerator
from zoo.nets.autoencoder import ConvAutoencoder, build_autoencoder
from zoo.nets.infogan_autoencoder import InfoGANAutoencoder

SHAPES = [(1, 28, 28), (3, 32, 32), (2, 8, 12)]


def compare_gan_autoencoder(ae: InfoGANAutoencoder, x01: Tensor, batchnorm: bool) -> tuple[Tensor, Tensor]:
    """BEGAN.py lines 66-90 (training mode) on images in [0, 1]: (reconstruction in [0, 1], code)."""
    c, h, w = ae.image_shape
    conv1, _, conv2, _, fc6, bn1, _ = ae.encoder
    (fc1, bn2, _), (dc1, bn3, _, dc2) = ae.project, ae.decoder
    net = lrelu(tf_conv2d(x01, conv1))
    net = tf_conv2d(net, conv2).flatten(1)  # no activation after the second conv (line 69)
    code = fc6(net)
    code = lrelu(tf_batch_norm(code, bn1) if batchnorm else code)
    net = fc1(code)
    net = lrelu(tf_batch_norm(net, bn2) if batchnorm else net).view(-1, 128, h // 4, w // 4)
    net = tf_deconv2d(net, dc1, (h // 2, w // 2))
    net = lrelu(tf_batch_norm(net, bn3) if batchnorm else net)
    return torch.sigmoid(tf_deconv2d(net, dc2, (h, w))), code


@pytest.mark.parametrize("norm", ["none", "batch"])
@pytest.mark.parametrize("shape", SHAPES)
def test_autoencoder_is_compare_gans_on_unit_range_pixels(shape, norm):
    torch.manual_seed(0)
    ae = InfoGANAutoencoder(shape, norm=norm)
    with torch.no_grad():  # random biases and norm affines, so a swapped or skipped layer shows
        for module in ae.modules():
            for name in ("bias", "weight"):
                if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d) or name == "bias":
                    param = getattr(module, name, None)
                    if param is not None:
                        param.normal_(0.5 if name == "weight" else 0.0, 0.3)
    x = torch.rand(6, *shape) * 2 - 1
    reconstruction, code = ae(x, return_code=True)
    expected01, expected_code = compare_gan_autoencoder(ae, (x + 1) / 2, batchnorm=norm == "batch")
    torch.testing.assert_close(reconstruction, expected01 * 2 - 1, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(code, expected_code, rtol=1e-5, atol=1e-5)
    assert reconstruction.shape == x.shape and code.shape == (6, 64)
    assert float(reconstruction.min()) >= -1 and float(reconstruction.max()) <= 1


def param_count(c: int, h: int, w: int, code: int = 64) -> int:
    """From the layer list: conv 4x4 c->64, conv 4x4 64->128, FC 128(h/4)(w/4)->code, FC code->128(h/4)(w/4),
    deconv 4x4 128->64, deconv 4x4 64->c, each with a bias."""
    m = 128 * (h // 4) * (w // 4)
    return (
        (16 * c * 64 + 64)
        + (16 * 64 * 128 + 128)
        + (m * code + code)
        + (code * m + m)
        + (16 * 128 * 64 + 64)
        + (16 * 64 * c + c)
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_parameter_count_follows_the_layer_list(shape):
    assert sum(p.numel() for p in InfoGANAutoencoder(shape).parameters()) == param_count(*shape)


def test_sizes_quoted_by_compare_gan():
    """1,073,601 for Fashion-MNIST; 1,325,379 for CIFAR-10, the "1.3M" of compare_gan's docstring."""
    assert sum(p.numel() for p in InfoGANAutoencoder((1, 28, 28)).parameters()) == 1_073_601
    assert sum(p.numel() for p in InfoGANAutoencoder((3, 32, 32)).parameters()) == 1_325_379


@pytest.mark.parametrize("norm, count", [("none", 0), ("batch", 3), ("layer", 3)])
def test_norm_placement(norm, count):
    ae = InfoGANAutoencoder((1, 28, 28), norm=norm)
    norms = [m for m in ae.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.LayerNorm | nn.GroupNorm)]
    assert len(norms) == count
    if norm == "batch":
        assert [n.num_features for n in norms] == [64, 6272, 64]
        assert all(n.momentum == pytest.approx(0.001) and n.eps == pytest.approx(1e-3) for n in norms)


def test_initialisation_is_compare_gans():
    torch.manual_seed(0)
    ae = InfoGANAutoencoder((1, 28, 28))
    for module in ae.modules():
        if isinstance(module, nn.Conv2d | nn.Linear | nn.ConvTranspose2d):
            assert float(module.bias.abs().max()) == 0.0
            if module.weight.numel() > 10_000:
                assert float(module.weight.std()) == pytest.approx(
                    0.02 if not isinstance(module, nn.Conv2d) else 0.0176, rel=0.05
                )
        if isinstance(module, nn.Conv2d):
            assert float(module.weight.abs().max()) <= 0.04  # truncated at two standard deviations


def test_activations_are_lrelu_02():
    slopes = [m.negative_slope for m in InfoGANAutoencoder((1, 28, 28)).modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 4


def test_nets_infogan_selects_it_for_began_and_ebgan():
    assert isinstance(build_autoencoder((1, 28, 28), nets="infogan"), InfoGANAutoencoder)
    assert isinstance(build_autoencoder((1, 28, 28)), ConvAutoencoder)
    began = BEGAN(image_shape=(1, 28, 28), nets="infogan")
    assert isinstance(began.discriminator, InfoGANAutoencoder) and isinstance(began.generator, InfoGANGenerator)
    assert isinstance(EBGAN(image_shape=(1, 28, 28), nets="infogan").discriminator, InfoGANAutoencoder)
    with pytest.raises(ValueError, match="nets"):
        build_autoencoder((1, 28, 28), nets="resnet")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: InfoGANAutoencoder((1, 30, 30)), "multiples of 4"),
        (lambda: InfoGANAutoencoder((28, 28)), "image_shape"),
        (lambda: InfoGANAutoencoder((1, 28, 28), code_dim=0), "code_dim"),
        (lambda: InfoGANAutoencoder((1, 28, 28), norm="spectral"), "norm"),
        (lambda: InfoGANAutoencoder((1, 28, 28))(torch.zeros(2, 1, 32, 32)), r"autoencoder built for images"),
        (lambda: InfoGANAutoencoder((1, 28, 28)).decode(torch.zeros(2, 8)), r"codes shaped \(N, 64\)"),
    ],
)
def test_refuses_what_it_cannot_take(make, match):
    with pytest.raises(ValueError, match=match):
        make()
