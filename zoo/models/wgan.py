"""WGAN: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017 (arXiv 1701.07875).

Implements Algorithm 1: the critic f_w ascends E_x[f_w(x)] - E_z[f_w(G(z))] (the Kantorovich-Rubinstein
estimate of W1, eq. 3) for n_critic steps, its weights clipped to [-c, c] after every step (line 7);
then the generator descends -E_z[f_w(G(z))] (line 10).

Paper defaults (Algorithm 1): alpha = 5e-5, c = 0.01, m = 64, n_critic = 5, RMSProp (the paper reports
that momentum-based optimizers such as Adam made training unstable). The DCGAN critic keeps batch norm, as in the paper.
Departures from the paper: none in the update rule. As in the paper's code, every critic parameter
(normalization scales included) is clipped; the reference code's extra 100 critic steps during the first 25
generator iterations and every 500th are not used (``NoiseToImageGAN`` keeps a fixed n_critic schedule).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant
from zoo.validation import require_positive


@register_variant
class WGAN(NoiseToImageGAN):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017, Algorithm 1)."""

    def __init__(
        self,
        clip_value: float = 0.01,
        n_critic: int = 5,
        lr: float = 5e-5,
        optimizer: str = "rmsprop",
        **kwargs: Any,
    ) -> None:
        require_positive("clip_value", clip_value, "Weight clipping needs c > 0; the paper uses c = 0.01.")
        super().__init__(n_critic=n_critic, lr=lr, optimizer=optimizer, **kwargs)

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        # line 4: fake = G(z), z ~ p(z)
        loss = losses.wasserstein_d(self.discriminator(real), self.discriminator(fake))  # line 5: g_w
        return {"loss": loss, "wasserstein": -loss.detach()}

    def after_discriminator_step(self) -> None:
        regularizers.clip_weights_(self.discriminator, self.hparams.clip_value)  # line 7: clip(w, -c, c)

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": losses.wasserstein_g(self.discriminator(self.generate(batch_size)))}  # line 10: g_theta
