"""LSGAN: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017 (arXiv 1611.04076).

Implements the objective of eq. (2): D descends 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] and G
descends 1/2 E[(D(G(z)) - c)^2], with the (a, b, c) coding chosen by name:

* ``coding="binary"`` (default): a = 0, b = 1, c = 1, the 0-1 coding of eq. (9) (G makes fakes "as real
  as possible");
* ``coding="pearson"``: a = -1, b = 1, c = 0, eq. (8), which satisfies b - c = 1 and b - a = 2, so that by
  Theorem 1 the generator (with D at its optimum D*, eq. 4) minimizes the Pearson chi^2 divergence
  chi^2_Pearson(p_data + p_g || 2 p_g).

The discriminator has a linear output (no sigmoid). Paper defaults: Adam with beta1 = 0.5 and DCGAN-style
nets; we use lr = 2e-4 for both nets, one D step per G step.
Departures from the paper: the paper's LSUN architecture (Fig. 3) is replaced by the zoo's DCGAN nets.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from zoo import losses
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant


@register_variant
class LSGAN(NoiseToImageGAN):
    """Least squares GAN (Mao et al. 2017) with the ``binary`` (eq. 9) or ``pearson`` (eq. 8) coding."""

    def __init__(
        self,
        coding: str = "binary",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        a, b, c = losses.least_squares_coding(coding)
        super().__init__(lr=lr, betas=betas, n_critic=n_critic, **kwargs)
        self.a, self.b, self.c = a, b, c

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        # eq. (2), D: real scores towards b, fake scores towards a
        loss = losses.least_squares_d(self.discriminator(real), self.discriminator(fake), a=self.a, b=self.b)
        return {"loss": loss}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        # eq. (2), G: fake scores towards c
        return {"loss": losses.least_squares_g(self.discriminator(self.generate(batch_size)), c=self.c)}
