"""lightning-gan-zoo: GAN variants as Lightning modules sharing nets, losses and metric callbacks."""

from zoo.models import FGAN, GAN, LSGAN, VAEGAN, WGAN, WGANGP, AdversarialModule, CycleGAN, HingeGAN
from zoo.registry import get_variant, list_variants
from zoo.strategies import GANDDPStrategy

__version__ = "0.1.0"
__all__ = [
    "GAN",
    "WGAN",
    "WGANGP",
    "LSGAN",
    "FGAN",
    "HingeGAN",
    "VAEGAN",
    "CycleGAN",
    "AdversarialModule",
    "GANDDPStrategy",
    "get_variant",
    "list_variants",
]
