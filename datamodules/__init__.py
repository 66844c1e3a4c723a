"""Datamodules: images as float (C, H, W) in [-1, 1]; ``image_shape`` and ``num_classes`` known up front."""

from datamodules.base import InMemoryData
from datamodules.fashion_mnist import FashionMNISTData
from datamodules.gaussian_mixture import GaussianMixtureData, mixture_centers
from datamodules.in_memory import InMemoryBatches
from datamodules.mnist import MNISTData

__all__ = [
    "FashionMNISTData",
    "GaussianMixtureData",
    "InMemoryBatches",
    "InMemoryData",
    "MNISTData",
    "mixture_centers",
]
