"""The SNGAN paper's standard CNN (Miyato et al. 2018, Table 3) against the table: layer by layer (kind, kernel,
stride, channels, activation), the maps each layer makes, parameter counts worked out by hand, a functional
re-statement of both forward passes, initialization, output range, the sizes it refuses, and training under
WGAN-GP through ``nets="sngan_cnn"``."""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from datamodules.base import ImageDataModule
from tests.conftest import tiny_trainer
from zoo import GAN, WGANGP
from zoo.nets import SNGANCNNDiscriminator, SNGANCNNGenerator, build_pair
from zoo.nets.sngan_cnn import REFERENCE_CODE_D_WIDTHS

# Table 3 (a), after the dense layer: (layer, kernel, stride, output channels, then BN?, activation)
TABLE_G = [
    (nn.ConvTranspose2d, 4, 2, 256, True, nn.ReLU),
    (nn.ConvTranspose2d, 4, 2, 128, True, nn.ReLU),
    (nn.ConvTranspose2d, 4, 2, 64, True, nn.ReLU),
    (nn.Conv2d, 3, 1, 3, False, nn.Tanh),
]
# Table 3 (b): (kernel, stride, output channels), each followed by lReLU(0.1), then dense -> 1
TABLE_D = [(3, 1, 64), (4, 2, 64), (3, 1, 128), (4, 2, 128), (3, 1, 256), (4, 2, 256), (3, 1, 512)]


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def layer_kinds(seq: nn.Sequential) -> list[type]:
    return [type(m) for m in seq]


# ----------------------------------------------------------------- the table, layer by layer
def test_generator_layers_are_table_3a():
    g = SNGANCNNGenerator()
    dense, bn, relu = g.project
    assert isinstance(dense, nn.Linear) and (dense.in_features, dense.out_features) == (128, 4 * 4 * 512)
    assert isinstance(bn, nn.BatchNorm1d) and bn.num_features == 8192 and isinstance(relu, nn.ReLU)
    layers = list(g.upsample)
    expected_kinds = []
    for kind, _, _, _, has_bn, act in TABLE_G:
        expected_kinds += [kind, nn.BatchNorm2d, act] if has_bn else [kind, act]
    assert [type(m) for m in layers] == expected_kinds
    convs = [m for m in layers if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    c_in = 512
    for conv, (kind, kernel, stride, c_out, _, _) in zip(convs, TABLE_G, strict=True):
        assert type(conv) is kind
        assert conv.kernel_size == (kernel, kernel) and conv.stride == (stride, stride) and conv.padding == (1, 1)
        assert (conv.in_channels, conv.out_channels) == (c_in, c_out)
        c_in = c_out
    assert [m.num_features for m in layers if isinstance(m, nn.BatchNorm2d)] == [256, 128, 64]


def test_discriminator_layers_are_table_3b():
    d = SNGANCNNDiscriminator()
    layers = list(d.features)
    assert [type(m) for m in layers] == [nn.Conv2d, nn.LeakyReLU] * 7 + [nn.Flatten]
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    c_in = 3
    for conv, (kernel, stride, c_out) in zip(convs, TABLE_D, strict=True):
        assert conv.kernel_size == (kernel, kernel) and conv.stride == (stride, stride) and conv.padding == (1, 1)
        assert (conv.in_channels, conv.out_channels) == (c_in, c_out)
        c_in = c_out
    assert {m.negative_slope for m in layers if isinstance(m, nn.LeakyReLU)} == {0.1}
    assert isinstance(d.head, nn.Linear) and (d.head.in_features, d.head.out_features) == (4 * 4 * 512, 1)
    # no normalization anywhere in D (SN-GAN adds spectral norm itself; WGAN-GP uses D as is)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.GroupNorm | nn.LayerNorm | nn.InstanceNorm2d) for m in d.modules())


@pytest.mark.parametrize("size, bottom", [(32, 4), (48, 6)])
def test_maps_layer_by_layer(size, bottom):
    """G: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 32x32x3 (M_g = M / 8); D: 32 -> 32, 16, 16, 8, 8, 4, 4."""
    torch.manual_seed(0)
    g, d = SNGANCNNGenerator((3, size, size)), SNGANCNNDiscriminator((3, size, size))
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for m in g.upsample]
    x = g(torch.randn(2, 128))
    for h in hooks:
        h.remove()
    b = bottom
    assert shapes == [
        (256, 2 * b, 2 * b),
        (256, 2 * b, 2 * b),
        (256, 2 * b, 2 * b),
        (128, 4 * b, 4 * b),
        (128, 4 * b, 4 * b),
        (128, 4 * b, 4 * b),
        (64, size, size),
        (64, size, size),
        (64, size, size),
        (3, size, size),
        (3, size, size),
    ]
    assert g.map_shape == (512, b, b) and x.shape == (2, 3, size, size)
    shapes.clear()
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for m in d.features]
    scores = d(x)
    conv_maps = shapes[0:14:2]
    assert conv_maps == [
        (64, size, size),
        (64, 4 * b, 4 * b),
        (128, 4 * b, 4 * b),
        (128, 2 * b, 2 * b),
        (256, 2 * b, 2 * b),
        (256, b, b),
        (512, b, b),
    ]
    assert shapes[-1] == (512 * b * b,) and scores.shape == (2,)


