"""EBGAN: Zhao, Mathieu & LeCun, "Energy-based Generative Adversarial Network", ICLR 2017 (arXiv 1609.03126).

The discriminator is an energy function, built as an autoencoder (Section 2.3, eq. 13; ``zoo.nets.autoencoder``):

    D(x) = ||Dec(Enc(x)) - x||                                                    (eq. 13)

and the two losses of Section 2.1, given a positive margin m, a real sample x and a generated sample G(z):

    L_D(x, z) = D(x) + [m - D(G(z))]^+                                            (eq. 1)
    L_G(z)    = D(G(z)) + lambda_PT f_PT(S)                                        (eq. 2, EBGAN-PT)

with the pulling-away term of Section 2.4 on the encoder codes S = Enc(G(z)) of the generated batch,

    f_PT(S) = 1 / (N (N - 1)) sum_i sum_{j != i} (S_i^T S_j / (||S_i|| ||S_j||))^2   (eq. 14)

"used in the generator loss but not in the discriminator loss, where a weight of 0.1 is associated with it"
(Section 2.4; ``pt_weight=0`` is plain EBGAN). Every term is averaged over the batch; the hinge is taken per fake
sample, the margin applies to fakes only. The schedule is the zoo's noise -> image contract (``NoiseToImageGAN``):
one D update on a real batch and fakes made under no_grad, then one G update on fresh z scored (energy and codes
from one pass through D) by the just-updated D.

Paper defaults: m = 10, "the margin is set to 10 throughout all experiments of EBGANs" in the MNIST grid search
(Section 4.1, restriction iii); Adam with learning rate 0.001 for both G and D (Section 4.1, restriction i);
lambda_PT = 0.1 (Section 2.4); z ~ N(0, I) (Section 2: "for instance N(0, 1)"). The energy is eq. 13 as printed,
the Euclidean norm of the sample's reconstruction error over all its entries (``energy="norm"``): m = 10 is on that
scale (a 28x28 sample reconstructed with a root-mean-square pixel error of 0.36 has energy 10). ``energy="mse"``
uses the per-sample mean squared error instead, as many reimplementations do; on [-1, 1] images it is at most 4, so
pass a margin below that.

Departures from the paper:
* D is the zoo's convolutional autoencoder (BEGAN's architecture, shared with ``BEGAN``) for images, and an MLP
  autoencoder for vectors, not the fully connected nets of the MNIST grid (Section 4.1, Table 1); G is the zoo's
  generator (DCGAN by default). The code S is the autoencoder's embedding h (``code_dim``; 128, the smallest
  encoder width of Table 1, is not a paper value for this net).
* Adam's betas are not given by the paper: Adam's own defaults (0.9, 0.999). No dropout in D (a grid option).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from zoo import losses
from zoo.losses_autoencoding import RECONSTRUCTION_ENERGIES, pulling_away_term, reconstruction_energy
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.nets.autoencoder import build_autoencoder
from zoo.registry import register_variant
from zoo.validation import require_at_least, require_choice, require_positive


@register_variant
class EBGAN(NoiseToImageGAN):
    """Energy-based GAN (Zhao et al. 2017) with an autoencoder discriminator and the pulling-away term (EBGAN-PT).

    Args:
        margin: m of eq. (1), on the scale of the chosen ``energy``.
        pt_weight: lambda_PT, weight of the pulling-away term in G's loss (0: plain EBGAN).
        energy: ``norm`` (eq. 13, ||Dec(Enc(x)) - x||) or ``mse`` (per-sample mean squared error).
        code_dim: size of the encoder's code S.
        **kwargs: ``NoiseToImageGAN``'s (latent_dim, n_critic, nets, latent_distribution, width, norms, optimizer).
    """

    def __init__(
        self,
        margin: float = 10.0,
        pt_weight: float = 0.1,
        energy: str = "norm",
        code_dim: int = 128,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        d_norm: str = "none",
        **kwargs: Any,
    ) -> None:
        require_positive("margin", margin, "EBGAN's margin m is positive (eq. 1); the paper uses m = 10.")
        if not pt_weight >= 0.0:
            raise ValueError(f"pt_weight (lambda_PT) must be >= 0, got {pt_weight!r}; the paper uses 0.1.")
        require_choice("energy", energy, RECONSTRUCTION_ENERGIES)
        require_at_least("code_dim", code_dim, 1, "The autoencoder needs a code of at least one dimension.")
        super().__init__(lr=lr, betas=betas, d_norm=d_norm, **kwargs)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        generator, _ = super().make_networks(image_shape)  # the zoo's generator for this shape
        hp = self.hparams
        return generator, build_autoencoder(image_shape, hp.code_dim, hp.width, hp.d_norm, hp.get("nets", "dcgan"))

    def energy(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(D(x), S): the energy of every sample (eq. 13) and its code S = Enc(x), from one pass through D."""
        reconstruction, code = self.discriminator(x, return_code=True)
        return reconstruction_energy(x, reconstruction, self.hparams.energy), code

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        real_energy, _ = self.energy(real)  # D(x)
        fake_energy, _ = self.energy(fake)  # D(G(z)), fake made under no_grad
        loss = losses.energy_margin_d(real_energy, fake_energy, self.hparams.margin)  # eq. (1); no PT here
        return {"loss": loss, "energy_real": real_energy.mean().detach(), "energy_fake": fake_energy.mean().detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        fake_energy, codes = self.energy(self.generate(batch_size))  # fresh z, the just-updated D
        pt = pulling_away_term(codes)  # eq. (14) on S = Enc(G(z))
        loss = losses.energy_g(fake_energy) + self.hparams.pt_weight * pt  # eq. (2) + lambda_PT f_PT
        return {"loss": loss, "energy_gen": fake_energy.mean().detach(), "pt": pt.detach()}
