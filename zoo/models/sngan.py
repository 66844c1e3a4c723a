"""SN-GAN: Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial Networks",
ICLR 2018 (arXiv 1802.05957).

Every weight layer of the discriminator (dense, conv, transposed conv) is spectrally normalized,
W_SN = W / sigma(W) (eq. 8), sigma(W) = u^T W v estimated by power iteration with u, v carried over from
step to step (Algorithm 1, eqs. 20-22), the gradient taken through sigma(W) (eq. 12); the discriminator has no
batch norm. The objective is the hinge loss of eq. (16)-(17): D descends E relu(1 - D(x)) + E relu(1 + D(G(z))),
G descends -E D(G(z)).

Defaults (issue 20: the paper's standard-CNN setting): n_dis = 5 critic updates per generator update,
Adam(alpha = 2e-4, beta1 = 0, beta2 = 0.9), one power iteration. Nets: any of the zoo's families
(``nets="dcgan"``, ``"infogan"``, ``"sngan_cnn"`` for the paper's Table 3 standard CNN, MLPs for vectors), the
normalization wrapped around whatever dense / conv layers D has (``regularizers.spectral_normalize_``).

Departures from the paper: u and v are refined by ``torch.nn.utils.parametrizations.spectral_norm`` at every
forward of D in training mode (one iteration from the stored v: u <- Wv/||Wv||, v <- W^T u/||W^T u||), i.e. for
the real, the fake and the generator step's batch alike, where Algorithm 1 states one iteration per update
(v <- W^T u first); the estimate is the same fixed point. u and v start from 200 power iterations on the initial
W (``regularizers.spectral_normalize_``) rather than a random vector, so sigma(W) is accurate from the first step.
One iteration per forward lags behind fast weight changes: in the first Adam steps the wide layers of the
InfoGAN / standard-CNN discriminators reach sigma_max(W / sigma) of up to ~1.4 before the estimate catches up
(``n_power_iterations`` > 1 tightens it).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from zoo import losses, regularizers
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import register_variant

BATCH_NORM_REASON = (
    "batch norm is not allowed in an SN-GAN discriminator (Miyato et al. 2018): spectral normalization bounds "
    "D's Lipschitz constant layer by layer, and batch norm's division by the batch's standard deviation is not "
    "bounded by it; the paper's discriminators (Table 3) have no batch norm. Use d_norm='none' (the default)."
)


@register_variant
class SNGAN(NoiseToImageGAN):
    """Hinge-loss GAN whose discriminator layers are all spectrally normalized (Miyato et al. 2018).

    Args:
        n_power_iterations: power iterations per forward of each normalized layer (paper: 1).
    """

    def __init__(
        self,
        n_critic: int = 5,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        d_norm: str = "none",
        n_power_iterations: int = 1,
        **kwargs: Any,
    ) -> None:
        if not (isinstance(n_power_iterations, int) and n_power_iterations >= 1):
            raise ValueError(f"n_power_iterations must be a positive integer, got {n_power_iterations!r} (paper: 1).")
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, d_norm=d_norm, **kwargs)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        generator, discriminator = super().make_networks(image_shape)
        # eq. (8): W -> W / sigma(W) in every weight layer of D; G is left as it is (it keeps its batch norm)
        return generator, regularizers.spectral_normalize_(discriminator, self.hparams.n_power_iterations)

    def check_networks(self) -> None:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.discriminator.modules()):
            raise ValueError(BATCH_NORM_REASON)

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        return {"loss": losses.hinge_d(self.discriminator(real), self.discriminator(fake))}  # eq. (16)

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        return {"loss": losses.hinge_g(self.discriminator(self.generate(batch_size)))}  # eq. (17)
