"""Variants, one paper per module. Importing this package registers them all."""

from zoo.models.base import AdversarialModule
from zoo.models.gan import GAN

__all__ = ["GAN", "AdversarialModule"]
