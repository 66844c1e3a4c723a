"""``fused_optimizer``: every variant updates its nets with torch's fused Adam / SGD kernel where the device has one.

The fused kernel is an implementation choice, not a different optimizer: the update must still be Adam's
(Kingma & Ba 2015, Algorithm 1) or SGD with momentum, which two steps written out in the test check independently
of torch's code. RMSprop has no fused kernel: WGAN (RMSprop by default) is in the registry-wide test.
"""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import GAN, list_variants
from zoo.models.base import has_fused_kernel

VARIANTS = list_variants()


def trained_optimizers(name: str, fashion_dir, tmp_path, **kwargs) -> list[torch.optim.Optimizer]:
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1)
    trainer.fit(tiny_model(name, **kwargs), tiny_data(name, fashion_dir))
    return trainer.optimizers


def implementation(optimizer: torch.optim.Optimizer) -> str:
    group = optimizer.param_groups[0]
    return "fused" if group.get("fused") else "torch default"


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_trains_with_the_fused_kernel_on_cpu(name, fashion_dir, tmp_path):
    optimizers = trained_optimizers(name, fashion_dir, tmp_path)
    expected = ["torch default" if isinstance(o, torch.optim.RMSprop) else "fused" for o in optimizers]
    assert [implementation(o) for o in optimizers] == expected


def test_the_option_off_gives_torch_default(fashion_dir, tmp_path):
    optimizers = trained_optimizers("GAN", fashion_dir, tmp_path, fused_optimizer=False)
    assert [implementation(o) for o in optimizers] == ["torch default", "torch default"]


def expected_two_steps(optimizer: str, theta, g1, g2, lr: float, b1: float, b2: float, eps: float):
    """Two updates written out from the papers' formulas (independent of torch's code).

    Adam (Kingma & Ba 2015, Algorithm 1): m_t = b1 m_{t-1} + (1 - b1) g_t, v_t = b2 v_{t-1} + (1 - b2) g_t^2,
    theta_t = theta_{t-1} - lr * (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps). SGD with momentum mu = b1
    (torch's form, no dampening): buf_1 = g_1, buf_t = mu buf_{t-1} + g_t, theta_t = theta_{t-1} - lr buf_t.
    """
    if optimizer == "sgd":
        buf = g1
        theta = theta - lr * buf
        buf = b1 * buf + g2
        return theta - lr * buf
    m = v = torch.zeros_like(theta)
    for t, g in ((1, g1), (2, g2)):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps)
    return theta


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_fused_update_is_still_the_paper_update(optimizer):
    lr, b1, b2, eps = 1e-2, 0.5, 0.999, 1e-8
    model = GAN(image_shape=(4,), latent_dim=2, width=4, optimizer=optimizer, lr=lr, betas=(b1, b2))
    params = list(model.generator.parameters())
    opt = model.make_optimizer(params, lr)
    assert opt.param_groups[0]["fused"] is True
    torch.manual_seed(0)
    before = [p.detach().clone().double() for p in params]
    grads = [(torch.randn_like(p), torch.randn_like(p)) for p in params]
    for k in range(2):
        for p, g in zip(params, grads):
            p.grad = g[k].clone()
        opt.step()
    for p, theta, (g1, g2) in zip(params, before, grads):
        expected = expected_two_steps(optimizer, theta, g1.double(), g2.double(), lr, b1, b2, eps)
        torch.testing.assert_close(p.detach().double(), expected, rtol=0, atol=1e-6)


def test_no_fused_kernel_for_devices_or_dtypes_without_one():
    assert has_fused_kernel([torch.zeros(2)])
    assert not has_fused_kernel([torch.zeros(2, device="meta")])
    assert not has_fused_kernel([torch.zeros(2), torch.zeros(2, dtype=torch.int64)])
    assert not has_fused_kernel([])
