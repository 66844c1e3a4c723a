"""InfoGAN's recognition network Q(c | x) on the discriminator's body, and the log-likelihoods of its posterior.

Chen et al., "InfoGAN: Interpretable Representation Learning by Information Maximizing Generative Adversarial
Nets", NeurIPS 2016 (arXiv 1606.03657), Section 6 and Appendix C, Table 1 (MNIST), and the authors' code
openai/InfoGAN (``infogan/models/regularized_gan.py``, ``infogan/misc/distributions.py``):

* Q shares every layer of D but D's output layer: ``DiscriminatorWithQ`` runs the discriminator it is given
  unchanged and reads the features its output layer receives (``feature_layer``), so the body's parameters are
  D's own, not a copy. Q's head is Table 1's ``FC 128 - BN - lRELU - FC output`` (``QHead``).
* Categorical codes: softmax over K logits, ``-log Q(c | x)`` is the cross-entropy (``categorical_nll``).
* Continuous codes: a factored Gaussian (Section 6: "simply treating Q(c_j | x) as a factored Gaussian is
  sufficient"). ``continuous_std="learned"``: the head outputs the mean and log sigma (Appendix C: the standard
  deviation through an exponential of the network output); ``"fixed"``: sigma = 1 and the head outputs only the
  mean, as the reference code's MNIST run does (``Uniform(1, fix_std=True)`` in ``launchers/run_mnist_exp.py``).
  ``gaussian_nll`` is ``-log N(c; mean, sigma^2)`` summed over the codes (``Gaussian.logli``).

Both log-likelihoods are averaged over the batch (``tf.reduce_mean`` in ``infogan_trainer.py``). Plain torch.

Which discriminators take a Q head: those with a ``head`` output layer (the DCGAN, InfoGAN and SN-GAN CNN
nets: a ``Linear`` or a conv over the whole final map) and ``MLPDiscriminator`` (its last ``Linear``); other
discriminators (autoencoders, conditional nets) are refused with a ``TypeError``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.nets.infogan import LEAK
from zoo.nets.mlp import MLPDiscriminator
from zoo.nets.norms import norm_layer
from zoo.validation import require_at_least, require_choice

#: how Q's Gaussian over the continuous codes gets its standard deviation
CONTINUOUS_STDS = ("fixed", "learned")
#: Q's hidden FC layer (Table 1: "FC.128-BN-lRELU-FC.output for Q")
Q_HIDDEN = 128
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class QPosterior(NamedTuple):
    """Q(c | x) for a batch: categorical logits (N, K), Gaussian means and log standard deviations (N, M)."""

    logits: Tensor
    mean: Tensor
    log_std: Tensor


def categorical_nll(logits: Tensor, labels: Tensor) -> Tensor:
    """-E log Q(c | x) for a categorical code: softmax cross-entropy, averaged over the batch."""
    return F.cross_entropy(logits, labels)


def gaussian_nll(mean: Tensor, log_std: Tensor, target: Tensor) -> Tensor:
    """-E log N(target; mean, exp(log_std)^2) of a factored Gaussian: summed over the M codes, averaged over the
    batch (0 for M = 0)."""
    z = (target - mean) * torch.exp(-log_std)
    return (LOG_SQRT_2PI + log_std + 0.5 * z**2).sum(dim=1).mean()


def feature_layer(discriminator: nn.Module) -> nn.Module:
    """The discriminator's output layer, whose input is the body's features that Q shares."""
    if isinstance(discriminator, MLPDiscriminator):
        return discriminator.net[-1]
    head = getattr(discriminator, "head", None)
    if isinstance(head, nn.Linear | nn.Conv2d) and hasattr(discriminator, "features"):
        return head
    raise TypeError(
        f"a Q head shares the body of a discriminator with a `features` body and a Linear/Conv2d `head` (the DCGAN, "
        f"InfoGAN and SN-GAN CNN nets) or an MLPDiscriminator; got {type(discriminator).__name__}."
    )


def feature_size(layer: nn.Module) -> int:
    """Number of features the output layer ``layer`` reads (flattened for a conv over the whole final map)."""
    if isinstance(layer, nn.Linear):
        return layer.in_features
    kh, kw = layer.kernel_size
    return layer.in_channels * kh * kw


class QHead(nn.Module):
    """Body features (N, F) -> ``QPosterior``: ``FC hidden - norm - lrelu - FC (K + M or K + 2M)``.

    Args:
        in_features: size of the shared body's (flattened) features.
        num_categories: K of the categorical code (>= 2).
        num_continuous: M continuous codes (>= 0).
        continuous_std: ``learned`` (the head outputs log sigma too) or ``fixed`` (sigma = 1).
        norm: normalization after the hidden layer (``batch`` in Table 1; ``layer`` or ``none``).
        leak: lrelu slope; 0.2, the slope of the zoo's InfoGAN discriminator body this head sits on.
    """

    def __init__(
        self,
        in_features: int,
        num_categories: int,
        num_continuous: int,
        continuous_std: str = "learned",
        hidden: int = Q_HIDDEN,
        norm: str = "batch",
        leak: float = LEAK,
    ) -> None:
        super().__init__()
        require_at_least("num_categories", num_categories, 2, "A categorical code needs at least two values.")
        require_at_least("num_continuous", num_continuous, 0)
        require_choice("continuous_std", continuous_std, CONTINUOUS_STDS)
        self.num_categories, self.num_continuous = num_categories, num_continuous
        self.learned_std = continuous_std == "learned"
        outputs = num_categories + num_continuous * (2 if self.learned_std else 1)
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            norm_layer(norm, hidden, flat=True),
            nn.LeakyReLU(leak),
            nn.Linear(hidden, outputs),
        )
        self.apply(_init_reference)

    def forward(self, h: Tensor) -> QPosterior:
        out = self.net(h.flatten(1))
        k, m = self.num_categories, self.num_continuous
        mean = out[:, k : k + m]
        log_std = out[:, k + m :] if self.learned_std else torch.zeros_like(mean)
        return QPosterior(out[:, :k], mean, log_std)


def _init_reference(module: nn.Module) -> None:
    """openai/InfoGAN ``custom_ops.py``: FC weights ~ N(0, 0.02), biases 0; BN scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DiscriminatorWithQ(nn.Module):
    """x -> (D's raw scores (N,), ``QPosterior``): the given discriminator, unchanged, and a Q head reading the
    features its output layer receives, from the same forward pass (so Q shares all of D's body).

    Args:
        discriminator: a net ``feature_layer`` accepts.
        num_categories, num_continuous, continuous_std, norm: ``QHead``'s.
    """

    def __init__(
        self,
        discriminator: nn.Module,
        num_categories: int,
        num_continuous: int,
        continuous_std: str = "learned",
        norm: str = "batch",
    ) -> None:
        super().__init__()
        layer = feature_layer(discriminator)
        self.discriminator = discriminator
        self.q_head = QHead(feature_size(layer), num_categories, num_continuous, continuous_std, norm=norm)
        self.image_shape = getattr(discriminator, "image_shape", None)

    def forward(self, x: Tensor, with_q: bool = True) -> tuple[Tensor, QPosterior | None]:
        """(scores, Q's posterior); ``with_q=False`` skips the Q head (``None``), e.g. for real images, whose codes
        are unknown."""
        if not with_q:
            return self.discriminator(x), None
        tapped: list[Tensor] = []
        handle = feature_layer(self.discriminator).register_forward_pre_hook(lambda _m, args: tapped.append(args[0]))
        try:
            scores = self.discriminator(x)
        finally:
            handle.remove()
        return scores, self.q_head(tapped[0])


__all__ = [
    "CONTINUOUS_STDS",
    "DiscriminatorWithQ",
    "QHead",
    "QPosterior",
    "categorical_nll",
    "feature_layer",
    "gaussian_nll",
]
