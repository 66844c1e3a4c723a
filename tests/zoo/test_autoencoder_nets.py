"""The autoencoder discriminators of BEGAN and EBGAN (``zoo/nets/autoencoder.py``): shapes, the code they expose,
BEGAN's architecture (Section 3.5), input validation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.nets.autoencoder import ConvAutoencoder, MLPAutoencoder, build_autoencoder, map_sizes


@pytest.mark.parametrize(
    "shape, sizes",
    [
        ((1, 28, 28), [(28, 28), (14, 14), (7, 7)]),  # MNIST-like: 28 -> 14 -> 7
        ((3, 32, 32), [(32, 32), (16, 16), (8, 8)]),
        ((3, 64, 64), [(64, 64), (32, 32), (16, 16), (8, 8)]),  # BEGAN stops at 8x8
        ((2, 12, 20), [(12, 20), (6, 10)]),  # generic: halve while both even and > 8
        ((3, 7, 5), [(7, 5)]),  # odd: no down-sampling
    ],
)
def test_conv_autoencoder_reconstructs_every_shape_and_exposes_its_code(shape, sizes):
    assert map_sizes(*shape[1:]) == sizes
    torch.manual_seed(0)
    net = ConvAutoencoder(shape, code_dim=6, width=4)
    x = torch.randn(3, *shape)
    reconstruction, code = net(x, return_code=True)
    assert reconstruction.shape == x.shape and code.shape == (3, 6)
    assert torch.equal(net(x), reconstruction)  # the default forward is the reconstruction
    torch.testing.assert_close(net.encode(x), code)
    torch.testing.assert_close(net.decode(code), reconstruction)  # D(x) = Dec(Enc(x)): the code is the bottleneck
    strided = [m for m in net.encoder if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == len(sizes) - 1  # one stride-2 sub-sampling per halving
    assert sum(isinstance(m, nn.Upsample) for m in net.decoder) == len(sizes) - 1  # nearest-neighbour up-sampling


def test_conv_autoencoder_follows_began_section_3_5():
    net = ConvAutoencoder((1, 28, 28), code_dim=64, width=8, repeats=2)
    convs = [m for m in net.encoder if isinstance(m, nn.Conv2d)]
    assert all(m.kernel_size == (3, 3) for m in convs + [m for m in net.decoder if isinstance(m, nn.Conv2d)])
    # filters grow linearly with each down-sampling: n, 2n, 3n
    assert sorted({m.out_channels for m in convs}) == [8, 16, 24]
    assert isinstance(net.encoder[-1], nn.Linear) and net.encoder[-1].out_features == 64  # h, no non-linearity after
    assert isinstance(net.project, nn.Linear)  # h -> first map, no non-linearity before the decoder's convs
    assert isinstance(net.decoder[-1], nn.Conv2d) and net.decoder[-1].out_channels == 1  # linear output
    assert any(isinstance(m, nn.ELU) for m in net.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d | nn.BatchNorm2d | nn.Dropout) for m in net.modules())
    assert sum(isinstance(m, nn.GroupNorm) for m in ConvAutoencoder((1, 28, 28), width=8, norm="layer").modules()) > 0


def test_mlp_autoencoder_for_vectors():
    net = MLPAutoencoder(2, code_dim=5, hidden=16)
    x = torch.randn(7, 2)
    reconstruction, code = net(x, return_code=True)
    assert reconstruction.shape == (7, 2) and code.shape == (7, 5)
    torch.testing.assert_close(net.decode(net.encode(x)), reconstruction)
    assert isinstance(build_autoencoder((2,), 5, 16), MLPAutoencoder)
    assert isinstance(build_autoencoder((1, 28, 28), 5, 4), ConvAutoencoder)


@pytest.mark.parametrize("net", [ConvAutoencoder((1, 28, 28), width=4), MLPAutoencoder(2)], ids=["conv", "mlp"])
def test_every_parameter_gets_a_gradient_from_the_reconstruction(net):
    x = torch.randn(64, *net.image_shape)  # enough inputs that every ReLU unit is active for some
    (net(x) - x).abs().mean().backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in net.parameters())


@pytest.mark.parametrize("net", [ConvAutoencoder((1, 28, 28), width=4), MLPAutoencoder(2)], ids=["conv", "mlp"])
def test_the_returned_code_carries_its_graph_to_the_input(net):
    """EBGAN's pulling-away term reaches G through the code: the code must not be detached from x or Enc."""
    x = torch.randn(4, *net.image_shape, requires_grad=True)
    _, code = net(x, return_code=True)
    code.pow(2).sum().backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)
    encoder = {id(p) for p in net.encoder.parameters()}
    assert all(p.grad is not None for p in net.encoder.parameters())
    assert all(p.grad is None for p in net.parameters() if id(p) not in encoder)  # the decoder is not in the code


def test_bad_shapes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="MLPAutoencoder"):
        ConvAutoencoder((784,))
    with pytest.raises(ValueError, match="positive"):
        ConvAutoencoder((0, 28, 28))
    with pytest.raises(ValueError, match=r"built for images \(1, 28, 28\)"):
        ConvAutoencoder((1, 28, 28), width=4)(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match="2-D samples"):
        MLPAutoencoder(2)(torch.randn(2, 3))
    with pytest.raises(ValueError, match="codes shaped"):
        ConvAutoencoder((1, 28, 28), code_dim=6, width=4).decode(torch.randn(2, 5))
    with pytest.raises(ValueError, match="code_dim must be"):
        MLPAutoencoder(2, code_dim=0)
