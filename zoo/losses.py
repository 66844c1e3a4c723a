"""Adversarial objectives as pure functions of raw discriminator scores (higher = more real).

No Lightning here: every function maps score tensors to a scalar loss that the caller *minimizes*.

References
----------
Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv 1406.2661): value function eq. (1)
    V(D, G) = E_{x~p}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))],  D = sigmoid(score),
and the non-saturating generator objective "maximize log D(G(z))" of Section 3.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from zoo.validation import require_choice


def minimax_d(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Discriminator loss of eq. (1): ``-V(D, G)`` = -E log sigmoid(real) - E log(1 - sigmoid(fake)).

    Uses ``log sigmoid(s) = -softplus(-s)`` and ``log(1 - sigmoid(s)) = -softplus(s)`` for stability.
    """
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def minimax_g(fake_scores: Tensor) -> Tensor:
    """Generator loss of eq. (1): minimize E log(1 - D(G(z))) = -E softplus(fake).

    Its gradient w.r.t. the score is ``-sigmoid(s)``, which vanishes when D confidently rejects fakes
    (the saturation that Goodfellow et al. warn about in Section 3).
    """
    return -F.softplus(fake_scores).mean()


def non_saturating_g(fake_scores: Tensor) -> Tensor:
    """Non-saturating generator loss (Section 3): minimize -E log D(G(z)) = E softplus(-fake).

    Gradient w.r.t. the score is ``-sigmoid(-s)``, close to -1 where D rejects fakes.
    """
    return F.softplus(-fake_scores).mean()


GENERATOR_OBJECTIVES: dict[str, Callable[[Tensor], Tensor]] = {
    "minimax": minimax_g,
    "non_saturating": non_saturating_g,
}


def generator_objective(name: str) -> Callable[[Tensor], Tensor]:
    """Look up a generator objective of the original GAN by name (lists the valid names on error)."""
    require_choice("GAN objective", name, GENERATOR_OBJECTIVES)
    return GENERATOR_OBJECTIVES[name]


def least_squares_d(real_scores: Tensor, fake_scores: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """LSGAN discriminator loss (Mao et al. 2017, eq. 2): 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]."""
    return 0.5 * (real_scores - b).pow(2).mean() + 0.5 * (fake_scores - a).pow(2).mean()


def least_squares_g(fake_scores: Tensor, c: float = 1.0) -> Tensor:
    """LSGAN generator loss (Mao et al. 2017, eq. 2): 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * (fake_scores - c).pow(2).mean()
