"""Wasserstein, hinge and least squares losses against their definitions, and LSGAN's Theorem 1.

Theorem 1 of Mao et al. (2017): with D at its optimum D*(x) = (b p_d + a p_g) / (p_d + p_g) (eq. 4) and
b - c = 1, b - a = 2, the generator's objective of eq. (3),
    C(G) = 1/2 E_{p_d}[(D*(x) - c)^2] + 1/2 E_{p_g}[(D*(x) - c)^2],
satisfies 2 C(G) = chi^2_Pearson(p_d + p_g || 2 p_g) = int (2 p_g - (p_d + p_g))^2 / (p_d + p_g) dx (eq. 7).
"""

from __future__ import annotations

import math

import pytest
import torch

from zoo import LSGAN, losses

MU_D, SD_D = 0.0, 1.0  # p_data
MU_G, SD_G = 0.8, 1.3  # p_g


def normal_pdf(x: torch.Tensor, mu: float, sd: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def pearson_of_eq7() -> float:
    x = torch.linspace(-15.0, 15.0, 60_001, dtype=torch.float64)
    pd, pg = normal_pdf(x, MU_D, SD_D), normal_pdf(x, MU_G, SD_G)
    return float(torch.trapezoid((2 * pg - (pd + pg)) ** 2 / (pd + pg), x))


def stratified_normal(n: int, mu: float, sd: float, g: torch.Generator) -> torch.Tensor:
    """Stratified Monte Carlo draws of N(mu, sd^2): one uniform draw in each of n equal-probability strata."""
    u = (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=g, dtype=torch.float64)) / n
    return mu + sd * math.sqrt(2.0) * torch.erfinv(2.0 * u - 1.0)


@pytest.fixture(scope="module")
def lsgan_samples() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return stratified_normal(20_000, MU_D, SD_D, g), stratified_normal(20_000, MU_G, SD_G, g)


def optimal_scores(x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """D*(x) of eq. (4) for the known densities."""
    return losses.least_squares_optimal_d(normal_pdf(x, MU_D, SD_D), normal_pdf(x, MU_G, SD_G), a, b)


def generator_objective(real: torch.Tensor, fake: torch.Tensor, a: float, b: float, c: float) -> float:
    """C(G) of eq. (3) through ``least_squares_g``: G's loss on fakes plus the same term on real data."""
    return float(
        losses.least_squares_g(optimal_scores(real, a, b), c) + losses.least_squares_g(optimal_scores(fake, a, b), c)
    )


def test_pearson_coding_meets_theorem_1(lsgan_samples):
    a, b, c = losses.least_squares_coding("pearson")
    assert (a, b, c) == (-1.0, 1.0, 0.0) and b - c == 1 and b - a == 2
    real, fake = lsgan_samples
    two_c = 2 * generator_objective(real, fake, a, b, c)
    chi2 = pearson_of_eq7()
    assert chi2 > 0.1  # the two densities differ enough for the relation to mean something
    assert two_c == pytest.approx(chi2, rel=0.02)


def test_binary_coding_is_eq_9_and_not_the_pearson_relation(lsgan_samples):
    a, b, c = losses.least_squares_coding("binary")
    assert (a, b, c) == (0.0, 1.0, 1.0)
    real, fake = lsgan_samples
    # b - c = 0 here: Theorem 1 does not apply and the objective is far from chi^2 / 2
    assert abs(2 * generator_objective(real, fake, a, b, c) - pearson_of_eq7()) > 0.1 * pearson_of_eq7()


@pytest.mark.parametrize("coding", ["pearson", "binary"])
def test_eq_4_discriminator_minimizes_the_least_squares_loss(coding, lsgan_samples):
    a, b, _ = losses.least_squares_coding(coding)
    real, fake = lsgan_samples
    best = float(losses.least_squares_d(optimal_scores(real, a, b), optimal_scores(fake, a, b), a, b))
    d_real, d_fake = optimal_scores(real, a, b), optimal_scores(fake, a, b)
    for delta in (-0.1, 0.05, 0.1):
        assert float(losses.least_squares_d(d_real + delta, d_fake + delta, a, b)) > best
    tilted = lambda x: optimal_scores(x, a, b) + 0.1 * torch.tanh(x)  # noqa: E731
    assert float(losses.least_squares_d(tilted(real), tilted(fake), a, b)) > best


def test_unknown_coding_lists_valid_ones():
    with pytest.raises(ValueError, match="'pearson', 'binary'"):
        losses.least_squares_coding("eq2")
    with pytest.raises(ValueError, match="binary"):
        LSGAN(coding="ab")


def test_least_squares_pair_keeps_its_signature_and_values():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    # 1/2 mean((r - 1)^2) + 1/2 mean((f - 0)^2) = 1/2 * 0.5 + 1/2 * 0.625
    assert float(losses.least_squares_d(real, fake)) == pytest.approx(0.25 + 0.3125)
    assert float(losses.least_squares_d(real, fake, a=-1.0, b=1.0)) == pytest.approx(0.25 + 0.5 * (2.25 + 0.0) / 2)
    assert float(losses.least_squares_g(fake)) == pytest.approx(0.5 * (0.25 + 4.0) / 2)
    assert float(losses.least_squares_g(fake, c=0.0)) == pytest.approx(0.5 * (0.25 + 1.0) / 2)


def test_wasserstein_losses():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 0.0])
    assert float(losses.wasserstein_d(real, fake)) == pytest.approx(-0.5 - 3.0)  # -(E f(x) - E f(G(z)))
    assert float(losses.wasserstein_g(fake)) == pytest.approx(0.5)
    # the critic loss is linear in the scores: gradient -1/N on real, +1/N on fake
    r, f = real.clone().requires_grad_(), fake.clone().requires_grad_()
    losses.wasserstein_d(r, f).backward()
    torch.testing.assert_close(r.grad, torch.full((2,), -0.5))
    torch.testing.assert_close(f.grad, torch.full((2,), 0.5))


def test_hinge_losses():
    real = torch.tensor([2.0, 0.5, -1.0])  # margins: 0, 0.5, 2
    fake = torch.tensor([-3.0, 0.0, 1.0])  # margins: 0, 1, 2
    assert float(losses.hinge_d(real, fake)) == pytest.approx(2.5 / 3 + 3.0 / 3)
    assert float(losses.hinge_g(fake)) == pytest.approx(2.0 / 3)
    # scores beyond the margin get no gradient (the SVM's hinge)
    r = real.clone().requires_grad_()
    losses.hinge_d(r, fake).backward()
    assert r.grad[0] == 0 and r.grad[1] < 0 and r.grad[2] < 0
