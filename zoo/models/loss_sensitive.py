"""Loss-Sensitive GAN (LS-GAN in the paper; not Mao et al.'s least squares ``LSGAN``): Qi, "Loss-Sensitive
Generative Adversarial Networks on Lipschitz Densities" (arXiv 1701.06264, 2017).

A loss function L_theta(x) >= 0 is learned so that a real x has a smaller loss than a generated G(z) by at least
a data-dependent margin Delta(x, G(z)), the L1 distance between them: L_theta(x) <= L_theta(G(z)) - Delta(x, G(z)),
with slack. Algorithm 1 alternates

    loss function:  descend S(theta) = E_i L(x_i) + lambda E_i (Delta(x_i, G(z_i)) + L(x_i) - L(G(z_i)))_+
    generator:      descend T(phi) = E_i L(G_phi(z'_i))    (fresh z'; L = L_theta)

on minibatches of matched pairs (x_i, G(z_i)). In the zoo's convention the discriminator returns a score,
higher = more real, and L_theta(x) = max(0, -score(x)) (the reference code, guojunq/lsgan ``lsgan.lua``,
ends its loss net with a ReLU).

What we implement (``losses.loss_sensitive_d`` / ``loss_sensitive_g``):

* Delta(x, G(z)) = tau * ||x - G(z)||_1, summed over all pixels of the matched pair; tau = 2e-4, the reference
  code's margin scale for 3x64x64 images in [-1, 1] (its option ``lambda``, which its comment calls tau).
* The loss function descends S / lambda = E hinge + E L(x) / lambda: the same minimizer as S, the reference
  code's form (hinge + gamma E L(x), gamma = 1 / lambda), and it admits its unconditional default gamma = 0,
  i.e. lambda = inf (``hinge_weight``), the limit in which the paper's analysis makes P_G* match P_data.
* Lipschitz regularization: weight decay on the loss function's parameters, which the paper adopts in its
  experiments (it names a penalty on ||grad_x L_theta(x)|| as the alternative); gamma_wd = 5e-5 (the value in
  the reference code's comment; its default is 0), added as gamma_wd / 2 ||theta||^2 to the loss.
* Adam(lr = 1e-4, beta1 = 0.5, beta2 = 0.999) for both nets and one loss-function step per generator step, as the
  reference code.

Departures from the paper: S is descended as S / lambda (same minimizer; with SGD the step is 1 / lambda as
large, Adam is nearly scale-free). From the reference code: it also decays the generator's weights and reuses the
loss-function step's fake batch for the generator step; we decay the loss function only and draw fresh z'
(Algorithm 1).

Note: max(0, -score) passes no gradient where a sample scores >= 0, so if every fake does (e.g. nearly identical
fakes at initialization) neither net is updated by the objective. The reference loss net has batch norm, which
centres each batch's scores; we keep the zoo's default ``d_norm="batch"`` for that reason.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant
from zoo.validation import require_positive


@register_variant
class LossSensitiveGAN(NoiseToImageGAN):
    """Loss-sensitive GAN (Qi 2017, Algorithm 1).

    Args:
        hinge_weight: lambda, the weight of the margin hinge against E L(x) (``inf``: the hinge alone).
        margin_scale: tau in Delta(x, G(z)) = tau ||x - G(z)||_1.
        weight_decay: the loss function's weight decay gamma_wd (0 disables it).
    """

    def __init__(
        self,
        hinge_weight: float = math.inf,
        margin_scale: float = 2e-4,
        weight_decay: float = 5e-5,
        n_critic: int = 1,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        **kwargs: Any,
    ) -> None:
        require_positive("hinge_weight", hinge_weight, "lambda weighs the hinge; inf uses the hinge alone.")
        require_positive("margin_scale", margin_scale, "the reference code scales the L1 margin by 2e-4.")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}; 0 disables it.")
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, **kwargs)

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        hp = self.hparams
        margins = losses.l1_margin(real, fake, hp.margin_scale)  # Delta(x_i, G(z_i)), matched pairs
        real_scores, fake_scores = self.discriminator(real), self.discriminator(fake)
        objective = losses.loss_sensitive_d(real_scores, fake_scores, margins, hp.hinge_weight)  # S / lambda
        decay = regularizers.weight_decay_penalty(self.discriminator)  # Lipschitz regularization of L_theta
        return {"loss": objective + hp.weight_decay * decay, "margin": margins.mean()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": losses.loss_sensitive_g(self.discriminator(self.generate(batch_size)))}  # T(phi)
