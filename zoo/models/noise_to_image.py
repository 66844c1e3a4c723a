"""``NoiseToImageGAN``: the "noise -> image, one G, one D, n_critic" contract of GAN, WGAN, WGAN-GP, LSGAN,
f-GAN and hinge GAN.

A variant chooses its parts (nets, objective, regularizer, optimizer settings, critic steps) by implementing
``discriminator_loss(real, fake)`` and ``generator_loss(batch_size)``; this class runs the schedule of
Goodfellow et al. 2014, Algorithm 1 (with k = n_critic) and Arjovsky et al. 2017, Algorithm 1:

* one ``training_step`` = one critic update on one fresh real batch and a fake batch G(z) of as many fresh
  z ~ N(0, I), made here once under ``torch.no_grad()`` (no graph into G) and handed to ``discriminator_loss``;
  ``after_discriminator_step`` runs after the critic's ``step()`` (WGAN clips weights there);
* after every ``n_critic``-th critic update, one generator update on ``generator_loss``, which draws its own
  fresh z and is scored by the just-updated critic;
* with ``accumulate_grad_batches = k`` a critic update spans k real batches and the generator update
  accumulates k batches of its own.

The mechanics (toggling, backward, clipping, accumulation, counters, checkpoints, DDP) are
``AdversarialModule``'s; z ~ N(0, I), ``generate`` and the nets are ``LatentPrior``'s.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from zoo.models.base import AdversarialModule
from zoo.models.latent_prior import LATENT_DISTRIBUTIONS, LatentPrior, require_latent_dim
from zoo.nets import IMAGE_NETS
from zoo.validation import require_at_least, require_choice


class NoiseToImageGAN(LatentPrior, AdversarialModule):
    """One generator G(z), one discriminator (critic), ``n_critic`` critic updates per generator update.

    Args:
        latent_dim: size of z.
        n_critic: discriminator updates per generator update.
        nets: the image net family, ``dcgan`` (default), ``infogan`` (Lucic et al. 2018's nets) or ``sngan_cnn``
            (Miyato et al. 2018's standard CNN, Table 3; 32 or 48 px); ``width`` is unused by the last two. Vector
            data always gets MLPs.
        latent_distribution: the prior of z, ``normal`` (N(0, I), default) or ``uniform`` (U[-1, 1]^d, as
            Lucic et al. 2018 / compare_gan).
        **kwargs: ``AdversarialModule``'s (image_shape, width, norms, optimizer settings, clipping, ...).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        n_critic: int = 1,
        nets: str = "dcgan",
        latent_distribution: str = "normal",
        **kwargs: Any,
    ) -> None:
        require_latent_dim(latent_dim)
        require_at_least("n_critic", n_critic, 1, "Use n_critic=1 to alternate one D and one G update.")
        require_choice("nets", nets, IMAGE_NETS)
        require_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
        super().__init__(**kwargs)

    # -------------------------------------------------------- variant interface
    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """Loss dict for one critic update on ``real`` and ``fake`` (= G(z), no graph into G); key ``loss``
        is minimized, the rest are logged."""
        raise NotImplementedError

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        """Loss dict for one generator update on ``batch_size`` fresh samples."""
        raise NotImplementedError

    def after_discriminator_step(self) -> None:
        """Hook run after every critic ``step()`` (WGAN clips weights here)."""

    # ------------------------------------------------------------------ training
    def fake_batch(self, n: int) -> Tensor:
        """G(z) for n fresh z, made under ``torch.no_grad()``: the critic's fakes carry no graph into G."""
        with torch.no_grad():
            return self.generate(n)

    def critic_loss(self, real: Tensor) -> dict[str, Tensor]:
        """The critic update's loss: ``discriminator_loss`` on ``real`` and a fake batch of the same size."""
        return self.discriminator_loss(real, self.fake_batch(len(real)))

    def training_step(self, batch: Any, batch_idx: int) -> None:
        self.last_losses = {}
        real = self.real_from_batch(batch)
        opt_g, opt_d = self.optimizers()
        first, last = self.accumulation_window()
        d_out = self.optimizer_update(opt_d, lambda: self.critic_loss(real), first, last)
        self.advance_micro_batch()
        self.log_losses("d", d_out)
        if not last:
            return
        self.count_discriminator_update()
        self.after_discriminator_step()
        if self.d_steps % self.hparams.n_critic == 0:
            self.generator_update(opt_g, len(real))
        self.log_update_counters()

    def generator_update(self, opt_g: Any, batch_size: int) -> None:
        """One generator update, accumulated over ``accumulate_grad_batches`` batches of fresh samples."""
        accumulate = self.hparams.accumulate_grad_batches
        for i in range(accumulate):
            g_out = self.optimizer_update(opt_g, lambda: self.generator_loss(batch_size), i == 0, i == accumulate - 1)
        self.count_generator_update()
        self.log_losses("g", g_out)
