"""WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (arXiv 1704.00028).

Implements Algorithm 1: n_critic critic updates on L = D(x~) - D(x) + lambda (||grad D(x^)||_2 - 1)^2
(eq. 3) with x^ a random interpolate of a real and a fake sample (lines 4-7), then one generator update
on -D(G(z)) (line 11).

Paper defaults (Algorithm 1): lambda = 10, n_critic = 5, Adam(alpha = 1e-4, beta1 = 0, beta2 = 0.9).
No batch norm in the critic (Section 4, "No critic batch normalization"): batch norm makes each output
depend on the whole batch, while the penalty constrains the gradient of each output w.r.t. its own
input; the paper recommends layer normalization, which is our default ``d_norm="layer"``.
Departures from the paper: none.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant

BATCH_NORM_REASON = (
    "batch norm is not allowed in a WGAN-GP critic (Gulrajani et al. 2017, Section 4): it changes the critic's "
    "problem from mapping a single input to a single output to mapping a whole batch of inputs to a batch of "
    "outputs, and the gradient penalty, taken w.r.t. each input independently, is then no longer valid. "
    "Use d_norm='layer' (the paper's recommendation) or d_norm='none'."
)


@register_variant
class WGANGP(NoiseToImageGAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1)."""

    def __init__(
        self,
        gp_weight: float = 10.0,
        n_critic: int = 5,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        d_norm: str = "layer",
        **kwargs: Any,
    ) -> None:
        if not gp_weight >= 0:
            raise ValueError(f"gp_weight (lambda) must be >= 0, got {gp_weight!r}; the paper uses lambda = 10.")
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, d_norm=d_norm, **kwargs)

    def check_networks(self) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules()):
            raise ValueError(BATCH_NORM_REASON)

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        # line 5: fake = x~ = G(z)
        critic = losses.wasserstein_d(self.discriminator(real), self.discriminator(fake))  # line 7, first terms
        gp = regularizers.gradient_penalty(self.discriminator, real, fake)  # lines 6-7, eq. (3)
        return {"loss": critic + self.hparams.gp_weight * gp, "gp": gp.detach(), "wasserstein": -critic.detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": losses.wasserstein_g(self.discriminator(self.generate(batch_size)))}  # line 11
