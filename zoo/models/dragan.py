"""DRAGAN: Kodali, Abernethy, Hays & Kira, "On Convergence and Stability of GANs" (arXiv 1705.07215, 2017).

The GAN game of Goodfellow et al. 2014 (eq. 1) with a gradient penalty on D in local regions around the real
data ("deep regret analytic GAN"): D descends

    -E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z)))) + lambda E_{x^}[(||grad_x D(x^)||_2 - k)^2],

and G descends the non-saturating -E log sigmoid(D(G(z))) (``objective="minimax"``: E log(1 - sigmoid(D(G(z))))).
The penalty points x^ are perturbed real samples, never real/fake interpolates. The paper writes them as
x + delta with delta ~ N_d(0, cI); we implement the perturbation of the authors' reference code
(github.com/kodalinaveen3/DRAGAN, ``DRAGAN.ipynb``):

    x_p = x + 0.5 * std(x) * u,   u ~ U[0, 1)^d per element, std over every element of the batch (ddof = 0),
    x^  = x + alpha * (x_p - x),  alpha ~ U[0, 1) per sample  (``regularizers.dragan_penalty``),

so x^ - x lies in [0, 0.5 std(x))^d elementwise. Paper defaults: lambda = 10, k = 1; the reference code's
optimizer Adam(lr = 1e-4, beta1 = 0.5, beta2 = 0.9), one D step per G step, the non-saturating G loss.

Departures from the paper: the perturbation is the reference code's (above), not the Gaussian of the paper's
formula. D keeps the zoo's ``d_norm`` (batch norm by default, as Lucic et al.'s compare_gan runs DRAGAN);
``d_norm="layer"`` or ``"none"`` makes the penalty strictly per sample.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant
from zoo.validation import require_positive


@register_variant
class DRAGAN(NoiseToImageGAN):
    """GAN objective + gradient penalty at perturbed real points (Kodali et al. 2017).

    Args:
        gp_weight: lambda, the penalty's weight (paper: 10).
        perturbation_scale: x_p = x + scale * std(x) * U[0, 1) (reference code: 0.5).
        objective: the generator's objective, ``non_saturating`` (reference code) or ``minimax``.
    """

    def __init__(
        self,
        gp_weight: float = 10.0,
        perturbation_scale: float = 0.5,
        objective: str = "non_saturating",
        n_critic: int = 1,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.9),
        **kwargs: Any,
    ) -> None:
        if not gp_weight >= 0:
            raise ValueError(f"gp_weight (lambda) must be >= 0, got {gp_weight!r}; the paper uses lambda = 10.")
        require_positive("perturbation_scale", perturbation_scale, "The reference code perturbs by 0.5 std(x).")
        generator_objective = losses.generator_objective(objective)
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, **kwargs)
        self.generator_objective = generator_objective

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        game = losses.minimax_d(self.discriminator(real), self.discriminator(fake))  # -V(D, G), eq. (1)
        gp = regularizers.dragan_penalty(self.discriminator, real, self.hparams.perturbation_scale)  # x^ near x
        return {"loss": game + self.hparams.gp_weight * gp, "gp": gp.detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": self.generator_objective(self.discriminator(self.generate(batch_size)))}  # no penalty