# ----------------------------------------------------------------- sizes, by hand
def test_parameter_counts_by_hand():
    """G at 32 px, z in R^128: dense 128*8192 + 8192 = 1,056,768; BN 2*8192 = 16,384; deconvs 512*256*16 + 256 =
    2,097,408, 256*128*16 + 128 = 524,416, 128*64*16 + 64 = 131,136; their BNs 512 + 256 + 128; conv 64*3*9 + 3 =
    1,731: 3,828,739 in all.
    D at 32 px: convs 3*64*9 + 64 = 1,792; 64*64*16 + 64 = 65,600; 64*128*9 + 128 = 73,856; 128*128*16 + 128 =
    262,272; 128*256*9 + 256 = 295,168; 256*256*16 + 256 = 1,048,832; 256*512*9 + 512 = 1,180,160; dense
    8192 + 1 = 8,193: 2,935,873 in all.
    The reference code's D (64-128-128-256-256-512-512): 1,792 + 131,200 + 147,584 + 524,544 + 590,080 +
    2,097,664 + 2,359,808 + 8,193 = 5,860,865."""
    assert count(SNGANCNNGenerator()) == 3_828_739
    assert count(SNGANCNNDiscriminator()) == 2_935_873
    assert count(SNGANCNNDiscriminator(widths=REFERENCE_CODE_D_WIDTHS)) == 5_860_865
    # 48 px (STL-10, M_g = 6): only the dense layers change, 36 instead of 16 positions
    assert count(SNGANCNNGenerator((3, 48, 48))) == 3_828_739 + (128 + 1 + 2) * 512 * 20
    assert count(SNGANCNNDiscriminator((3, 48, 48))) == 2_935_873 + 512 * 20


def test_norm_options_place_norms_like_the_table():
    g = SNGANCNNGenerator(norm="none")
    assert count(g) == 3_828_739 - 2 * (8192 + 256 + 128 + 64)
    assert not any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in g.modules())
    d = SNGANCNNDiscriminator(norm="layer")  # opt-in (e.g. WGAN-GP's default d_norm): never after the input conv
    kinds = layer_kinds(d.features)
    assert kinds[:2] == [nn.Conv2d, nn.LeakyReLU]
    assert kinds[2:-1] == [nn.Conv2d, nn.GroupNorm, nn.LeakyReLU] * 6
    with pytest.raises(ValueError, match="undefined for flat features"):
        SNGANCNNGenerator(norm="instance")  # the BN after the dense layer is per feature


# ----------------------------------------------------------------- the forward passes, restated
def test_forward_passes_restated_from_the_table():
    torch.manual_seed(0)
    g, d = SNGANCNNGenerator().train(), SNGANCNNDiscriminator()
    z = torch.randn(5, 128)

    def bn(x, layer):
        return F.batch_norm(x, None, None, layer.weight, layer.bias, training=True, eps=layer.eps)

    dense, bn0, _ = g.project
    dc1, bn1, _, dc2, bn2, _, dc3, bn3, _, conv, _ = g.upsample
    h = F.relu(bn(F.linear(z, dense.weight, dense.bias), bn0)).view(5, 512, 4, 4)
    for dc, norm in ((dc1, bn1), (dc2, bn2), (dc3, bn3)):
        h = F.relu(bn(F.conv_transpose2d(h, dc.weight, dc.bias, stride=2, padding=1), norm))
    expected = torch.tanh(F.conv2d(h, conv.weight, conv.bias, stride=1, padding=1))
    x = g(z)
    torch.testing.assert_close(x, expected)

    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    h = x
    for conv, (_, stride, _) in zip(convs, TABLE_D, strict=True):
        h = F.leaky_relu(F.conv2d(h, conv.weight, conv.bias, stride=stride, padding=1), 0.1)
    torch.testing.assert_close(d(x), F.linear(h.flatten(1), d.head.weight, d.head.bias)[:, 0])


