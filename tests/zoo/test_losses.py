"""The original GAN's losses against Goodfellow et al. (2014): Proposition 1, Theorem 1, Section 3."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from zoo import losses

P = stats.norm(0.0, 1.0)
Q = stats.norm(1.0, 1.5)


def jsd_by_quadrature(p, q) -> float:
    def term(dist, x):
        m = 0.5 * (p.pdf(x) + q.pdf(x))
        d = dist.pdf(x)
        return 0.0 if d == 0 else d * math.log(d / m)

    kl_pm = integrate.quad(lambda x: term(p, x), -30, 30, limit=400)[0]
    kl_qm = integrate.quad(lambda x: term(q, x), -30, 30, limit=400)[0]
    return 0.5 * kl_pm + 0.5 * kl_qm


def quantile_points(dist, n: int = 200_000) -> torch.Tensor:
    """Deterministic quasi-Monte-Carlo sample: the (i + 1/2)/n quantiles of ``dist``."""
    return torch.from_numpy(dist.ppf((np.arange(n) + 0.5) / n))


def optimal_logit(x: torch.Tensor) -> torch.Tensor:
    """logit D*(x) = log p(x) - log q(x) for D*(x) = p / (p + q) (Proposition 1)."""
    return torch.from_numpy(P.logpdf(x.numpy()) - Q.logpdf(x.numpy()))


def value(d_logit) -> float:
    """V(D, G) of eq. (1) estimated on quantile points; ``-minimax_d`` is V."""
    real, fake = quantile_points(P), quantile_points(Q)
    return -losses.minimax_d(d_logit(real), d_logit(fake)).item()


def test_minimax_value_at_optimal_discriminator_is_jsd():
    expected = -math.log(4.0) + 2.0 * jsd_by_quadrature(P, Q)  # Theorem 1
    assert value(optimal_logit) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("shift", [0.5, -1.0, 2.0])
def test_suboptimal_discriminator_has_lower_value(shift):
    assert value(lambda x: optimal_logit(x) + shift) < value(optimal_logit) - 1e-3


def test_minimax_generator_saturates_and_non_saturating_does_not():
    grads = {}
    for name in ("minimax", "non_saturating"):
        score = torch.tensor([-20.0], requires_grad=True)  # D confidently rejects the fake
        losses.generator_objective(name)(score).backward()
        grads[name] = score.grad.item()
    assert abs(grads["minimax"]) < 1e-6
    assert grads["non_saturating"] == pytest.approx(-1.0, abs=1e-6)
    # both descend towards higher scores (the generator makes D(G(z)) more "real")
    assert grads["minimax"] < 0 and grads["non_saturating"] < 0


def test_losses_at_even_odds():
    zero = torch.zeros(4)
    assert losses.minimax_d(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.non_saturating_g(zero).item() == pytest.approx(math.log(2))
    assert losses.minimax_g(zero).item() == pytest.approx(-math.log(2))


def test_unknown_objective_lists_valid_names():
    with pytest.raises(ValueError, match="'minimax', 'non_saturating'"):
        losses.generator_objective("wasserstein-ish")
