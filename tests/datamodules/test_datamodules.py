"""Datamodules: offline Fashion-MNIST files, MNIST through torchvision's path, toy mixtures, bad input."""

from __future__ import annotations

import pytest
import torch

from datamodules import FashionMNISTData, GaussianMixtureData, MNISTData, mixture_centers
from datamodules.idx import read_idx, write_idx
from tests.conftest import make_images, write_idx_dataset


def test_fashion_reads_gzipped_idx_and_serves_unit_range(fashion_dir):
    dm = FashionMNISTData(data_dir=str(fashion_dir), batch_size=32)
    assert dm.image_shape == (1, 28, 28) and dm.num_classes == 10  # known before setup
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (32, 1, 28, 28)
    x, y = dm.on_after_batch_transfer((images, labels), 0)
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    expected, _ = make_images(256, 0)
    assert torch.equal(dm.split("train")[0][:, 0], expected)


@pytest.mark.parametrize("size", [32, 64])
def test_fashion_image_size(fashion_dir, size):
    dm = FashionMNISTData(data_dir=str(fashion_dir), image_size=size)
    assert dm.image_shape == (1, size, size)
    assert dm.real_samples("test", 4).shape == (4, 1, size, size)


def test_missing_fashion_files_name_the_fix(tmp_path):
    dm = FashionMNISTData(data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist.*data_dir"):
        dm.setup("fit")


def test_truncated_idx_is_named(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, torch.zeros(4, 28, 28, dtype=torch.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_batch_size_larger_than_data_is_refused(fashion_dir):
    dm = FashionMNISTData(data_dir=str(fashion_dir), batch_size=1000)
    dm.setup("fit")
    with pytest.raises(ValueError, match="batch_size=1000 is larger than the 256 samples"):
        dm.train_dataloader()


def test_mnist_uses_torchvision_raw_layout(tmp_path):
    write_idx_dataset(tmp_path / "MNIST" / "raw", 128, 32, gz=False)
    dm = MNISTData(data_dir=str(tmp_path), download=False, batch_size=16)
    dm.prepare_data()
    dm.setup("fit")
    images, labels = dm.split("train")
    assert images.shape == (128, 1, 28, 28) and labels.shape == (128,)
    assert torch.equal(images[:, 0], make_images(128, 0)[0])


def test_mnist_missing_without_download_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        MNISTData(data_dir=str(tmp_path), download=False).prepare_data()


@pytest.mark.parametrize("layout, modes", [("ring", 8), ("grid", 25)])
def test_gaussian_mixture_is_seeded_and_centered(layout, modes):
    dm = GaussianMixtureData(layout=layout, num_samples=4000, seed=3)
    points, labels = dm.split("train")
    again = GaussianMixtureData(layout=layout, num_samples=4000, seed=3).split("train")[0]
    assert torch.equal(points, again)
    centers = mixture_centers(layout)
    assert len(centers) == modes == dm.num_classes
    offsets = points - centers[labels]
    assert offsets.std().item() == pytest.approx(dm.std, rel=0.05)
    assert labels.bincount(minlength=modes).min() > 4000 / modes * 0.7


def test_unknown_layout_lists_valid():
    with pytest.raises(ValueError, match="'ring', 'grid'"):
        GaussianMixtureData(layout="spiral")
