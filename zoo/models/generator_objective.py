"""``GoodfellowObjective``: the generator objective choice of Goodfellow et al. 2014 and the DCGAN optimizer
defaults, shared by the variants whose D is a sigmoid classifier trained on eq. (1) (GAN, cGAN, AC-GAN).

``objective="minimax"`` descends eq. (1)'s E log(1 - D(G(z))) for G as written; ``objective="non_saturating"``
(the default) descends -E log D(G(z)), as Section 3 of the paper recommends because the minimax term saturates
early in training (``zoo.losses.generator_objective``). Adam(2e-4, (0.5, 0.999)) and one D update per G update
are Radford et al. 2016's settings and Algorithm 1's k = 1.
"""

from __future__ import annotations

from typing import Any

from zoo import losses


class GoodfellowObjective:
    """Mixin placed before the variant's base class: ``class GAN(GoodfellowObjective, NoiseToImageGAN)``."""

    def __init__(
        self,
        objective: str = "non_saturating",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        generator_objective = losses.generator_objective(objective)  # refuses an unknown name before building
        super().__init__(lr=lr, betas=betas, n_critic=n_critic, **kwargs)
        self.generator_objective = generator_objective
