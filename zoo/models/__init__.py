"""Variants, one paper per module. Importing this package registers them all."""

from zoo.models.base import AdversarialModule
from zoo.models.fgan import FGAN
from zoo.models.gan import GAN
from zoo.models.hinge import HingeGAN
from zoo.models.lsgan import LSGAN
from zoo.models.wgan import WGAN
from zoo.models.wgan_gp import WGANGP

__all__ = ["FGAN", "GAN", "LSGAN", "WGAN", "WGANGP", "AdversarialModule", "HingeGAN"]
