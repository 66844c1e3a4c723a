"""Small helpers shared by the metric tests."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from zoo import GAN


def tiny_gan(seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    return GAN(image_shape=(1, 28, 28), latent_dim=16, width=8)


def tiny_trainer(root: Path, **kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
    )
    defaults.update(kwargs)
    return L.Trainer(**defaults)
