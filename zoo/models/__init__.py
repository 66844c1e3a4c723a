"""Variants, one paper per module. Importing this package registers them all."""

from zoo.models.base import AdversarialModule
from zoo.models.cyclegan import CycleGAN
from zoo.models.gan import GAN
from zoo.models.vaegan import VAEGAN

__all__ = ["GAN", "AdversarialModule", "CycleGAN", "VAEGAN"]
