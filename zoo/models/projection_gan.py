"""Projection discriminator: Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018
(arXiv 1802.05637, https://arxiv.org/abs/1802.05637).

The discriminator takes the class by an inner product with its features rather than by concatenation (eq. 3):

    f(x, y) = y^T V phi(x) + psi(phi(x)) = embed(y) . phi(x) + psi(phi(x)),

derived from the log density ratio of the conditional distributions (eqs. 1-3); phi is D's body, psi a dense
layer, V a class embedding (``zoo.nets.conditional_projection.ProjectionDiscriminator``). The generator is
conditioned by conditional batch norm (class-dependent gain and bias, Dumoulin et al. 2017 / de Vries et al.
2017; ``ConditionalBatchNormGenerator``), as in the paper. Every weight of D is spectrally normalized (Miyato et
al. 2018, ``regularizers.spectral_normalize_`` for the dense and conv layers; the embedding V too, as the
authors' ``SNEmbedID``), and D has no batch norm. The loss is the hinge loss the paper trains with:
D descends E relu(1 - f(x, y)) + E relu(1 + f(G(z, y'), y')), x with its own label y and y' uniform;
G descends -E f(G(z, y), y) (``losses.hinge_d`` / ``hinge_g``).

Paper defaults (Section 5, and the authors' configs): Adam(alpha = 2e-4, beta1 = 0, beta2 = 0.9), n_dis = 5 D
updates per G update, one power iteration per update.
Departures from the paper: the zoo's DCGAN layout (with conditional batch norm in G) for images and MLPs for
vectors instead of the paper's ResNets; phi ends with DCGAN's LeakyReLU(0.2) before the global sum pooling
(the paper: ReLU); the embedding's spectral norm starts from torch's 15 power iterations (the conv and dense
layers from 200, see ``regularizers.spectral_normalize_``); no linear learning-rate decay.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from zoo import losses, regularizers
from zoo.models.conditional import ConditionalNoiseToImageGAN
from zoo.nets.conditional_projection import ConditionalBatchNormGenerator, ProjectionDiscriminator
from zoo.registry import register_variant


@register_variant
class ProjectionGAN(ConditionalNoiseToImageGAN):
    """Conditional GAN with a projection discriminator (eq. 3), spectral norm on D, conditional batch norm in G,
    hinge loss (Miyato & Koyama 2018).

    Args:
        n_power_iterations: power iterations per forward of each normalized layer of D (paper: 1).
        g_norm: must be ``batch``: G's norms are conditional batch norms (the class enters G only through them).
        d_norm: must not be ``batch`` (spectral normalization; the paper's D has no batch norm).
    """

    def __init__(
        self,
        n_critic: int = 5,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        g_norm: str = "batch",
        d_norm: str = "none",
        n_power_iterations: int = 1,
        **kwargs: Any,
    ) -> None:
        if not (isinstance(n_power_iterations, int) and n_power_iterations >= 1):
            raise ValueError(f"n_power_iterations must be a positive integer, got {n_power_iterations!r} (paper: 1).")
        if g_norm != "batch":
            raise ValueError(
                f"ProjectionGAN's generator uses conditional batch norm (the class enters G through it), so g_norm "
                f"must be 'batch', got {g_norm!r}."
            )
        if d_norm == "batch":
            raise ValueError(
                "batch norm is not allowed in the projection discriminator: it is spectrally normalized, as in "
                "Miyato & Koyama 2018, whose D has no batch norm. Use d_norm='none' (the default)."
            )
        super().__init__(n_critic=n_critic, lr=lr, betas=betas, g_norm=g_norm, d_norm=d_norm, **kwargs)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        generator = ConditionalBatchNormGenerator(image_shape, hp.latent_dim, self.num_classes, hp.width)
        discriminator = ProjectionDiscriminator(image_shape, self.num_classes, hp.width, hp.d_norm)
        spectral_norm(discriminator.embed, n_power_iterations=hp.n_power_iterations)  # V (SNEmbedID)
        return generator, regularizers.spectral_normalize_(discriminator, hp.n_power_iterations)  # psi, phi's layers

    def discriminator_loss(
        self, real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor
    ) -> dict[str, Tensor]:
        real_scores = self.discriminator(real, real_labels)
        fake_scores = self.discriminator(fake, fake_labels)
        return {"loss": losses.hinge_d(real_scores, fake_scores)}

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        fake, labels = self.generate_labelled(batch_size)  # fresh z and y; scored by the just-updated D
        return {"loss": losses.hinge_g(self.discriminator(fake, labels))}
