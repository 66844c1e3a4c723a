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

compare_gan's DRAGAN (Lucic et al. 2018, ``compare_gan/src/gans/DRAGAN.py`` lines 86-96;
``configs/dragan/fashion_mnist_lucic.yaml``) takes the same points but penalizes another function, each an
option here: the gradient of the probability sigmoid(D(x^)), not of the logit (``penalty_on="probability"``), with
respect to pixels in [0, 1] (``pixel_units="zero_one"``: twice the gradient with respect to the zoo's [-1, 1]
pixels; the perturbation, 0.5 std of the batch, scales with the units, so the points are the same images), and with
the norm taken as sqrt(1e-4 + sum g^2) (``norm_epsilon=1e-4``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.pixel_units import check_pixel_units, function_of_units, to_units
from zoo.registry import register_variant
from zoo.validation import require_choice, require_positive

#: ``penalty_on`` choices: the gradient of D's logit (the zoo) or of sigmoid(D) (compare_gan)
PENALIZED = ("logit", "probability")


@register_variant
class DRAGAN(NoiseToImageGAN):
    """GAN objective + gradient penalty at perturbed real points (Kodali et al. 2017).

    Args:
        gp_weight: lambda, the penalty's weight (paper: 10).
        perturbation_scale: x_p = x + scale * std(x) * U[0, 1) (reference code: 0.5).
        objective: the generator's objective, ``non_saturating`` (reference code) or ``minimax``.
        penalty_on: the function whose input gradient is penalized: ``logit`` (D's raw score) or ``probability``
            (sigmoid(D), compare_gan).
        pixel_units: the gradient with respect to the data as given (``data``) or to pixels in [0, 1]
            (``zero_one``, compare_gan).
        norm_epsilon: the norm as sqrt(norm_epsilon + sum g^2) (compare_gan: 1e-4; 0: the plain 2-norm).
    """

    def __init__(
        self,
        gp_weight: float = 10.0,
        perturbation_scale: float = 0.5,
        objective: str = "non_saturating",
        penalty_on: str = "logit",
        pixel_units: str = "data",
        norm_epsilon: float = 0.0,
        n_critic: int = 1,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.9),
        **kwargs: Any,
    ) -> None:
        if not gp_weight >= 0:
            raise ValueError(f"gp_weight (lambda) must be >= 0, got {gp_weight!r}; the paper uses lambda = 10.")
        require_positive("perturbation_scale", perturbation_scale, "The reference code perturbs by 0.5 std(x).")
        require_choice("penalty_on", penalty_on, PENALIZED)
        check_pixel_units(pixel_units)
        if not norm_epsilon >= 0:
            raise ValueError(f"norm_epsilon must be >= 0, got {norm_epsilon!r}; compare_gan uses 1e-4, the paper 0.")
        generator_objective = losses.generator_objective(objective)
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, **kwargs)
        self.generator_objective = generator_objective

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        game = losses.minimax_d(self.discriminator(real), self.discriminator(fake))  # -V(D, G), eq. (1)
        gp = self.penalty(real)
        return {"loss": game + self.hparams.gp_weight * gp, "gp": gp.detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": self.generator_objective(self.discriminator(self.generate(batch_size)))}  # no penalty

    def penalty(self, real: Tensor) -> Tensor:
        """E[(||grad f(x^)|| - 1)^2] at x^ near the reals, f per ``penalty_on`` and ``pixel_units``."""
        hp = self.hparams
        critic = self.discriminator
        if hp.get("penalty_on", "logit") == "probability":
            critic = _probability_of(critic)
        units = hp.get("pixel_units", "data")
        return regularizers.dragan_penalty(
            function_of_units(critic, units),
            to_units(real, units),
            hp.perturbation_scale,
            epsilon=hp.get("norm_epsilon", 0.0),
        )


def _probability_of(discriminator: Any) -> Any:
    """x -> sigmoid(D(x)), D's probability that x is real."""
    return lambda x: torch.sigmoid(discriminator(x))
