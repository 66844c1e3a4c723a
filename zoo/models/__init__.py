"""Variants, one paper per module. Importing this package registers them all (in this order) and the
``gan_ddp`` strategy they train with on several devices.

``AdversarialModule`` (``base``) holds the manual-optimization mechanics every variant builds on;
``NoiseToImageGAN`` (``noise_to_image``) is the "noise -> image, one G, one D, n_critic" contract of GAN,
WGAN, WGAN-GP, LSGAN, f-GAN and hinge GAN, and (``ConditionalNoiseToImageGAN``, ``conditional``, in its
class-conditional form) of cGAN, ACGAN and the projection discriminator GAN; VAE-GAN and CycleGAN build on the
mechanics with their own step."""

import zoo.strategies  # noqa: F401  (registers Trainer(strategy="gan_ddp"))
from zoo import MODEL_EXPORTS
from zoo.models.acgan import ACGAN as ACGAN
from zoo.models.base import AdversarialModule as AdversarialModule
from zoo.models.began import BEGAN as BEGAN
from zoo.models.cgan import CGAN as CGAN
from zoo.models.cyclegan import CycleGAN as CycleGAN
from zoo.models.dragan import DRAGAN as DRAGAN
from zoo.models.ebgan import EBGAN as EBGAN
from zoo.models.fgan import FGAN as FGAN
from zoo.models.gan import GAN as GAN
from zoo.models.hinge import HingeGAN as HingeGAN
from zoo.models.infogan import InfoGAN as InfoGAN
from zoo.models.loss_sensitive import LossSensitiveGAN as LossSensitiveGAN
from zoo.models.lsgan import LSGAN as LSGAN
from zoo.models.noise_to_image import NoiseToImageGAN as NoiseToImageGAN
from zoo.models.projection_gan import ProjectionGAN as ProjectionGAN
from zoo.models.sngan import SNGAN as SNGAN
from zoo.models.vaegan import VAEGAN as VAEGAN
from zoo.models.wgan import WGAN as WGAN
from zoo.models.wgan_gp import WGANGP as WGANGP

__all__ = list(MODEL_EXPORTS)
