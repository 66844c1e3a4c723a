"""lightning-gan-zoo: GAN variants as Lightning modules sharing nets, losses and metric callbacks."""

from zoo.models import GAN, VAEGAN, AdversarialModule, CycleGAN
from zoo.registry import get_variant, list_variants
from zoo.strategies import GANDDPStrategy

__version__ = "0.1.0"
__all__ = ["GAN", "VAEGAN", "AdversarialModule", "CycleGAN", "GANDDPStrategy", "get_variant", "list_variants"]
