"""Behaviour on the 2-D ring of 8 Gaussians (radius 2, std 0.02; GaussianMixtureData(layout="ring")).

Each variant trains with the settings of its ``configs/<variant>/ring.yaml`` (MLP nets, latent_dim 2) for a
fixed budget of optimizer steps (``Trainer(max_steps=...)``, counting critic and generator updates), then
2500 samples from a fixed z are scored with ``callbacks.mode_metrics`` (a mode is covered when a sample lies
within 3 std of its center, Srivastava et al. 2017). Budgets are chosen to take seconds on a CPU:

* WGAN-GP covers >= 7 of the 8 modes after 3000 optimizer steps (2500 critic + 500 generator updates);
* every variant covers more modes after its budget than at initialization (where G maps z near the origin
  and covers none).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml

from callbacks import mode_metrics
from datamodules import GaussianMixtureData

ROOT = Path(__file__).resolve().parents[2]
GP_BUDGET = 3000  # optimizer steps: 2500 critic + 500 generator updates (n_critic = 5)
#: per variant: optimizer steps for "beats its initialization"
BUDGETS = {"wgan_gp": GP_BUDGET, "wgan": 600, "lsgan": 400, "fgan": 600, "hinge": 600}


def load_config(variant: str) -> dict:
    return yaml.safe_load((ROOT / "configs" / variant / "ring.yaml").read_text())


def build(variant: str) -> tuple[L.LightningModule, GaussianMixtureData]:
    config = load_config(variant)
    module, name = config["model"]["class_path"].rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    model = cls(image_shape=(2,), **config["model"]["init_args"])
    data_args = {**config["data"]["init_args"], "num_samples": 20_000}
    return model, GaussianMixtureData(**data_args)


def coverage(model, data: GaussianMixtureData) -> float:
    z = model.sample_z(2500, generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        samples = model.generator.eval()(z)
    model.generator.train()
    return mode_metrics(samples, data.centers, data.std)["modes_covered"]


@functools.cache
def train_on_ring(variant: str, max_steps: int) -> tuple[float, float]:
    """(modes covered at initialization, modes covered after ``max_steps`` optimizer steps)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny MLPs: one thread is fastest, and several oversubscribe a shared CPU
    try:
        L.seed_everything(0, verbose=False)
        model, data = build(variant)
        before = coverage(model, data)
        trainer = L.Trainer(
            accelerator="cpu",
            max_steps=max_steps,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, data)
        return before, coverage(model, data)
    finally:
        torch.set_num_threads(threads)


def test_wgan_gp_covers_at_least_seven_of_eight_modes():
    before, after = train_on_ring("wgan_gp", GP_BUDGET)
    print(f"wgan_gp: {before:.0f} -> {after:.0f} of 8 modes after {GP_BUDGET} steps")  # shown with pytest -s
    assert after >= 7, f"WGAN-GP covered {after} of 8 modes after {GP_BUDGET} steps"


@pytest.mark.parametrize("variant", ["wgan", "wgan_gp", "lsgan", "fgan", "hinge"])
def test_every_variant_covers_more_modes_than_at_initialization(variant):
    before, after = train_on_ring(variant, BUDGETS[variant])
    print(f"{variant}: {before:.0f} -> {after:.0f} of 8 modes after {BUDGETS[variant]} steps")  # pytest -s
    assert before < 8
    assert after > before, f"{variant}: {before} modes at initialization, {after} after {BUDGETS[variant]} steps"
