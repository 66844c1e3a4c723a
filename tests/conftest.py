"""Shared fixtures: tiny on-disk datasets the tests write themselves, and tiny-trainer helpers."""

from __future__ import annotations

import os
import random
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from datamodules.idx import write_idx
from zoo.metrics.fashion_domain import FashionDomainExtractor

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(1)  # tiny nets: one thread is fastest and avoids oversubscription


@pytest.fixture(autouse=True)
def same_random_state_for_every_run():
    """Every test starts from one RNG state. torch seeds its default generator at random in each process, so a
    test that draws weights or noise without seeding would otherwise see other numbers on every run (a test on a
    tiny net can then pass or fail by chance)."""
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)


FASHION_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def make_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n 28x28 uint8 images of 10 classes: a bright class-dependent rectangle on a dark background."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = torch.randint(0, 40, (n, 28, 28), generator=g, dtype=torch.uint8)
    for i, c in enumerate(labels.tolist()):
        images[i, 4 + c : 20 + c // 2, 6 : 22 - c // 3] = 200
    return images, labels


def write_idx_dataset(root: Path, n_train: int, n_test: int, gz: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = make_images(n, seed)
        image_stem, label_stem = FASHION_STEMS[split]
        write_idx(root / (image_stem + suffix), images)
        write_idx(root / (label_stem + suffix), labels)
    return root


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Fashion-MNIST lookalike in Debian's layout: 256 train / 64 test gzipped IDX files."""
    return write_idx_dataset(tmp_path_factory.mktemp("fashion"), 256, 64)


def tiny_trainer(root: Path, **kwargs) -> L.Trainer:
    """A CPU trainer without logger, progress bar or checkpointing unless asked for."""
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        deterministic=True,
    )
    defaults.update(kwargs)
    return L.Trainer(**defaults)


# ------------------------------------------------------- the metric tests' real data and extractor
@pytest.fixture(scope="session")
def fashion() -> FashionMNISTData:
    """The real Fashion-MNIST datamodule, splits loaded once per session."""
    if not Path(DEBIAN_DIR, "t10k-images-idx3-ubyte.gz").is_file():
        # make test installs it (make setup); a missing dataset must fail loudly, not skip the extractor checks
        pytest.fail("Fashion-MNIST not installed: run 'make setup' or 'apt-get install -y dataset-fashion-mnist'.")
    data = FashionMNISTData(batch_size=16)
    data.split("train")
    data.split("test")
    return data


@pytest.fixture(scope="session")
def domain() -> FashionDomainExtractor:
    """The shipped fashion-domain extractor (its SHA-256 is checked on load)."""
    return FashionDomainExtractor()
