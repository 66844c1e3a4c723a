"""``LatentPrior``: a generator G(z) fed from the prior z ~ N(0, I), the part shared by the noise -> image
GANs (``NoiseToImageGAN``) and VAE-GAN's decoder (p(z) = N(0, I), Larsen et al. 2016, Section 2.1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo import nets
from zoo.sampling import require_count
from zoo.validation import require_at_least

#: the priors p(z) a generator can be fed from: N(0, I) (the zoo's default) or U[-1, 1]^d (Lucic et al. 2018)
LATENT_DISTRIBUTIONS = ("normal", "uniform")


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
        return nets.build_pair(image_shape, hp.latent_dim, hp.width, hp.g_norm, hp.d_norm, hp.get("nets", "dcgan"))

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent codes z ~ N(0, I) (or U[-1, 1]^d with ``latent_distribution="uniform"``) on the module's
        device (``generator`` seeds them reproducibly)."""
        n = require_count("n", n)
        device = generator.device if generator is not None else self.device
        shape = (n, self.hparams.latent_dim)
        if self.hparams.get("latent_distribution", "normal") == "uniform":
            z = torch.rand(shape, generator=generator, device=device) * 2 - 1
        else:
            z = torch.randn(shape, generator=generator, device=device)
        return z.to(self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def generate(self, n: int) -> Tensor:
        """n samples G(z) with fresh z (gradients flow unless the caller disables them); n: a positive int."""
        return self.generator(self.sample_z(n))
