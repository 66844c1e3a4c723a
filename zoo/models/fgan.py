"""f-GAN: Nowozin, Cseke & Tomioka, "f-GAN: Training Generative Neural Samplers using Variational
Divergence Minimization", NeurIPS 2016 (arXiv 1606.00709).

The discriminator outputs a raw score V(x); T = g_f(V) with the divergence's output activation (Table 2).
D ascends the saddle objective of eq. (6),

    F(theta, omega) = E_{x~P}[g_f(V(x))] - E_{x~Q_theta}[f*(g_f(V(x)))],

a variational lower bound on D_f(P || Q_theta) (eq. 4); G descends F (``generator_update="saddle"``) or
maximizes E_Q[g_f(V(G(z)))] instead (``"alternative"``, the default: Section 4, "practical
considerations", the f-GAN analogue of the non-saturating GAN loss). Divergences (``divergence=``):
kl, reverse_kl, pearson, neyman, squared_hellinger, js, gan, total_variation (Tables 1 and 2; see
``zoo.losses.F_DIVERGENCES``).

Paper defaults: Adam with lr = 2e-4, beta1 = 0.5 as in DCGAN, which the paper's image experiments follow.
Departures from the paper: the paper's single-step gradient method (Algorithm 1) updates D and G
simultaneously from one minibatch; we alternate one D update and one G update (fresh z, D already
updated), the ``NoiseToImageGAN`` schedule with n_critic = 1.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from zoo import losses
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant
from zoo.validation import require_choice


@register_variant
class FGAN(NoiseToImageGAN):
    """f-GAN for any divergence of Nowozin et al. Tables 1-2 (``divergence="kl"`` by default)."""

    def __init__(
        self,
        divergence: str = "kl",
        generator_update: str = "alternative",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        div = losses.f_divergence(divergence)
        require_choice("f-GAN generator update", generator_update, losses.FGAN_GENERATOR_UPDATES)
        super().__init__(lr=lr, betas=betas, n_critic=n_critic, **kwargs)
        self.divergence = div

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        loss = losses.fgan_d(self.divergence, self.discriminator(real), self.discriminator(fake))  # -F, eq. (6)
        return {"loss": loss, "divergence_estimate": -loss.detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        scores = self.discriminator(self.generate(batch_size))
        return {"loss": losses.fgan_g(self.divergence, scores, self.hparams.generator_update)}
