"""InfoGAN: Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, "InfoGAN: Interpretable Representation Learning
by Information Maximizing Generative Adversarial Nets", NeurIPS 2016 (arXiv 1606.03657).

Implements eq. (6), min_{G,Q} max_D V_InfoGAN(D, G, Q) = V(D, G) - lambda L_I(G, Q), with L_I the variational lower
bound of eq. (5) on the mutual information I(c; G(z, c)),

    L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c),

H(c) being a constant. The generator input is [z, onehot(c_1), c_2, ..., c_{M+1}] (the reference code's latent
order): noise z, one categorical code c_1 ~ Cat(K, p = 1/K) and M continuous codes c_j ~ U(-1, 1) (MNIST: K = 10
and M = 2, Section 7.2; 62 noise variables, Appendix C.1). Q shares D's body (``zoo.nets.q_head``): a softmax over
c_1 and a factored Gaussian over the continuous codes. ``-L_I`` without H(c) is ``lambda_categorical * info_cat +
lambda_continuous * info_cont`` (cross-entropy and Gaussian negative log-likelihood of the codes the fake was
generated from).

The updates, as the authors' code (openai/InfoGAN ``infogan/algos/infogan_trainer.py``) makes them:

* critic update (``critic_loss``): codes drawn once, x_fake = G(z, c) without a graph into G, and one loss
  -V(D, G) + lambda (-L_I) on D's and Q's parameters together (the reference's ``d_vars`` hold D's body and head
  and Q's head; the discriminator optimizer, lr_d, steps them all);
* generator update (``generator_loss``): fresh codes, x_fake = G(z, c) with its graph, the non-saturating GAN loss
  -E log D(G(z, c)) (the reference's ``generator_loss``) plus lambda (-L_I), scored by the just-updated D and Q.

Paper / reference defaults (Appendix C.1, Table 1; ``launchers/run_mnist_exp.py``): K = 10, M = 2, 62 noise variables
drawn from U(-1, 1) (``Uniform(62)``), Adam with beta1 = 0.5, learning rate 2e-4 for D (and Q), 1e-3 for G, batch
128, lambda = 1 for the categorical code. Nets: the InfoGAN MNIST nets (``nets="infogan"``, the zoo's version of
Table 1's nets, ``zoo.nets.infogan``) and Q's head ``FC 128 - BN - lRELU - FC``.

Departures and choices:

* Continuous codes: Section 6 says lambda is 1 for discrete codes and "typically" smaller for continuous ones, to
  keep lambda L_I, which then holds a differential entropy, on the GAN objective's scale; Appendix C has Q output a
  mean and a standard deviation (an exponential of the net output). The reference's MNIST run instead fixes
  sigma = 1 (``Uniform(1, fix_std=True)``) with the same coefficient 1 for both kinds of code, so its continuous
  term is 0.5 (c - mean)^2 + const and cannot run to -infinity. The defaults are that run's:
  ``continuous_std="fixed"``, ``lambda_continuous=1``. ``continuous_std="learned"`` is Appendix C's Gaussian; use
  it with a smaller ``lambda_continuous`` (e.g. 0.1), as Section 6 advises.
* The nets are Lucic et al.'s version of Table 1's (``zoo.nets.infogan``: lrelu 0.2 in both nets where the paper's G
  has ReLU and the reference's D slope is 0.01, TF batch-norm constants, sigmoid output mapped to [-1, 1]); Q's head
  uses D's slope 0.2, D's ``d_norm`` and PyTorch's batch-norm constants (the reference code's).
* ``latent_dim`` is the size of the noise z alone; ``sample_z`` returns z and the continuous codes
  ((N, latent_dim + M), the codes last), ``generate(n, labels)`` sets the categorical code (``zoo.conditioning``,
  ``label_kind = "code"``: code value k means data class k only up to a permutation).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo import losses, nets
from zoo.conditioning import check_labels, cycle_labels
from zoo.models import resume
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.nets.q_head import CONTINUOUS_STDS, DiscriminatorWithQ, QPosterior, categorical_nll, gaussian_nll
from zoo.registry import register_variant
from zoo.sampling import require_count
from zoo.validation import require_at_least, require_choice


@register_variant
class InfoGAN(NoiseToImageGAN):
    """Non-saturating GAN whose generator also maximizes a lower bound on I(c; G(z, c)) through a Q head on D.

    Args:
        latent_dim: size of the incompressible noise z (paper: 62).
        num_categories: K, the values of the categorical code c_1 (paper: 10); ``num_classes`` of the conditional
            interface.
        num_continuous: M continuous codes ~ U(-1, 1) (paper: 2; 0 for none).
        lambda_categorical, lambda_continuous: lambda of eq. (6) for the categorical and the continuous codes.
        continuous_std: ``fixed`` (sigma = 1, the reference's MNIST run) or ``learned`` (Q outputs log sigma).
        **kwargs: ``NoiseToImageGAN``'s (nets, latent_distribution, n_critic, width, norms, optimizer settings...).
    """

    #: the labels of ``generate(n, labels)`` are values of a latent code, not data classes (``zoo.conditioning``)
    label_kind = "code"
    resume_fixed_hparams = resume.FIXED_HPARAMS | {"num_categories", "num_continuous", "continuous_std"}

    def __init__(
        self,
        latent_dim: int = 62,
        num_categories: int = 10,
        num_continuous: int = 2,
        lambda_categorical: float = 1.0,
        lambda_continuous: float = 1.0,
        continuous_std: str = "fixed",
        nets: str = "infogan",
        latent_distribution: str = "uniform",
        lr: float = 1e-3,
        lr_d: float | None = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        **kwargs: Any,
    ) -> None:
        require_at_least("num_categories", num_categories, 2, "A categorical code needs at least two values.")
        require_at_least("num_continuous", num_continuous, 0, "Use 0 for no continuous codes.")
        require_at_least("lambda_categorical", lambda_categorical, 0, "Paper: 1.")
        require_at_least("lambda_continuous", lambda_continuous, 0, "Paper: 1 with sigma fixed, smaller if learned.")
        require_choice("continuous_std", continuous_std, CONTINUOUS_STDS)
        super().__init__(
            latent_dim=latent_dim,
            nets=nets,
            latent_distribution=latent_distribution,
            lr=lr,
            lr_d=lr_d,
            betas=betas,
            **kwargs,
        )

    # ------------------------------------------------------------ conditional interface
    @property
    def num_classes(self) -> int:
        """K: the values of the categorical code (``zoo.conditioning``)."""
        return int(self.hparams.num_categories)

    @property
    def num_continuous(self) -> int:
        """M: the continuous codes, the last M columns of ``sample_z``'s output."""
        return int(self.hparams.num_continuous)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        inputs = hp.latent_dim + hp.num_categories + hp.num_continuous  # [z, onehot(c_1), c_2..c_{M+1}]
        generator, discriminator = nets.build_pair(image_shape, inputs, hp.width, hp.g_norm, hp.d_norm, hp.nets)
        q_norm = "none" if hp.d_norm == "instance" else hp.d_norm  # instance norm is undefined for Q's FC features
        return generator, DiscriminatorWithQ(
            discriminator, hp.num_categories, hp.num_continuous, hp.continuous_std, q_norm
        )

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, latent_dim + M): the noise z from ``latent_distribution`` and the M continuous codes ~ U(-1, 1), last."""
        noise = super().sample_z(n, generator)
        device = generator.device if generator is not None else self.device
        continuous = torch.rand((len(noise), self.num_continuous), generator=generator, device=device) * 2 - 1
        return torch.cat([noise, continuous.to(noise.device)], dim=1)

    def sample_codes(self, n: int) -> tuple[Tensor, Tensor]:
        """A training batch's latent inputs: ``sample_z(n)`` and categorical codes c_1 ~ Cat(K, p = 1/K)."""
        z = self.sample_z(n)
        return z, torch.randint(self.num_classes, (len(z),), device=z.device)

    def generator_input(self, z: Tensor, labels: Tensor) -> Tensor:
        """[noise, onehot(labels), continuous codes]: G's input for ``sample_z``-shaped z and code values."""
        d = self.hparams.latent_dim
        onehot = F.one_hot(labels, self.num_classes).to(z.dtype)
        return torch.cat([z[:, :d], onehot, z[:, d:]], dim=1)

    def generate_from(self, z: Tensor, labels: Tensor) -> Tensor:
        """G(z, c) for z shaped like ``sample_z``'s output and categorical code values ``labels`` (n,)."""
        width = self.hparams.latent_dim + self.num_continuous
        if z.dim() != 2 or z.shape[1] != width:
            raise ValueError(
                f"InfoGAN: z must have shape (n, {width}) (latent_dim noise variables, then {self.num_continuous} "
                f"continuous codes), as sample_z returns; got {tuple(z.shape)}."
            )
        labels = check_labels(labels, len(z), self.num_classes, "InfoGAN")
        return self.generator(self.generator_input(z, labels.to(z.device)))

    def generate(self, n: int, labels: Tensor | None = None) -> Tensor:
        """n samples with fresh z and continuous codes; ``labels`` set the categorical code (None: 0, 1, ..., K-1,
        0, ...). Gradients flow unless the caller disables them."""
        n = require_count("n", n)
        if labels is None:
            labels = cycle_labels(n, self.num_classes, self.device)
        return self.generate_from(self.sample_z(n), labels)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            labels = cycle_labels(len(z), self.num_classes, z.device)
        return self.generate_from(z, labels)

    # ------------------------------------------------------------------- objective
    def information_loss(self, q: QPosterior, labels: Tensor, z: Tensor) -> dict[str, Tensor]:
        """-L_I - H(c) of eq. (5) for the codes (``labels``, the continuous columns of ``z``) a fake was made from,
        weighted by lambda: ``loss``, and the unweighted terms ``info_cat``, ``info_cont`` and ``mi_cat`` (the lower
        bound on I(c_1; x) in nats, log K - info_cat)."""
        hp = self.hparams
        info_cat = categorical_nll(q.logits, labels)
        info_cont = gaussian_nll(q.mean, q.log_std, z[:, hp.latent_dim :])
        loss = hp.lambda_categorical * info_cat + hp.lambda_continuous * info_cont
        mi_cat = math.log(self.num_classes) - info_cat
        return {"loss": loss, "info_cat": info_cat, "info_cont": info_cont, "mi_cat": mi_cat}

    def critic_loss(self, real: Tensor) -> dict[str, Tensor]:
        """The D and Q update: fakes made (without a graph into G) from codes drawn once, and Q scored on those."""
        z, labels = self.sample_codes(len(real))
        with torch.no_grad():
            fake = self.generator(self.generator_input(z, labels))
        return self.discriminator_loss(real, fake, labels, z)

    def discriminator_loss(self, real: Tensor, fake: Tensor, labels: Tensor, z: Tensor) -> dict[str, Tensor]:
        """-V(D, G) + lambda (-L_I) on ``fake`` = G(z, labels) (eq. 6, minimized over D and Q)."""
        real_scores, _ = self.discriminator(real, with_q=False)  # Q only reads fakes: their codes are known
        fake_scores, q = self.discriminator(fake)
        gan = losses.minimax_d(real_scores, fake_scores)  # -E log D(x) - E log(1 - D(G(z, c)))
        info = self.information_loss(q, labels, z)
        accuracy = (q.logits.detach().argmax(1) == labels).float().mean()
        return {
            "loss": gan + info["loss"],
            "d_gan": gan.detach(),
            "q_info_cat": info["info_cat"].detach(),
            "q_info_cont": info["info_cont"].detach(),
            "q_accuracy": accuracy,
        }

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        """Non-saturating -E log D(G(z, c)) + lambda (-L_I) on fresh codes (eq. 6, minimized over G)."""
        z, labels = self.sample_codes(batch_size)
        scores, q = self.discriminator(self.generator(self.generator_input(z, labels)))
        gan = losses.non_saturating_g(scores)
        info = self.information_loss(q, labels, z)
        return {
            "loss": gan + info["loss"],
            "g_gan": gan.detach(),
            "info_cat": info["info_cat"].detach(),
            "info_cont": info["info_cont"].detach(),
            "mi_cat": info["mi_cat"].detach(),
        }
