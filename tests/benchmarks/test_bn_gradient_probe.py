"""``benchmarks.bn_gradient_probe``: with D's batch norm fed the fakes alone, identical fakes get no gradient while
D's running statistics or a joint batch pass one (the mechanism the probe traces, computed here on hand-built nets);
probing leaves the training run bit-identical."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from benchmarks.bn_gradient_probe import BNGradientProbe, measure, pixel_std, require_non_saturating_gan
from tests.zoo.variant_harness import tiny_fit

SHAPE = (1, 4, 4)


class ConstantGenerator(nn.Module):
    """G(z) = image + tanh(W z) with a learned image and W: for W = 0 one image for every z (a fully collapsed
    generator). (BN on a separate batch is blind to what moves every sample alike, ``image``, and to the scale of
    the spread, so only the shape of the spread, W's direction, can get a gradient.)"""

    def __init__(self, spread: float = 0.0) -> None:
        super().__init__()
        self.image = nn.Parameter(torch.linspace(-0.5, 0.5, 16).reshape(1, *SHAPE))
        weight = torch.randn(16, 16, generator=torch.Generator().manual_seed(3))
        self.weight = nn.Parameter(spread * weight)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.image + torch.tanh(z[:, :16] @ self.weight.T).reshape(len(z), *SHAPE)


def batchnorm_discriminator() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2), nn.Linear(8, 1))


def module_with(generator: nn.Module) -> SimpleNamespace:
    return SimpleNamespace(generator=generator, discriminator=batchnorm_discriminator())


def test_identical_fakes_get_no_gradient_through_a_separate_batchnorm_batch():
    z = torch.rand(16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    real = torch.randn(16, *SHAPE, generator=torch.Generator().manual_seed(2))
    module = module_with(ConstantGenerator())
    out = measure(module, real, z)
    assert out["fake_std"] == 0.0 and out["real_std"] > 0.5
    # BN's backward removes the batch-mean gradient: identical rows, identical gradients, nothing left
    assert out["g_grad_separate"] < 1e-3 * out["g_grad_running"]  # zero up to rounding
    assert out["g_grad_running"] > 1e-3 and out["g_grad_joint"] > 1e-3
    # fakes that differ do get a gradient through the separate batch
    spread = measure(module_with(ConstantGenerator(spread=0.5)), real, z)
    assert spread["fake_std"] > 0.1 and spread["g_grad_separate"] > 1e-3
    # the loss is the non-saturating one, evaluated independently here
    d = batchnorm_discriminator().eval()
    expected = -torch.log(torch.sigmoid(d(ConstantGenerator()(z)))).mean()
    assert abs(out["g_loss_running"] - float(expected)) < 1e-5


def test_measuring_leaves_both_nets_untouched():
    module = module_with(ConstantGenerator(spread=0.5))
    before = {k: v.clone() for k, v in module.discriminator.state_dict().items()}
    measure(module, torch.randn(8, *SHAPE), torch.rand(8, 16) * 2 - 1)
    after = module.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running statistics included
    assert module.discriminator.training


def test_pixel_std_is_zero_for_identical_samples():
    assert pixel_std(torch.ones(5, *SHAPE)) == 0.0
    assert pixel_std(torch.tensor([[0.0], [2.0]])) == torch.tensor([0.0, 2.0]).std().item()


def trained(tmp_path, fashion_dir, callbacks=()):
    model, data = tiny_fit("GAN", tmp_path, fashion_dir, batches=6, callbacks=callbacks)
    return model


def test_probing_during_training_leaves_the_run_bit_identical(tmp_path, fashion_dir):
    plain = trained(tmp_path / "plain", fashion_dir)
    probe = BNGradientProbe(every=2, n=8)
    probed = trained(tmp_path / "probed", fashion_dir, [probe])
    assert [t["d_steps"] for t in probe.trace] == [2, 4, 6]
    assert all(t["g_grad_separate"] > 0 and t["fake_std"] > 0 for t in probe.trace)
    for a, b in ((plain.generator, probed.generator), (plain.discriminator, probed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_only_non_saturating_gan_cells_are_probed():
    require_non_saturating_gan("gan_ns-s0", {"variant": "GAN", "model": {"init_args": {"objective": "non_saturating"}}})
    with pytest.raises(SystemExit, match="non_saturating"):
        require_non_saturating_gan("gan_mm-s0", {"variant": "GAN", "model": {"init_args": {"objective": "minimax"}}})
    with pytest.raises(SystemExit, match="WGANGP"):
        require_non_saturating_gan("wgan_gp-s0", {"variant": "WGANGP", "model": {"init_args": {}}})
