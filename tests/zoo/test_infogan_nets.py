"""Lucic et al.'s InfoGAN-style nets against compare_gan's layer list (``abstract_gan.py`` lines 67-116, ``ops.py``):
a functional re-statement of compare_gan's forward pass (TF ``SAME`` padding worked out explicitly, the deconv
as the adjoint of a ``SAME`` conv), parameter counts from the layer list, norm placement, TF's batch-norm
settings, the initialisation, G's output range, and the errors for input the nets cannot take."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.nets.dcgan import DCGANDiscriminator
from zoo.nets.infogan import InfoGANDiscriminator, InfoGANGenerator

NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)


# ----------------------------------------------------------------- compare_gan's forward pass, restated
def tf_same_pads(size: int, kernel: int = 4, stride: int = 2) -> tuple[int, int]:
    """TF's ``SAME`` padding (before, after) along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tf_conv2d(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``ops.conv2d``: stride-2 4x4 convolution with TF ``SAME`` padding, plus bias."""
    top, bottom = tf_same_pads(x.shape[2])
    left, right = tf_same_pads(x.shape[3])
    return F.conv2d(F.pad(x, (left, right, top, bottom)), conv.weight, conv.bias, stride=2)


def tf_deconv2d(x: Tensor, deconv: nn.ConvTranspose2d, out_hw: tuple[int, int]) -> Tensor:
    """``ops.deconv2d`` = ``tf.nn.conv2d_transpose(SAME)``: the adjoint of the ``SAME`` conv from the output
    shape back to the input shape, with the same filter; plus bias."""
    y = torch.zeros(x.shape[0], deconv.weight.shape[1], *out_hw, requires_grad=True)
    top, bottom = tf_same_pads(out_hw[0])
    left, right = tf_same_pads(out_hw[1])
    forward = F.conv2d(F.pad(y, (left, right, top, bottom)), deconv.weight, stride=2)
    (adjoint,) = torch.autograd.grad(forward, y, grad_outputs=x, create_graph=True)
    return adjoint + deconv.bias.view(1, -1, 1, 1)


def tf_batch_norm(x: Tensor, bn: nn.Module) -> Tensor:
    """``ops.batch_norm`` in training mode: batch statistics (per feature, or per channel for maps), eps 1e-3."""
    dims = (0,) if x.dim() == 2 else (0, 2, 3)
    shape = (1, -1) if x.dim() == 2 else (1, -1, 1, 1)
    mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-3) * bn.weight.view(shape) + bn.bias.view(shape)


def lrelu(x: Tensor) -> Tensor:
    """``ops.lrelu``: max(x, 0.2 x)."""
    return torch.maximum(x, 0.2 * x)


