"""``benchmarks.ema_probe.recompute_batch_norm``: the recomputed running statistics are the mean and variance of the
generator's own activations over the recomputation batches, and the original generator is left untouched."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmarks.ema_probe import BN_SEED, recompute_batch_norm


class Prior:
    device = torch.device("cpu")

    def sample_z(self, n, generator=None):
        return torch.randn(n, 3, generator=generator)


def test_recomputed_statistics_are_the_moments_of_the_generators_own_activations():
    torch.manual_seed(0)
    generator = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    generator[1].running_mean.fill_(5.0)  # stale statistics, as copied from another generator
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    recomputed = recompute_batch_norm(generator, Prior(), batches=3, batch_size=8)
    rng = torch.Generator().manual_seed(BN_SEED)
    z = torch.cat([torch.randn(8, 3, generator=rng) for _ in range(3)])
    with torch.no_grad():
        h = generator[0](z).view(3, 8, 4)
    norm = recomputed[1]
    torch.testing.assert_close(norm.running_mean, h.mean(dim=1).mean(dim=0))
    torch.testing.assert_close(norm.running_var, h.var(dim=1, unbiased=True).mean(dim=0))
    assert not recomputed.training
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())


def test_a_generator_without_batch_norm_is_refused():
    with pytest.raises(ValueError, match="no batch norm"):
        recompute_batch_norm(nn.Linear(3, 4), Prior(), batches=1, batch_size=2)
