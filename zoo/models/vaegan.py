"""VAE-GAN: Larsen et al., "Autoencoding beyond pixels using a learned similarity metric", ICML 2016
(arXiv 1512.09300).

Implements Algorithm 1 ("Training the VAE/GAN model"). Three nets: the encoder Enc (``encoder``,
``zoo.nets.vae.VAEEncoder``), the decoder Dec, which is also the GAN generator (``generator``,
``DCGANGenerator``), and the discriminator Dis (``discriminator``, ``DCGANDiscriminator``). Per minibatch X:

    Z ~ Enc(X) = q(Z | X) (reparameterized);       L_prior = KL(q(Z | X) || p(Z))
    X~ = Dec(Z);                                   L_llike^{Dis_l} = -E_q[log p(Dis_l(X) | Z)]
    Z_p ~ N(0, I), X_p = Dec(Z_p);                 L_GAN = log Dis(X) + log(1 - Dis(X~)) + log(1 - Dis(X_p))
    theta_Enc <- -grad(L_prior + L_llike)    theta_Dec <- -grad(gamma L_llike - L_GAN)    theta_Dis <- -grad(L_GAN)

The update lines of the box are consistent when L_GAN is read as the discriminator's loss, the binary
cross-entropy -[log Dis(X) + log(1 - Dis(X~)) + log(1 - Dis(X_p))]: Dis descends it, Dec ascends it (fools Dis).

with p(Dis_l(X) | Z) = N(Dis_l(X) | Dis_l(X~), I) (Section 2.3) on the features of the l-th convolutional block of Dis
(``feature_layer``; default: D's last conv block, the deepest features below the score head). As in
Section 2.3 ("limiting error signals to relevant networks"), Enc never sees L_GAN, Dis never sees L_llike,
and gamma weights L_llike against L_GAN for Dec only. Three optimizers (listed Dec, Dis, Enc); every iteration
updates Dis, then Enc, then Dec.

Paper defaults: RMSProp with learning rate 3e-4 (Section 4), batch norm in all three nets, samples from both
q(Z | X) and p(Z) for the GAN (Section 2.3). Losses come from ``zoo.losses`` (``minimax_d``, the generator
objectives) and ``zoo.losses_autoencoding`` (``kl_normal``, ``gaussian_nll``).

Departures from the paper:
* DCGAN nets (4x4 kernels, 28/32/64 px, ``zoo.nets``) instead of the paper's 5x5-kernel 64 px nets.
* Dec's adversarial term is the non-saturating -log Dis(X~) - log Dis(X_p) by default (``objective``;
  ``"minimax"`` descends log(1 - Dis(.)) as Algorithm 1 reads).
* gamma = 1e-2 by default: with L_llike summed over the feature map it is of the order of
  hundreds, and gamma sets how much Dec listens to it rather than to L_GAN; the paper tunes gamma.
* The three updates run in sequence on one X, one reparameterization noise and one Z_p: Dis, then Enc, then
  Dec, each recomputing its forward pass with the earlier updates applied (Algorithm 1 applies all three
  gradients at once; the zoo's GANs likewise update G against the just-updated D).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from zoo import losses
from zoo.losses_autoencoding import gaussian_nll, kl_normal, reparameterize
from zoo.models.base import AdversarialModule
from zoo.models.latent_prior import LatentPrior, require_latent_dim
from zoo.nets.vae import VAEEncoder
from zoo.registry import register_variant
from zoo.sampling import eval_mode
from zoo.validation import require_at_least, require_positive

#: how many real training images the model keeps to draw input/reconstruction pairs in sample grids
GRID_EXAMPLES = 32


@register_variant
class VAEGAN(LatentPrior, AdversarialModule):
    """VAE/GAN (Larsen et al. 2016): encoder + decoder/generator + discriminator, three optimizers.

    Args:
        gamma: weight of L_llike in the decoder's loss (Algorithm 1).
        feature_layer: which conv block of Dis gives Dis_l (1 = first; ``None`` = the last one).
        objective: decoder's adversarial term, ``non_saturating`` or ``minimax`` (``zoo.losses``).
        optimizer, lr, betas: RMSProp(lr=3e-4) as the paper; ``lr_d`` for Dis, ``lr_e`` for Enc (default lr).
        latent_dim: size of Z; the prior is p(Z) = N(0, I) (``LatentPrior``: ``sample_z``, ``generate`` = Dec(Z_p)).
        **kwargs: ``AdversarialModule``'s (image_shape, width, norms, clipping, accumulation).
    """

    def __init__(
        self,
        gamma: float = 1e-2,
        feature_layer: int | None = None,
        objective: str = "non_saturating",
        optimizer: str = "rmsprop",
        lr: float = 3e-4,
        lr_e: float | None = None,
        latent_dim: int = 100,
        **kwargs: Any,
    ) -> None:
        require_latent_dim(latent_dim)
        require_positive("gamma", gamma, "gamma weights L_llike against L_GAN in the decoder's loss, e.g. 1e-2.")
        if feature_layer is not None:
            require_at_least("feature_layer", feature_layer, 1, "Use None for D's last conv block.")
        if lr_e is not None:
            require_positive("lr_e", lr_e, "Pass a positive learning rate, or None to reuse lr.")
        decoder_objective = losses.generator_objective(objective)
        super().__init__(optimizer=optimizer, lr=lr, **kwargs)
        self.decoder_objective = decoder_objective
        self._grid_inputs: Tensor | None = None

    # ------------------------------------------------------------------ nets
    def build_networks(self, image_shape: Any) -> None:
        super().build_networks(image_shape)  # decoder (= generator) and discriminator, DCGAN
        hp = self.hparams
        if len(self.image_shape) != 3:
            raise ValueError(f"VAE-GAN models images (C, H, W); got image_shape={self.image_shape}.")
        self.encoder = VAEEncoder(self.image_shape, hp.latent_dim, width=hp.width, norm=hp.g_norm)
        blocks = self.feature_blocks()
        if hp.feature_layer is not None and hp.feature_layer > blocks:
            raise ValueError(
                f"feature_layer={hp.feature_layer} but the discriminator for {self.image_shape} has {blocks} conv "
                f"blocks; pick 1..{blocks} (None = {blocks})."
            )

    def feature_blocks(self) -> int:
        """Number of conv blocks (each ending in a LeakyReLU) in the discriminator's feature extractor."""
        return sum(isinstance(m, nn.LeakyReLU) for m in self.discriminator.features)

    @property
    def feature_layer(self) -> int:
        """l of Dis_l (1-based conv block of the discriminator)."""
        return self.hparams.feature_layer or self.feature_blocks()

    # ------------------------------------------------------------- the model
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of q(z | x)."""
        return self.encoder(x)

    def reconstruct(self, x: Tensor, sample: bool = False) -> Tensor:
        """Dec(z) for z the posterior mean (or a posterior sample with ``sample=True``)."""
        mu, logvar = self.encode(x)
        return self.generator(reparameterize(mu, logvar) if sample else mu)

    def dis_features(self, x: Tensor) -> Tensor:
        """Dis_l(x): the output of the discriminator's l-th conv block (after its activation)."""
        if tuple(x.shape[1:]) != self.discriminator.image_shape:
            raise ValueError(f"discriminator built for images {self.discriminator.image_shape} got {tuple(x.shape)}.")
        remaining = self.feature_layer
        for module in self.discriminator.features:
            x = module(x)
            if isinstance(module, nn.LeakyReLU):
                remaining -= 1
                if remaining == 0:
                    return x
        raise AssertionError("unreachable: feature_layer is validated against the discriminator")

    def feature_reconstruction_loss(self, x: Tensor, x_tilde: Tensor) -> Tensor:
        """L_llike^{Dis_l}: -log N(Dis_l(x) | Dis_l(x~), I), both through Dis in one batch."""
        real_features, recon_features = self.dis_features(torch.cat([x, x_tilde])).chunk(2)
        return gaussian_nll(real_features, recon_features)

    # ------------------------------------------------------------ the losses
    def discriminator_loss(self, x: Tensor, noise: Tensor, z_p: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            x_tilde = self.generator(reparameterize(*self.encode(x), noise))  # X~ = Dec(Enc(X))
            x_p = self.generator(z_p)  # X_p = Dec(Z_p)
        real, recon, prior = self.discriminator(x), self.discriminator(x_tilde), self.discriminator(x_p)
        # -L_GAN = -log Dis(X) - log(1 - Dis(X~)) - log(1 - Dis(X_p)); -minimax_g(s) = -E log(1 - sigmoid(s))
        loss = losses.minimax_d(real, recon) - losses.minimax_g(prior)
        return {"loss": loss, "d_real": real.mean(), "d_recon": recon.mean(), "d_prior": prior.mean()}

    def encoder_loss(self, x: Tensor, noise: Tensor) -> dict[str, Tensor]:
        mu, logvar = self.encode(x)
        x_tilde = self.generator(reparameterize(mu, logvar, noise))  # grads reach Enc through frozen Dec
        prior = kl_normal(mu, logvar)  # L_prior
        llike = self.feature_reconstruction_loss(x, x_tilde)  # L_llike^{Dis_l}
        pixel = (x_tilde.detach() - x).pow(2).mean()  # logged only: pixel-space reconstruction error
        return {"loss": prior + llike, "kl": prior, "llike": llike, "recon_mse": pixel}

    def decoder_loss(self, x: Tensor, noise: Tensor, z_p: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            z = reparameterize(*self.encode(x), noise)
        x_tilde, x_p = self.generator(z), self.generator(z_p)
        llike = self.feature_reconstruction_loss(x, x_tilde)
        # -L_GAN for Dec: fool Dis with reconstructions and with prior samples
        gan = self.decoder_objective(self.discriminator(x_tilde)) + self.decoder_objective(self.discriminator(x_p))
        return {"loss": self.hparams.gamma * llike + gan, "gan_g": gan}

    # ---------------------------------------------------------------- training
    def optimizer_parameters(self) -> list[tuple[Any, float]]:
        hp = self.hparams
        return [
            (self.generator.parameters(), hp.lr),  # theta_Dec
            (self.discriminator.parameters(), hp.lr_d or hp.lr),  # theta_Dis
            (self.encoder.parameters(), hp.lr_e or hp.lr),  # theta_Enc
        ]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x = self.real_from_batch(batch)
        self._remember_examples(x)
        opt_dec, opt_dis, opt_enc = self.optimizers()
        first, last = self.accumulation_window()
        noise = torch.randn(len(x), self.hparams.latent_dim, device=x.device)  # eps of Z = mu + sigma * eps
        z_p = self.sample_z(len(x))  # Z_p ~ p(Z)
        d_out = self.optimizer_update(opt_dis, lambda: self.discriminator_loss(x, noise, z_p), first, last)
        e_out = self.optimizer_update(opt_enc, lambda: self.encoder_loss(x, noise), first, last)
        g_out = self.optimizer_update(opt_dec, lambda: self.decoder_loss(x, noise, z_p), first, last)
        self.advance_micro_batch()
        self.log_losses("d", d_out)
        self.log_losses("e", e_out)
        self.log_losses("g", g_out)
        if not last:
            return
        self.count_discriminator_update()
        self.count_generator_update()
        self.log_update_counters()

    # ------------------------------------------------------------ sample grids
    def _remember_examples(self, x: Tensor) -> None:
        held = 0 if self._grid_inputs is None else len(self._grid_inputs)
        if held < GRID_EXAMPLES:
            new = x[: GRID_EXAMPLES - held].detach().clone()
            self._grid_inputs = new if self._grid_inputs is None else torch.cat([self._grid_inputs, new])

    def grid_images(self, n: int, generator: torch.Generator | None = None, nrow: int = 8) -> Tensor:
        """Images for ``SampleGrid``: rows of prior samples Dec(z), then rows of training inputs each followed
        by a row of their reconstructions Dec(mu(x)) (samples only when no training images were seen)."""
        rows = -(-n // nrow)
        pair_rows = (rows - rows // 2) // 2
        held = 0 if self._grid_inputs is None else len(self._grid_inputs)
        pairs = min(pair_rows * nrow, held // nrow * nrow)
        with eval_mode(self), torch.no_grad():
            samples = self.generator(self.sample_z(n - 2 * pairs, generator=generator))
            parts = [samples]
            if pairs:
                inputs = self._grid_inputs[:pairs].to(self.device)
                recon = self.reconstruct(inputs)
                for i in range(0, pairs, nrow):
                    parts += [inputs[i : i + nrow], recon[i : i + nrow]]
        return torch.cat(parts)
