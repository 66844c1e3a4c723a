"""``NoiseToImageGAN``: the "noise -> image, one G, one D, n_critic" contract of GAN, WGAN, WGAN-GP, LSGAN,
f-GAN and hinge GAN.

A variant chooses its parts (nets, objective, regularizer, optimizer settings, critic steps) by implementing
``discriminator_loss(real, fake)`` and ``generator_loss(batch_size)``; this class runs the schedule of
Goodfellow et al. 2014, Algorithm 1 (with k = n_critic) and Arjovsky et al. 2017, Algorithm 1:

* one ``training_step`` = one critic update on one fresh real batch and a fake batch G(z) of as many fresh
  z ~ N(0, I), made here once under ``torch.no_grad()`` (no graph into G) and handed to ``discriminator_loss``;
  ``after_discriminator_step`` runs after the critic's ``step()`` (WGAN clips weights there);
* after every ``n_critic``-th critic update, one generator update on ``generator_loss``, which draws its own
  fresh z and is scored by the just-updated critic (``generator_z="critic"``: it reuses the z of the critic
  update just before it, as Lucic et al. 2018's compare_gan does for every model but WGAN-GP;
  ``compare_gan/src/gans/abstract_gan.py``, ``run_single_train_step``);
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

#: ``generator_z`` choices: fresh z for every generator update, or the last critic update's z (compare_gan)
GENERATOR_Z = ("fresh", "critic")


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
        generator_z: the z of a generator update: ``fresh`` draws (default) or the ``critic`` update's (the z of
            the last critic update before it, compare_gan). Variants whose critic update makes its fakes another
            way (conditional ones) take ``fresh`` only; so does gradient accumulation.
        **kwargs: ``AdversarialModule``'s (image_shape, width, norms, optimizer settings, clipping, ...).
    """

    def __init__(
        self,
        latent_dim: int = 100,
        n_critic: int = 1,
        nets: str = "dcgan",
        latent_distribution: str = "normal",
        generator_z: str = "fresh",
        **kwargs: Any,
    ) -> None:
        require_latent_dim(latent_dim)
        require_choice("generator_z", generator_z, GENERATOR_Z)
        if generator_z == "critic" and kwargs.get("accumulate_grad_batches", 1) != 1:
            raise ValueError(
                "generator_z='critic' reuses one critic batch's z, which gradient accumulation does not have; "
                "use accumulate_grad_batches=1 or generator_z='fresh'."
            )
        require_at_least("n_critic", n_critic, 1, "Use n_critic=1 to alternate one D and one G update.")
        require_choice("nets", nets, IMAGE_NETS)
        require_choice("latent_distribution", latent_distribution, LATENT_DISTRIBUTIONS)
        super().__init__(**kwargs)
        self._critic_z: Tensor | None = None  # the z of the last critic update's fakes
        self._reused_z: Tensor | None = None  # generator_z="critic": the z ``generate`` returns G of, in a G update

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
        """G(z) for n fresh z, made under ``torch.no_grad()``: the critic's fakes carry no graph into G. The z
        is kept (``generator_z="critic"``, BEGAN's k re-evaluation)."""
        self._critic_z = self.sample_z(n)
        with torch.no_grad():
            return self.generator(self._critic_z)

    def generate(self, n: int) -> Tensor:
        """G(z) for n fresh z; inside a generator update with ``generator_z="critic"``, G of the critic's z."""
        if self._reused_z is None:
            return super().generate(n)
        if len(self._reused_z) != n:
            raise ValueError(f"generator_z='critic': the critic update drew {len(self._reused_z)} z, not {n}.")
        return self.generator(self._reused_z)

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
        if self.hparams.get("generator_z", "fresh") == "critic":
            if self._critic_z is None:
                raise RuntimeError(
                    f"generator_z='critic': {type(self).__name__}'s critic update made no fakes through fake_batch, "
                    "so there is no z to reuse; use generator_z='fresh'."
                )
            self._reused_z = self._critic_z
        try:
            for i in range(accumulate):
                last = i == accumulate - 1
                g_out = self.optimizer_update(opt_g, lambda: self.generator_loss(batch_size), i == 0, last)
        finally:
            self._reused_z = None
        self.count_generator_update()
        self.log_losses("g", g_out)
