"""``LatentPrior``: a generator G(z) fed from the prior z ~ N(0, I), the part shared by the noise -> image
GANs (``NoiseToImageGAN``) and VAE-GAN's decoder (p(z) = N(0, I), Larsen et al. 2016, Section 2.1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo import nets
from zoo.validation import require_at_least


def require_latent_dim(latent_dim: int) -> None:
    """Raise ``ValueError`` unless z has at least one dimension."""
    require_at_least("latent_dim", latent_dim, 1, "z needs at least one dimension.")


class LatentPrior:
    """Mixin for an ``AdversarialModule`` whose ``generator`` maps z ~ N(0, I_latent_dim) to samples.

    List it before ``AdversarialModule`` among the bases; the class records ``latent_dim`` in its
    hyperparameters (check it with ``require_latent_dim``). It supplies the zoo's nets for that generator
    (``zoo.nets.build_pair``: DCGAN for images, MLP for vectors), ``sample_z``, ``forward`` = G and ``generate``.
    """

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        """Generator and discriminator for ``image_shape``. Override to change architectures."""
        hp = self.hparams
        return nets.build_pair(image_shape, hp.latent_dim, hp.width, hp.g_norm, hp.d_norm)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent codes z ~ N(0, I) on the module's device (``generator`` seeds them reproducibly)."""
        device = generator.device if generator is not None else self.device
        return torch.randn(n, self.hparams.latent_dim, generator=generator, device=device).to(self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def generate(self, n: int) -> Tensor:
        """n samples G(z) with fresh z (gradients flow unless the caller disables them)."""
        return self.generator(self.sample_z(n))
