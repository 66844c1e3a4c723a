"""Data-limited Fashion-MNIST: ``subset=N`` is a seeded, class-balanced subset of the train split."""

from __future__ import annotations

import pytest
import torch

from datamodules import FashionMNISTData
from datamodules.subset import balanced_subset


def train_split(fashion_dir, **kwargs):
    return FashionMNISTData(data_dir=str(fashion_dir), batch_size=8, **kwargs).split("train")


def test_subset_is_class_balanced_and_drawn_from_the_train_split(fashion_dir):
    full_images, full_labels = train_split(fashion_dir)
    images, labels = train_split(fashion_dir, subset=100)
    assert len(images) == 100
    assert torch.bincount(labels, minlength=10).tolist() == [10] * 10
    rows = {tuple(img.flatten().tolist()) for img in full_images}
    assert all(tuple(img.flatten().tolist()) in rows for img in images)
    test_images, _ = FashionMNISTData(data_dir=str(fashion_dir), subset=100).split("test")
    assert len(test_images) == 64  # the test split is never cut


def test_subset_is_seeded_and_independent_of_the_batch_seed(fashion_dir):
    a, _ = train_split(fashion_dir, subset=50, subset_seed=1)
    b, _ = train_split(fashion_dir, subset=50, subset_seed=1, seed=7)
    c, _ = train_split(fashion_dir, subset=50, subset_seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_the_train_loader_serves_only_the_subset(fashion_dir):
    data = FashionMNISTData(data_dir=str(fashion_dir), batch_size=10, subset=50)
    data.setup("fit")
    assert sum(len(batch[0]) for batch in data.train_dataloader()) == 50


@pytest.mark.parametrize("n", [0, -10, 15, 7])
def test_bad_sizes_are_refused_with_the_fix(n):
    with pytest.raises(ValueError, match="positive multiple of the 10 classes"):
        FashionMNISTData(subset=n)


@pytest.mark.parametrize("n", [12.5, "100", True])
def test_non_integers_are_refused(n):
    with pytest.raises(TypeError, match="subset must be an int"):
        FashionMNISTData(subset=n)


def test_more_than_a_class_holds_is_refused(fashion_dir):
    smallest = int(torch.bincount(train_split(fashion_dir)[1]).min())
    data = FashionMNISTData(data_dir=str(fashion_dir), subset=10 * (smallest + 1))
    with pytest.raises(ValueError, match=f"smallest class has {smallest}"):
        data.split("train")


def test_balanced_subset_indices():
    labels = torch.arange(40) % 4
    keep = balanced_subset(labels, 8, seed=0)
    assert torch.equal(keep, keep.sort().values) and len(set(keep.tolist())) == 8
    assert torch.bincount(labels[keep]).tolist() == [2, 2, 2, 2]
