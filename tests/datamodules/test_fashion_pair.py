"""FashionMNISTPairData, the offline toy pair: disjoint domains, inversion, class choice, independent shuffles."""

from __future__ import annotations

import pytest
import torch

from datamodules import FashionMNISTPairData
from datamodules.fashion_mnist import FashionMNISTData


def test_fashion_toy_pair_domains(fashion_dir):
    data = FashionMNISTPairData(data_dir=str(fashion_dir), num_samples=100, batch_size=16)
    assert data.image_shape == (1, 28, 28)
    images_a, images_b = data.split("train")
    assert images_a.shape == images_b.shape == (100, 1, 28, 28)
    source, labels = FashionMNISTData(data_dir=str(fashion_dir)).split("train")
    assert torch.equal(images_a, source[0:200:2])  # A: even positions
    assert torch.equal(images_b, 255 - source[1:200:2])  # B: odd positions, inverted
    batches = data.train_dataloader()
    assert len(batches) == 6
    a, b = data.on_after_batch_transfer(next(iter(batches)), 0)
    assert a.shape == b.shape == (16, 1, 28, 28) and a.mean() < 0 < b.mean()
    state = batches.state_dict()
    assert state["a"]["offset"] == 1 and state["a"]["seed"] != state["b"]["seed"]  # independent shuffles

    classes = FashionMNISTPairData(data_dir=str(fashion_dir), classes_a=[7], classes_b=[9], transform_b="none")
    images_a, images_b = classes.split("train")
    sneakers = source[(labels == 7) & (torch.arange(len(labels)) % 2 == 0)]
    boots = source[(labels == 9) & (torch.arange(len(labels)) % 2 == 1)]
    n = min(len(sneakers), len(boots))
    assert n > 5 and torch.equal(images_a, sneakers[:n]) and torch.equal(images_b, boots[:n])
    assert classes.real_samples("test", 2, domain="A").shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="classes_b must list"):
        FashionMNISTPairData(classes_b=[10])
