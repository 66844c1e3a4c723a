"""FID, KID and precision/recall against closed forms and known cases (no extractor involved: features in)."""

from __future__ import annotations

import math

import pytest
import torch

from zoo.metrics.suite import MetricSuite


def exact_gaussian_sample(n: int, mean: torch.Tensor, cov: torch.Tensor, seed: int) -> torch.Tensor:
    """n points whose sample mean and (n-1)-normalized covariance are exactly ``mean`` and ``cov``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(mean), generator=g, dtype=torch.float64)
    x = x - x.mean(0)
    whiten = torch.linalg.cholesky(x.T @ x / (n - 1))
    x = torch.linalg.solve_triangular(whiten, x.T, upper=False).T  # identity sample covariance
    return x @ torch.linalg.cholesky(cov).T + mean


def fid_of(real: torch.Tensor, fake: torch.Tensor) -> float:
    suite = MetricSuite(["fid"], real.shape[1], 2)
    suite.update_real(real)
    suite.update_fake(fake, torch.zeros(len(fake), 2))
    return suite.compute()["fid"]


def test_frechet_distance_of_gaussians_matches_closed_form():
    # Sigma_i = Q diag(lambda_i) Q^T commute, so FID = |mu1 - mu2|^2 + sum_k (sqrt(l1_k) - sqrt(l2_k))^2
    d = 8
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    l1 = torch.linspace(0.5, 4.0, d, dtype=torch.float64)
    l2 = torch.linspace(3.0, 0.2, d, dtype=torch.float64)
    mu1 = torch.randn(d, generator=g, dtype=torch.float64)
    mu2 = mu1 + torch.linspace(-1, 1, d, dtype=torch.float64)
    cov1, cov2 = q @ torch.diag(l1) @ q.T, q @ torch.diag(l2) @ q.T
    expected = float((mu1 - mu2).square().sum() + (l1.sqrt() - l2.sqrt()).square().sum())
    real = exact_gaussian_sample(400, mu1, cov1, seed=1)
    fake = exact_gaussian_sample(300, mu2, cov2, seed=2)
    assert fid_of(real, fake) == pytest.approx(expected, abs=1e-4)
    assert expected > 5  # the case is not degenerate


def test_frechet_distance_non_commuting_covariances_matches_matrix_sqrt():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    d = 5
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(d, d, generator=g, dtype=torch.float64), torch.randn(d, d, generator=g, dtype=torch.float64)
    cov1, cov2 = a @ a.T + 0.5 * torch.eye(d), b @ b.T + 0.5 * torch.eye(d)
    mu1, mu2 = torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
    root = scipy_linalg.sqrtm(cov1.numpy() @ cov2.numpy()).real
    expected = float(d + cov1.trace() + cov2.trace() - 2 * root.trace())
    real = exact_gaussian_sample(200, mu1, cov1, seed=4)
    fake = exact_gaussian_sample(200, mu2, cov2, seed=5)
    assert fid_of(real, fake) == pytest.approx(expected, abs=1e-4)


def test_fid_of_a_set_against_itself_is_zero():
    x = torch.randn(500, 32, generator=torch.Generator().manual_seed(0)) * 3 + 1
    assert abs(fid_of(x, x)) < 1e-6
    assert fid_of(x, x + 0.1) == pytest.approx(32 * 0.01, rel=1e-6)  # a pure mean shift


def kid_of(real: torch.Tensor, fake: torch.Tensor, subsets: int = 30, size: int = 300) -> tuple[float, float]:
    suite = MetricSuite(["kid"], real.shape[1], 2, kid_subsets=subsets, kid_subset_size=size, seed=0)
    suite.update_real(real)
    suite.update_fake(fake, torch.zeros(len(fake), 2))
    out = suite.compute()
    return out["kid"], out["kid_std"]


def test_kid_unbiased_near_zero_for_one_distribution_positive_for_shifted():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(600, 16, generator=g), torch.randn(600, 16, generator=g)
    same, same_std = kid_of(x, y)
    shifted, _ = kid_of(x, y + 0.5)
    # unbiased: the mean over subsets is within a few standard errors of 0 (a biased estimator is > 0)
    assert abs(same) < 4 * same_std / math.sqrt(30) + 1e-4
    assert shifted > 0.05
    assert shifted > 50 * abs(same)


def pr_of(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    suite = MetricSuite(["pr"], real.shape[1], 2)
    suite.update_real(real)
    suite.update_fake(fake, torch.zeros(len(fake), 2))
    out = suite.compute()
    return out["precision"], out["recall"]


def test_precision_recall_known_cases_and_not_swapped():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(8, 4, generator=g) * 10
    real = centers[torch.arange(800) % 8] + torch.randn(800, 4, generator=g)
    assert pr_of(real, real) == (1.0, 1.0)
    assert pr_of(real, real + 100.0) == (0.0, 0.0)
    # mode collapse onto 2 of 8 modes: every fake is realistic (precision ~1), most real modes are missed
    collapsed = centers[torch.arange(400) % 2] + torch.randn(400, 4, generator=g)
    precision, recall = pr_of(real, collapsed)
    assert precision > 0.9
    assert recall < 0.35
