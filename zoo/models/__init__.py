"""Variants, one paper per module. Importing this package registers them all (in this order) and the
``gan_ddp`` strategy they train with on several devices."""

import zoo.strategies  # noqa: F401  (registers Trainer(strategy="gan_ddp"))
from zoo.models.base import AdversarialModule
from zoo.models.cyclegan import CycleGAN
from zoo.models.fgan import FGAN
from zoo.models.gan import GAN
from zoo.models.hinge import HingeGAN
from zoo.models.lsgan import LSGAN
from zoo.models.vaegan import VAEGAN
from zoo.models.wgan import WGAN
from zoo.models.wgan_gp import WGANGP

__all__ = ["GAN", "WGAN", "WGANGP", "LSGAN", "FGAN", "HingeGAN", "VAEGAN", "CycleGAN", "AdversarialModule"]
