"""Datamodules: images as float (C, H, W) in [-1, 1]; ``image_shape`` and ``num_classes`` known up front."""

from datamodules.base import InMemoryData
from datamodules.celeba import CelebAData
from datamodules.fashion_mnist import FashionMNISTData
from datamodules.gaussian_mixture import GaussianMixtureData, mixture_centers
from datamodules.in_memory import InMemoryBatches
from datamodules.mnist import MNISTData
from datamodules.unpaired import FashionMNISTPairData, UnpairedImageData

__all__ = [
    "CelebAData",
    "FashionMNISTPairData",
    "FashionMNISTData",
    "GaussianMixtureData",
    "InMemoryBatches",
    "InMemoryData",
    "MNISTData",
    "UnpairedImageData",
    "mixture_centers",
]