def test_initialisation():
    """Weights ~ N(0, 0.02), biases 0, batch-norm scale 1 and shift 0 (chainer-gan-lib's Normal(0.02))."""
    torch.manual_seed(0)
    g, d = SNGANCNNGenerator(), SNGANCNNDiscriminator()
    for w in (g.project[0].weight, g.upsample[0].weight, d.features[10].weight):
        assert w.mean().abs() < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                assert torch.count_nonzero(m.bias) == 0
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                assert torch.all(m.weight == 1) and torch.count_nonzero(m.bias) == 0


def test_generator_output_range():
    torch.manual_seed(0)
    g = SNGANCNNGenerator().eval()
    with torch.no_grad():
        g.upsample[-2].weight.mul_(500)  # push the last conv into saturation
        x = g(torch.randn(16, 128))
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.99 and x.max() > 0.99


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "shape, message",
    [
        ((3, 28, 28), "32 px .*48 px .*got 28x28"),
        ((3, 64, 64), "32 px .*48 px .*got 64x64"),
        ((3, 32, 30), "got 32x30"),
        ((32, 32), r"\(C, H, W\)"),
        ((0, 32, 32), "at least one channel"),
    ],
)
def test_refuses_sizes_it_cannot_take(shape, message):
    with pytest.raises(ValueError, match=message):
        SNGANCNNGenerator(shape)
    with pytest.raises(ValueError, match=message):
        SNGANCNNDiscriminator(shape)
    if len(shape) == 3 and shape[0] > 0:
        with pytest.raises(ValueError, match="nets='dcgan'"):
            GAN(image_shape=shape, nets="sngan_cnn")


def test_refuses_wrong_batches_and_arguments():
    with pytest.raises(ValueError, match=r"z shaped \(N, 128\)"):
        SNGANCNNGenerator()(torch.randn(2, 100))
    with pytest.raises(ValueError, match="built for images"):
        SNGANCNNDiscriminator()(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="7 positive channel counts"):
        SNGANCNNDiscriminator(widths=(64, 128))
    with pytest.raises(ValueError, match="latent_dim must be >= 1"):
        SNGANCNNGenerator(latent_dim=0)


# ----------------------------------------------------------------- selection and training
def test_selected_by_nets_name():
    g, d = build_pair((1, 32, 32), 16, nets="sngan_cnn", d_norm="none")
    assert isinstance(g, SNGANCNNGenerator) and isinstance(d, SNGANCNNDiscriminator)
    assert g.image_shape == (1, 32, 32) and g.latent_dim == 16
    model = WGANGP(image_shape=(3, 32, 32), latent_dim=128, nets="sngan_cnn", d_norm="none")
    assert isinstance(model.generator, SNGANCNNGenerator) and isinstance(model.discriminator, SNGANCNNDiscriminator)
    assert count(model.discriminator) == 2_935_873
    with pytest.raises(ValueError, match="batch norm is not allowed in a WGAN-GP critic"):
        WGANGP(image_shape=(3, 32, 32), nets="sngan_cnn", d_norm="batch")


class RandomImages(ImageDataModule):
    """64 random uint8 3x32x32 images with labels, served from memory."""

    num_classes = 10

    def __init__(self, batch_size: int = 8) -> None:
        super().__init__(batch_size=batch_size)
        self.image_shape = (3, 32, 32)

    def load_split(self, split: str):
        g = torch.Generator().manual_seed(0)
        return torch.randint(0, 256, (64, 3, 32, 32), generator=g, dtype=torch.uint8), torch.zeros(64).long()


def test_wgan_gp_trains_with_the_standard_cnn(tmp_path):
    L.seed_everything(0)
    model = WGANGP(image_shape=(3, 32, 32), latent_dim=128, nets="sngan_cnn", d_norm="none", n_critic=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    tiny_trainer(tmp_path, max_steps=4).fit(model, RandomImages())  # 2 critic + 2 generator updates
    assert (model.d_steps, model.g_steps) == (2, 2)
    assert isinstance(model.generator, SNGANCNNGenerator) and isinstance(model.discriminator, SNGANCNNDiscriminator)
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert {"generator", "discriminator"} <= changed
    for p in model.parameters():
        assert torch.isfinite(p).all()
    samples = model.generate(4)
    assert samples.shape == (4, 3, 32, 32) and samples.min() >= -1 and samples.max() <= 1
