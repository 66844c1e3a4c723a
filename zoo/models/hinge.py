"""Hinge GAN: Lim & Ye, "Geometric GAN" (arXiv 1705.02894, 2017), in the form of Miyato et al.,
"Spectral Normalization for Generative Adversarial Networks", ICLR 2018 (arXiv 1802.05957), eq. (16)-(17).

Hinge is offered as its own variant (one objective, one file) rather than as an option of another
class: D descends E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] (the negated V_D of eq. 16, the SVM margin
loss of Lim & Ye), G descends -E[D(G(z))] (eq. 17).

Paper defaults: Miyato et al.'s setting C of Table 1, Adam(alpha = 2e-4, beta1 = 0.5, beta2 = 0.999) with
n_dis = 1, the setting used for their standard-CNN comparisons.
Departures from the paper: no spectral normalization here (SNGAN adds it to the discriminator's layers);
the zoo's DCGAN discriminator keeps its ``d_norm`` (batch norm by default).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from zoo import losses
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant


@register_variant
class HingeGAN(NoiseToImageGAN):
    """GAN trained with the hinge objective (Lim & Ye 2017; Miyato et al. 2018, eq. 16-17)."""

    def __init__(
        self,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(lr=lr, betas=betas, n_critic=n_critic, **kwargs)

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        return {"loss": losses.hinge_d(self.discriminator(real), self.discriminator(fake))}  # eq. (16)

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": losses.hinge_g(self.discriminator(self.generate(batch_size)))}  # eq. (17)
