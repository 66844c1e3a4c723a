"""BEGAN: Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative Adversarial Networks", 2017
(arXiv 1703.10717).

The discriminator is an autoencoder D: R^Nx -> R^Nx (``zoo.nets.autoencoder``); its loss on a sample v is
L(v) = |v - D(v)|^eta (Section 3.1), here averaged over pixels and over the batch. Section 3.4, per training step t:

    L_D = L(x) - k_t L(G(z_D))                             for theta_D
    L_G = L(G(z_G))                                        for theta_G
    k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z_G)))      kept in [0, 1], k_0 = 0

and the convergence measure M_global = L(x) + |gamma L(x) - L(G(z_G))| (Section 3.4.1), logged every step
(``train/m_global``) with k_{t+1} (``train/k``). gamma = E[L(G(z))] / E[L(x)] is the diversity ratio (Section 3.3).

Order of updates (the zoo's noise -> image contract, ``NoiseToImageGAN``). One step t: (1) the D update on L_D with
a real batch x, fakes G(z_D) made under no_grad, and k_t; (2) the G update on L_G with fresh z_G, scored by the
just-updated D; (3) then, after both updates, k_{t+1} from L(x) of step (1) and L(G(z_G)) of step (2), the values
each update minimized (computed before its own ``step()``), and M_global from the same two numbers. k_t is a
constant in L_D (no gradient) and absent from L_G. With ``n_critic > 1`` k moves once per generator update, with
L(x) of the last D update; with accumulation, L(x) and L(G(z_G)) are the means over the accumulated batches; under
DDP they are averaged over ranks first, so every rank holds the same k. k is a registered buffer (``k``): it is in
every checkpoint and ``state_dict``, so resuming continues with the saved k_t exactly.

Paper defaults: eta = 1 (|.|, our mean absolute error; the paper allows eta in {1, 2}); lambda_k = 0.001 and k_0 = 0
(Section 3.4); gamma = 0.5, the middle of the range 0.3-0.7 the paper shows samples for (lower gamma: sharper, less
diverse images); z ~ U[-1, 1]^Nz with N_z = N_h = 64 (Sections 3.5 and 4.1: ``latent_dim``, ``code_dim``); Adam with
learning rate 1e-4, the top of the paper's range [5e-5, 1e-4] (Section 4.1); no batch norm in D (Section 3.5:
``d_norm="none"``); one D update per G update.

Departures from the paper:
* G is the zoo's generator (DCGAN by default, ``nets="infogan"``, or an MLP for vectors) with its tanh output,
  not a copy of D's decoder architecture ("we made this choice only for simplicity", Section 3.5).
* The updates are sequential (D, then G against the updated D, then k), where the paper writes the two gradient
  steps of one t side by side; z_D and z_G are independent draws, as the paper's notation has it.
* No learning-rate decay "by a factor of 2 when the measure of convergence stalls" (Section 4.1): attach a
  scheduler (``make_schedulers``) and watch ``train/m_global`` if wanted.
* Adam's betas are not given by the paper: Adam's own defaults (0.9, 0.999).

compare_gan's BEGAN (Lucic et al. 2018, ``compare_gan/src/gans/BEGAN.py``; ``configs/began/fashion_mnist_lucic.yaml``)
differs in four ways, each an option: its D is an autoencoder of the InfoGAN-style parts (``nets="infogan"``,
``zoo.nets.infogan_autoencoder``); it measures L on pixels in [0, 1] (``pixel_units="zero_one"``: half the zoo's
[-1, 1] error for eta = 1); and its ``after_training_step_hook`` moves k after *every* D update, from L(x) and
L(G(z_D)) re-evaluated by the updated nets on that step's real batch and z_D, after the G update on steps that have
one (``k_update="critic_step"``; both nets in training mode, so G's batch-norm statistics see that pass too, as in
compare_gan). With n_critic = 5 that moves k five times as often as once per G update. And compare_gan does not clip
k (its ``update_k`` adds lambda_k (gamma L(x) - L(G(z))) with no bounds): ``clip_k=False``. A negative k makes D lower
the reconstruction error of the fakes too (L_D = L(x) + |k| L(G(z_D))).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo import losses
from zoo.losses_autoencoding import pixelwise_reconstruction_loss
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.nets.autoencoder import build_autoencoder
from zoo.pixel_units import check_pixel_units, to_units
from zoo.registry import register_variant
from zoo.validation import require_at_least, require_choice

#: ``k_update`` choices: once per G update (the paper's step t) or after every D update (compare_gan)
K_UPDATES = ("generator_step", "critic_step")


@register_variant
class BEGAN(NoiseToImageGAN):
    """Boundary Equilibrium GAN (Berthelot et al. 2017): autoencoder D, equilibrium control k_t.

    Args:
        gamma: diversity ratio gamma in [0, 1] (the paper: 0.3-0.7).
        lambda_k: proportional gain lambda_k of k (the "learning rate for k").
        eta: target norm of L(v) = |v - D(v)|^eta, 1 or 2.
        code_dim: N_h, size of the autoencoder's embedding h.
        pixel_units: where L(v) is measured: ``data`` (the data as given: the zoo's images in [-1, 1]) or
            ``zero_one`` (pixels mapped to [0, 1] first, compare_gan's units: half the error for eta = 1).
        k_update: when k moves: ``generator_step`` (the paper's step t: once per G update, from the values the
            two updates minimized) or ``critic_step`` (compare_gan's ``after_training_step_hook``: after every D
            update, and after the G update on steps that have one, from L(x) and L(G(z_D)) re-evaluated by the
            updated nets on that step's real batch and z_D, both nets in training mode).
        clip_k: keep k in [0, 1] after every move (the paper, Section 3.4); ``False``: k is unbounded, as in
            compare_gan (Lucic et al. 2018), and may go negative.
        **kwargs: ``NoiseToImageGAN``'s (latent_dim, n_critic, nets, latent_distribution, width, norms, optimizer).
    """

    def __init__(
        self,
        gamma: float = 0.5,
        lambda_k: float = 0.001,
        eta: int = 1,
        code_dim: int = 64,
        pixel_units: str = "data",
        k_update: str = "generator_step",
        clip_k: bool = True,
        latent_dim: int = 64,
        latent_distribution: str = "uniform",
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        d_norm: str = "none",
        **kwargs: Any,
    ) -> None:
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1] (the diversity ratio, Section 3.3), got {gamma!r}; try 0.5.")
        if not lambda_k >= 0.0:
            raise ValueError(f"lambda_k must be >= 0 (the gain of k), got {lambda_k!r}; the paper uses 0.001.")
        require_choice("eta", eta, (1, 2))
        require_at_least("code_dim", code_dim, 1, "The autoencoder needs a code of at least one dimension.")
        check_pixel_units(pixel_units)
        require_choice("k_update", k_update, K_UPDATES)
        if not isinstance(clip_k, bool):
            raise ValueError(f"clip_k must be True or False, got {clip_k!r}; True keeps k in [0, 1] as the paper does.")
        super().__init__(
            latent_dim=latent_dim, latent_distribution=latent_distribution, lr=lr, betas=betas, d_norm=d_norm, **kwargs
        )
        self.register_buffer("k", torch.zeros(()))  # k_0 = 0 (Section 3.4); a buffer, so checkpoints carry k_t
        self._real_losses: list[Tensor] = []  # L(x) of the current D update (one per accumulated batch)
        self._fake_losses: list[Tensor] = []  # L(G(z_G)) of the current G update
        self._critic_inputs: list[tuple[Tensor, Tensor]] = []  # (x, z_D) of the current D update (critic_step)
        self._k_due = False  # critic_step: a D update finished in this training step

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        generator, _ = super().make_networks(image_shape)  # the zoo's generator for this shape
        hp = self.hparams
        return generator, build_autoencoder(image_shape, hp.code_dim, hp.width, hp.d_norm, hp.get("nets", "dcgan"))

    def autoencoder_loss(self, v: Tensor) -> Tensor:
        """L(v) = |v - D(v)|^eta, averaged over pixels and batch (Section 3.1), in ``pixel_units``."""
        units = self.hparams.get("pixel_units", "data")  # zero_one: compare_gan's L, on pixels in [0, 1]
        reconstruction = self.discriminator(v)
        return pixelwise_reconstruction_loss(to_units(v, units), to_units(reconstruction, units), self.hparams.eta)

    # ----------------------------------------------------------------- Section 3.4
    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        real_loss, fake_loss = self.autoencoder_loss(real), self.autoencoder_loss(fake)  # L(x), L(G(z_D))
        first, _ = self.accumulation_window()
        if first:
            self._real_losses = []
        self._real_losses.append(real_loss.detach())
        loss = losses.began_d(real_loss, fake_loss, self.k)  # L_D = L(x) - k_t L(G(z_D))
        return {"loss": loss, "recon_real": real_loss.detach(), "recon_fake": fake_loss.detach()}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        fake_loss = self.autoencoder_loss(self.generate(batch_size))  # L_G = L(G(z_G)), fresh z_G, updated D
        self._fake_losses.append(fake_loss.detach())
        return {"loss": fake_loss}

    def generator_update(self, opt_g: Any, batch_size: int) -> None:
        self._fake_losses = []
        super().generator_update(opt_g, batch_size)
        if self.k_moves_per_critic_step:
            return
        self.equilibrium_update(torch.stack(self._real_losses).mean(), torch.stack(self._fake_losses).mean())

    # ------------------------------------------------------- k_update="critic_step" (compare_gan)
    @property
    def k_moves_per_critic_step(self) -> bool:
        return self.hparams.get("k_update", "generator_step") == "critic_step"

    def critic_loss(self, real: Tensor) -> dict[str, Tensor]:
        if not self.k_moves_per_critic_step:
            return super().critic_loss(real)
        fake = self.fake_batch(len(real))
        first, _ = self.accumulation_window()
        if first:
            self._critic_inputs = []
        self._critic_inputs.append((real, self._critic_z))  # z_D, kept for the re-evaluation after the step
        return self.discriminator_loss(real, fake)

    def after_discriminator_step(self) -> None:
        super().after_discriminator_step()
        self._k_due = self.k_moves_per_critic_step

    def training_step(self, batch: Any, batch_idx: int) -> None:
        super().training_step(batch, batch_idx)
        if self._k_due:  # after the D update and, on steps that have one, the G update
            self._k_due = False
            with torch.no_grad():
                real_loss = torch.stack([self.autoencoder_loss(x) for x, _ in self._critic_inputs]).mean()
                fake_loss = torch.stack([self.autoencoder_loss(self.generator(z)) for _, z in self._critic_inputs])
            self.equilibrium_update(real_loss, fake_loss.mean())

    # ------------------------------------------------------------------------------------------------
    def equilibrium_update(self, real_loss: Tensor, fake_loss: Tensor) -> None:
        """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (no clip with ``clip_k=False``) from this
        step's L(x) and L(G(z)) (averaged over ranks first); logs k_{t+1} and
        M_global = L(x) + |gamma L(x) - L(G(z))|."""
        hp = self.hparams
        real_loss = self._mean_over_ranks(real_loss)
        fake_loss = self._mean_over_ranks(fake_loss)
        clip = hp.get("clip_k", True)
        self.k.copy_(losses.began_k_update(self.k, real_loss, fake_loss, hp.gamma, hp.lambda_k, clip))
        logged = {
            "train/k": self.k.detach().clone(),
            "train/m_global": losses.began_convergence(real_loss, fake_loss, hp.gamma),
        }
        self.log_terms(logged)

    def _mean_over_ranks(self, value: Tensor) -> Tensor:
        trainer = self._trainer
        if trainer is None or trainer.world_size == 1:
            return value
        return trainer.strategy.reduce(value, reduce_op="mean")
