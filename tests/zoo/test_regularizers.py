"""Gradient penalty (Gulrajani et al. 2017, eq. 3), R1 (Mescheder et al. 2018) and weight clipping."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo import regularizers


class LinearCritic(nn.Module):
    """f(x) = w . flatten(x) + b, whose input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.linear = nn.Linear(w.numel(), 1).double()
        with torch.no_grad():
            self.linear.weight.copy_(w.reshape(1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).flatten()


def batches(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, *shape, generator=g, dtype=torch.float64), torch.randn(
        8, *shape, generator=g, dtype=torch.float64
    )


@pytest.mark.parametrize("shape", [(2,), (1, 4, 4)])
def test_gradient_penalty_of_linear_critic_is_norm_minus_one_squared(shape):
    w = torch.randn(int(torch.tensor(shape).prod()), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = 2.5 * w / w.norm()
    real, fake = batches(shape)
    gp = regularizers.gradient_penalty(LinearCritic(w), real, fake)
    assert float(gp.detach()) == pytest.approx((2.5 - 1.0) ** 2, rel=1e-12)


def test_gradient_penalty_is_zero_for_unit_norm():
    w = torch.tensor([0.6, -0.8], dtype=torch.float64)
    real, fake = batches((2,))
    assert float(regularizers.gradient_penalty(LinearCritic(w), real, fake).detach()) == pytest.approx(0.0, abs=1e-14)


def test_gradient_penalty_backpropagates_to_critic_parameters():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)  # ||w|| = 5
    critic = LinearCritic(w)
    real, fake = batches((2,))
    regularizers.gradient_penalty(critic, real, fake).backward()  # needs create_graph=True
    grad = critic.linear.weight.grad.flatten()
    assert grad.abs().sum() > 0
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    torch.testing.assert_close(grad, 2 * (5.0 - 1.0) * w / 5.0)


def test_gradient_penalty_penalizes_the_gradient_at_interpolates():
    # f(x) = 1/2 ||x||^2 has gradient x: the penalty is E(||x^|| - 1)^2 at x^ = eps x + (1 - eps) x~
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * x.pow(2).sum(1)

    real, fake = batches((2,), seed=3)
    gp = regularizers.gradient_penalty(Quadratic(), real, fake, generator=torch.Generator().manual_seed(7))
    x_hat = regularizers.interpolates(real, fake, torch.Generator().manual_seed(7))
    assert float(gp.detach()) == pytest.approx(float((x_hat.norm(dim=1) - 1).pow(2).mean()), rel=1e-12)
    # the interpolates lie on the segments between paired real and fake samples
    eps = ((x_hat - fake) / (real - fake))[:, 0]
    torch.testing.assert_close(eps[:, None].expand(-1, 2), (x_hat - fake) / (real - fake))
    assert bool(((eps >= 0) & (eps <= 1)).all())


def test_gradient_penalty_refuses_mismatched_batches():
    with pytest.raises(ValueError, match="same shape"):
        regularizers.gradient_penalty(
            LinearCritic(torch.ones(2, dtype=torch.float64)), *batches((2,))[:1], torch.zeros(4, 2)
        )


def test_r1_penalty_is_the_squared_gradient_norm_on_real_data():
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    critic = LinearCritic(w)
    real, _ = batches((2,))
    r1 = regularizers.r1_penalty(critic, real)
    assert float(r1.detach()) == pytest.approx(25.0)
    r1.backward()
    torch.testing.assert_close(critic.linear.weight.grad.flatten(), 2 * w)  # d ||w||^2 / dw
    assert not real.requires_grad  # the caller's batch is left alone


def test_clip_weights_clamps_every_parameter_in_place():
    net = nn.Sequential(nn.Linear(2, 16), nn.LayerNorm(16), nn.Linear(16, 1))
    assert max(p.abs().max() for p in net.parameters()) > 0.01
    inside = net[0].weight.detach().clone().clamp(-0.01, 0.01)
    regularizers.clip_weights_(net, 0.01)
    assert all(float(p.abs().max()) <= 0.01 for p in net.parameters())
    torch.testing.assert_close(net[0].weight.detach(), inside)  # values within [-c, c] unchanged


@pytest.mark.parametrize("c", [0.0, -0.01])
def test_clip_value_must_be_positive(c):
    with pytest.raises(ValueError, match="clip_value"):
        regularizers.clip_weights_(nn.Linear(2, 1), c)
