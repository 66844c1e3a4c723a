"""Fixtures of the metric tests: the real Fashion-MNIST data (Debian's files), the shipped domain extractor,
tiny generators. Sample counts stay small (hundreds) so the whole folder runs in about a minute on 2 cores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from zoo.metrics.extractors import FashionDomainExtractor

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, torch.get_num_threads()))


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
