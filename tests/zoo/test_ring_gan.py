"""Behaviour: the original GAN learns the 2-D ring of 8 (Metz et al. 2017 setup) within a small step budget."""

from __future__ import annotations

import lightning as L
import torch

from datamodules import GaussianMixtureData
from tests.conftest import tiny_trainer
from zoo import GAN


def covered_modes(model: GAN, data: GaussianMixtureData, n: int = 2000) -> int:
    """Modes hit by at least one sample within 3 std of its nearest center (VEEGAN, Section 5.1)."""
    with torch.no_grad():
        samples = model.generator(model.sample_z(n, generator=torch.Generator().manual_seed(0)))
    distance, nearest = torch.cdist(samples, data.centers).min(dim=1)
    return len(nearest[distance < 3 * data.std].unique())


def test_gan_covers_more_ring_modes_than_at_init(tmp_path):
    """Budget: 500 D + 500 G steps, batch 256, MLP 3x128, z in R^2, Adam 1e-3 (about 10 s on one CPU core)."""
    L.seed_everything(0)
    data = GaussianMixtureData("ring", num_samples=20_000, batch_size=256)
    model = GAN(image_shape=(2,), latent_dim=2, width=128, lr=1e-3, g_norm="none", d_norm="none")
    before = covered_modes(model, data)
    tiny_trainer(tmp_path, max_steps=1000).fit(model, data)
    after = covered_modes(model, data)
    assert before <= 1
    assert after >= 3, f"covered {after} of 8 modes after training (at init: {before})"
