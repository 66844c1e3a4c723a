"""GAN: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv 1406.2661).

Implements Algorithm 1 on the value function of eq. (1),

    min_G max_D V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))],

with D(x) = sigmoid(score). ``objective="minimax"`` descends eq. (1) for G as written;
``objective="non_saturating"`` (the default) maximizes log D(G(z)) instead, as Section 3 recommends
because log(1 - D(G(z))) saturates early in training. For a fixed G the optimal discriminator is
D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1), where V = -log 4 + 2 JSD(p_data || p_g)
(Theorem 1).

Paper defaults: k = 1 discriminator step per generator step (Algorithm 1, "k = 1, the least expensive
option"). The paper used SGD with momentum and MLP/maxout nets; for image nets we follow DCGAN
(Radford et al. 2016, Section 4): Adam(lr = 2e-4, betas = (0.5, 0.999)), batch norm.
Departures from the paper: the DCGAN optimizer and nets above for images.
"""

from __future__ import annotations

from torch import Tensor

from zoo import losses
from zoo.models.generator_objective import GoodfellowObjective
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant


@register_variant
class GAN(GoodfellowObjective, NoiseToImageGAN):
    """The original GAN (Goodfellow et al. 2014), minimax or non-saturating generator objective."""

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        # Algorithm 1: fake = G(z) for a fresh noise minibatch
        # ascend log D(x) + log(1 - D(G(z))), i.e. descend -V(D, G) of eq. (1)
        return {"loss": losses.minimax_d(self.discriminator(real), self.discriminator(fake))}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        # Algorithm 1, generator update: fresh z, scores from the just-updated D
        return {"loss": self.generator_objective(self.discriminator(self.generate(batch_size)))}
