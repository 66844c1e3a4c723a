"""Datamodules: images as float (C, H, W) in [-1, 1]; ``image_shape`` and ``num_classes`` known up front."""

from datamodules.base import ImageDataModule, InMemoryData
from datamodules.batches import InMemoryBatches
from datamodules.celeba import CelebAData
from datamodules.cifar10 import CIFAR10Data
from datamodules.fashion_mnist import FashionMNISTData
from datamodules.fashion_pair import FashionMNISTPairData
from datamodules.gaussian_mixture import GaussianMixtureData, mixture_centers
from datamodules.mnist import MNISTData
from datamodules.unpaired import UnpairedImageData

__all__ = [
    "CelebAData",
    "CIFAR10Data",
    "FashionMNISTPairData",
    "FashionMNISTData",
    "GaussianMixtureData",
    "ImageDataModule",
    "InMemoryBatches",
    "InMemoryData",
    "MNISTData",
    "UnpairedImageData",
    "mixture_centers",
]
