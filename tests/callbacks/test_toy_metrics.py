"""Mode coverage and high-quality fraction on 2-D mixtures (Metz et al. 2017; Srivastava et al. 2017)."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from callbacks import ToyModeMetrics, mode_metrics
from datamodules import GaussianMixtureData
from tests.conftest import tiny_trainer
from zoo import GAN


def ring() -> GaussianMixtureData:
    return GaussianMixtureData(layout="ring", num_samples=512, batch_size=64)


def test_samples_of_the_mixture_cover_every_mode_with_the_chi2_fraction():
    data = GaussianMixtureData(layout="ring", num_samples=20_000, seed=3)
    samples, _ = data.split("train")
    out = mode_metrics(samples, data.centers, data.std)
    assert out["modes_covered"] == 8 and out["num_modes"] == 8
    # P(||x - mu|| <= 3 sigma) for an isotropic 2-D Gaussian = 1 - exp(-9/2) = 0.98889
    assert out["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.004)


def test_grid_layout_counts_25_modes():
    data = GaussianMixtureData(layout="grid", num_samples=5_000)
    assert mode_metrics(data.split("train")[0], data.centers, data.std)["modes_covered"] == 25


def test_collapsed_and_off_mode_samples():
    data = ring()
    centers, std = data.centers, data.std
    three = centers[[0, 3, 5]].repeat(100, 1)  # exactly on three centers
    assert mode_metrics(three, centers, std) == {"modes_covered": 3.0, "high_quality_fraction": 1.0, "num_modes": 8.0}
    origin = torch.zeros(50, 2)  # the usual initial generator: everything near 0
    assert mode_metrics(origin, centers, std)["modes_covered"] == 0
    # radial offsets just inside / outside 3 sigma of center 0 = (2, 0)
    inside = centers[:1] + torch.tensor([[2.9 * std, 0.0]])
    outside = centers[:1] + torch.tensor([[3.1 * std, 0.0]])
    assert mode_metrics(inside, centers, std)["modes_covered"] == 1
    assert mode_metrics(outside, centers, std) == {"modes_covered": 0.0, "high_quality_fraction": 0.0, "num_modes": 8.0}
    # min_samples: a mode needs that many high-quality samples
    pts = torch.cat([centers[:1].repeat(5, 1), centers[1:2].repeat(2, 1)])
    assert mode_metrics(pts, centers, std, min_samples=3)["modes_covered"] == 1
    assert mode_metrics(pts, centers, std, threshold=1.0)["high_quality_fraction"] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="share D"):
        mode_metrics(torch.zeros(4, 3), torch.zeros(8, 2), 0.02)
    with pytest.raises(ValueError, match="std"):
        mode_metrics(torch.zeros(4, 2), torch.zeros(8, 2), 0.0)


def test_callback_logs_like_any_metric(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    callback = ToyModeMetrics(every_n_steps=2, num_samples=500)
    model = GAN(latent_dim=2, width=16, g_norm="none", d_norm="none")
    trainer = tiny_trainer(tmp_path, max_steps=8, logger=CSVLogger(tmp_path), callbacks=[callback])  # 4 D + 4 G
    trainer.fit(model, ring())
    assert [step for step, _ in callback.history] == [2, 4]
    assert set(callback.history[-1][1]) == {"modes_covered", "high_quality_fraction", "num_modes"}
    assert "toy/modes_covered" in trainer.callback_metrics
    assert "toy/high_quality_fraction" in trainer.callback_metrics
    logged = (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").read_text()
    assert "toy/modes_covered" in logged and "toy/high_quality_fraction" in logged
    # the same numbers as calling the function on the generator with the callback's fixed z
    z = model.sample_z(500, generator=torch.Generator().manual_seed(callback.seed))
    with torch.no_grad():
        direct = mode_metrics(model.generator.eval()(z), trainer.datamodule.centers, trainer.datamodule.std)
    assert callback.history[-1][1] == direct


def test_callback_skips_data_without_centers(tmp_path):
    class Plain(L.LightningDataModule):
        image_shape = (2,)

        def train_dataloader(self):
            return DataLoader(TensorDataset(torch.randn(64, 2), torch.zeros(64)), batch_size=16)

    callback = ToyModeMetrics(every_n_steps=1)
    trainer = tiny_trainer(tmp_path, max_steps=4, callbacks=[callback])
    trainer.fit(GAN(latent_dim=2, width=8, g_norm="none", d_norm="none"), Plain())
    assert callback.history == [] and "toy/modes_covered" not in trainer.callback_metrics
