"""lightning-gan-zoo: GAN variants as Lightning modules sharing nets, losses and metric callbacks."""

from zoo.models import FGAN, GAN, LSGAN, WGAN, WGANGP, AdversarialModule, HingeGAN
from zoo.registry import get_variant, list_variants

__version__ = "0.1.0"
__all__ = ["GAN", "AdversarialModule", "get_variant", "list_variants", "FGAN", "HingeGAN", "LSGAN", "WGAN", "WGANGP"]
