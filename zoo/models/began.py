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
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo import losses
from zoo.losses_autoencoding import pixelwise_reconstruction_loss
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.nets.autoencoder import build_autoencoder
from zoo.registry import register_variant
from zoo.validation import require_at_least, require_choice


@register_variant
class BEGAN(NoiseToImageGAN):
    """Boundary Equilibrium GAN (Berthelot et al. 2017): autoencoder D, equilibrium control k_t.

    Args:
        gamma: diversity ratio gamma in [0, 1] (the paper: 0.3-0.7).
        lambda_k: proportional gain lambda_k of k (the "learning rate for k").
        eta: target norm of L(v) = |v - D(v)|^eta, 1 or 2.
        code_dim: N_h, size of the autoencoder's embedding h.
        **kwargs: ``NoiseToImageGAN``'s (latent_dim, n_critic, nets, latent_distribution, width, norms, optimizer).
    """

    def __init__(
        self,
        gamma: float = 0.5,
        lambda_k: float = 0.001,
        eta: int = 1,
        code_dim: int = 64,
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
        super().__init__(
            latent_dim=latent_dim, latent_distribution=latent_distribution, lr=lr, betas=betas, d_norm=d_norm, **kwargs
        )
        self.register_buffer("k", torch.zeros(()))  # k_0 = 0 (Section 3.4); a buffer, so checkpoints carry k_t
        self._real_losses: list[Tensor] = []  # L(x) of the current D update (one per accumulated batch)
        self._fake_losses: list[Tensor] = []  # L(G(z_G)) of the current G update

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        generator, _ = super().make_networks(image_shape)  # the zoo's generator for this shape
        hp = self.hparams
        return generator, build_autoencoder(image_shape, hp.code_dim, hp.width, hp.d_norm)

    def autoencoder_loss(self, v: Tensor) -> Tensor:
        """L(v) = |v - D(v)|^eta, averaged over pixels and batch (Section 3.1)."""
        return pixelwise_reconstruction_loss(v, self.discriminator(v), self.hparams.eta)

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
        self.equilibrium_update()

    def equilibrium_update(self) -> None:
        """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1) after the D and G updates of step t; logs
        k_{t+1} and M_global = L(x) + |gamma L(x) - L(G(z_G))|."""
        hp = self.hparams
        real_loss = self._mean_over_ranks(torch.stack(self._real_losses).mean())
        fake_loss = self._mean_over_ranks(torch.stack(self._fake_losses).mean())
        self.k.copy_(losses.began_k_update(self.k, real_loss, fake_loss, hp.gamma, hp.lambda_k))
        logged = {
            "train/k": self.k.detach().clone(),
            "train/m_global": losses.began_convergence(real_loss, fake_loss, hp.gamma),
        }
        self.last_losses.update(logged)
        self.log_dict(logged, on_step=True, on_epoch=False)

    def _mean_over_ranks(self, value: Tensor) -> Tensor:
        trainer = self._trainer
        if trainer is None or trainer.world_size == 1:
            return value
        return trainer.strategy.reduce(value, reduce_op="mean")