def compare_gan_generator(g: InfoGANGenerator, z: Tensor) -> Tensor:
    """abstract_gan.py lines 102-115 (BN on, training mode); output in [0, 1]."""
    c, h, w = g.image_shape
    fc1, bn1, _, fc2, bn2, _ = g.project
    dc3, bn3, _, dc4 = g.upsample
    net = lrelu(tf_batch_norm(fc1(z), bn1))
    net = lrelu(tf_batch_norm(fc2(net), bn2)).view(-1, 128, h // 4, w // 4)
    net = lrelu(tf_batch_norm(tf_deconv2d(net, dc3, (h // 2, w // 2)), bn3))
    return torch.sigmoid(tf_deconv2d(net, dc4, (h, w)))


def compare_gan_discriminator(d: InfoGANDiscriminator, x01: Tensor, batchnorm: bool) -> Tensor:
    """abstract_gan.py lines 82-93 (training mode) on images in [0, 1]: the logit, shape (N, 1)."""
    conv1, _, conv2, bn2, _, _, fc3, bn3, _ = d.features
    net = lrelu(tf_conv2d(x01, conv1))
    net = tf_conv2d(net, conv2)
    net = lrelu(tf_batch_norm(net, bn2) if batchnorm else net).flatten(1)
    net = fc3(net)
    net = lrelu(tf_batch_norm(net, bn3) if batchnorm else net)
    return d.head(net)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (2, 8, 12)])
def test_generator_is_compare_gans_generator_mapped_to_minus_one_one(shape):
    torch.manual_seed(0)
    g = InfoGANGenerator(shape, latent_dim=16).train()
    z = torch.rand(6, 16) * 2 - 1
    x = g(z)
    assert x.shape == (6, *shape)
    torch.testing.assert_close(x, compare_gan_generator(g, z) * 2 - 1, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (2, 8, 12)])
def test_discriminator_is_compare_gans_discriminator_on_unit_range_pixels(shape, norm):
    torch.manual_seed(0)
    d = InfoGANDiscriminator(shape, norm=norm).train()
    x01 = torch.rand(6, *shape)
    scores = d(x01 * 2 - 1)
    assert scores.shape == (6,)
    reference = compare_gan_discriminator(d, x01, batchnorm=norm == "batch").squeeze(1)
    torch.testing.assert_close(scores, reference, rtol=1e-4, atol=1e-5)


def test_discriminator_scores_are_shaped_like_dcgans():
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert InfoGANDiscriminator((1, 28, 28))(x).shape == DCGANDiscriminator((1, 28, 28), width=8)(x).shape


# ----------------------------------------------------------------- sizes, from the layer list
def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv_params(c_in: int, c_out: int) -> int:
    return c_in * c_out * 4 * 4 + c_out


def norm_params(norm: str, features: int) -> int:
    return 0 if norm == "none" else 2 * features  # BatchNorm / LayerNorm / GroupNorm(1, C): scale and shift


def expected_generator_params(c: int, h: int, w: int, latent: int, norm: str) -> int:
    fc2_out = 128 * (h // 4) * (w // 4)
    return (
        linear_params(latent, 1024)
        + norm_params(norm, 1024)
        + linear_params(1024, fc2_out)
        + norm_params(norm, fc2_out)
        + conv_params(128, 64)
        + norm_params(norm, 64)
        + conv_params(64, c)
    )


def expected_discriminator_params(c: int, h: int, w: int, norm: str) -> int:
    fc3_in = 128 * (h // 4) * (w // 4)
    return (
        conv_params(c, 64)
        + conv_params(64, 128)
        + norm_params(norm, 128)
        + linear_params(fc3_in, 1024)
        + norm_params(norm, 1024)
        + linear_params(1024, 1)
    )


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("shape, latent", [((1, 28, 28), 64), ((3, 32, 32), 100), ((2, 8, 12), 5)])
def test_parameter_counts_follow_the_layer_list(shape, latent, norm):
    assert count(InfoGANGenerator(shape, latent_dim=latent, norm=norm)) == expected_generator_params(
        *shape, latent, norm
    )
    assert count(InfoGANDiscriminator(shape, norm=norm)) == expected_discriminator_params(*shape, norm)


def test_fashion_mnist_sizes():
    """The Lucic et al. Fashion-MNIST nets: 6,642,241 parameters in G (z = 64), 6,559,169 in D with batch
    norm and 6,556,865 without (WGAN-GP)."""
    assert count(InfoGANGenerator()) == 6_642_241
    assert count(InfoGANDiscriminator()) == 6_559_169
    assert count(InfoGANDiscriminator(norm="none")) == 6_556_865


# ----------------------------------------------------------------- normalization
def norms_in_order(module: nn.Module) -> list[tuple[type, int]]:
    found = []
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            found.append((nn.LayerNorm, m.normalized_shape[0]))
        elif isinstance(m, nn.GroupNorm):
            found.append((nn.GroupNorm, m.num_channels))
        elif isinstance(m, NORM_TYPES):
            found.append((type(m), m.num_features))
    return found


@pytest.mark.parametrize(
    "norm, generator_norms, discriminator_norms",
    [
        (
            "batch",
            [(nn.BatchNorm1d, 1024), (nn.BatchNorm1d, 6272), (nn.BatchNorm2d, 64)],
            [(nn.BatchNorm2d, 128), (nn.BatchNorm1d, 1024)],
        ),
        (
            "layer",
            [(nn.LayerNorm, 1024), (nn.LayerNorm, 6272), (nn.GroupNorm, 64)],
            [(nn.GroupNorm, 128), (nn.LayerNorm, 1024)],
        ),
        ("none", [], []),
    ],
)
def test_norm_placement(norm, generator_norms, discriminator_norms):
    g = InfoGANGenerator(norm=norm)
    d = InfoGANDiscriminator(norm=norm)
    assert norms_in_order(g) == generator_norms
    assert norms_in_order(d) == discriminator_norms
    # never on D's input layer nor on either output layer
    assert isinstance(d.features[1], nn.LeakyReLU)
    assert isinstance(g.upsample[-1], nn.ConvTranspose2d)


def test_activations_are_lrelu_02_and_every_layer_has_a_bias():
    for net in (InfoGANGenerator(), InfoGANDiscriminator()):
        slopes = {m.negative_slope for m in net.modules() if isinstance(m, nn.LeakyReLU)}
        assert slopes == {0.2}
        assert not any(isinstance(m, nn.ReLU) for m in net.modules())
        for m in net.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                assert m.bias is not None


def test_batch_norm_uses_tf_decay_and_epsilon():
    """``tf.contrib.layers.batch_norm(decay=0.999, epsilon=0.001)``: one training step moves the running mean
    0.1 % of the way to the batch mean."""
    g = InfoGANGenerator().train()
    bns = [
        m
        for net in (g, InfoGANDiscriminator())
        for m in net.modules()
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
    ]
    assert len(bns) == 5 and all(bn.eps == 1e-3 and bn.momentum == pytest.approx(0.001) for bn in bns)
    z = torch.rand(64, 64) * 2 - 1
    fc1_out = g.project[0](z)
    g(z)
    torch.testing.assert_close(g.project[1].running_mean, 0.001 * fc1_out.mean(0).detach())


def test_instance_norm_is_refused_for_the_fc_layers():
    with pytest.raises(ValueError, match="undefined for flat features"):
        InfoGANGenerator(norm="instance")
    with pytest.raises(ValueError, match="undefined for flat features"):
        InfoGANDiscriminator(norm="instance")


# ----------------------------------------------------------------- initialisation
def test_initialisation_is_compare_gans():
    """ops.py: FC and deconv weights N(0, 0.02); conv weights N(0, 0.02) truncated at 2 std; biases 0;
    BN scale 1, shift 0."""
    torch.manual_seed(0)
    g, d = InfoGANGenerator(), InfoGANDiscriminator()
    fc2 = g.project[3].weight
    assert fc2.mean().abs() < 1e-4 and fc2.std().item() == pytest.approx(0.02, rel=0.01)
    assert g.upsample[0].weight.std().item() == pytest.approx(0.02, rel=0.02)
    conv2 = d.features[2].weight
    assert conv2.abs().max() <= 0.04
    truncated_std = 0.02 * math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2)))
    assert conv2.std().item() == pytest.approx(truncated_std, rel=0.02)
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                assert torch.count_nonzero(m.bias) == 0
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                assert torch.all(m.weight == 1) and torch.count_nonzero(m.bias) == 0


# ----------------------------------------------------------------- output range
@pytest.mark.parametrize("output, squash", [("sigmoid", lambda a: torch.sigmoid(a) * 2 - 1), ("tanh", torch.tanh)])
def test_generator_output_range(output, squash):
    torch.manual_seed(0)
    g = InfoGANGenerator(output=output).eval()
    with torch.no_grad():
        g.upsample[-1].weight.mul_(500)  # push the last layer into saturation
        z = torch.rand(32, 64) * 2 - 1
        x = g(z)
        logits = g.upsample(g.project(z).view(-1, 128, 7, 7))
    assert x.min() >= -1 and x.max() <= 1
    assert x.min() < -0.99 and x.max() > 0.99
    torch.testing.assert_close(x, squash(logits))


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "shape, message",
    [
        ((28, 28), r"\(C, H, W\)"),
        ((0, 28, 28), "at least one channel"),
        ((1, 30, 28), "multiples of 4"),
        ((1, 28, 26), "multiples of 4"),
        ((1, 0, 28), "multiples of 4"),
    ],
)
def test_refuses_shapes_it_cannot_take(shape, message):
    with pytest.raises(ValueError, match=message):
        InfoGANGenerator(shape)
    with pytest.raises(ValueError, match=message):
        InfoGANDiscriminator(shape)


def test_refuses_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim must be >= 1"):
        InfoGANGenerator(latent_dim=0)
    with pytest.raises(ValueError, match="'sigmoid', 'tanh'"):
        InfoGANGenerator(output="relu")
    with pytest.raises(ValueError, match="'batch', 'instance', 'layer', 'none'"):
        InfoGANDiscriminator(norm="spectral")


def test_refuses_wrong_batches():
    with pytest.raises(ValueError, match=r"z shaped \(N, 64\)"):
        InfoGANGenerator()(torch.randn(4, 32))
    with pytest.raises(ValueError, match="built for images"):
        InfoGANDiscriminator()(torch.randn(4, 3, 28, 28))
