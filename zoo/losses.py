"""Adversarial objectives as pure functions of raw discriminator scores (higher = more real).

No Lightning here: every function maps score tensors to a scalar loss that the caller *minimizes*.

References
----------
Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (arXiv 1406.2661): value function eq. (1)
    V(D, G) = E_{x~p}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))],  D = sigmoid(score),
and the non-saturating generator objective "maximize log D(G(z))" of Section 3.

Mao et al. 2017 (LSGAN, arXiv 1611.04076): least squares with (a, b, c) codings, eq. 2, 4, 8, 9.
Arjovsky et al. 2017 (WGAN, arXiv 1701.07875): Wasserstein critic / generator losses, Algorithm 1.
Lim & Ye 2017 (arXiv 1705.02894) and Miyato et al. 2018 (arXiv 1802.05957, eq. 16-17): hinge losses.
Nowozin et al. 2016 (f-GAN, arXiv 1606.00709): f-divergences with their generators f (Table 1), output
    activations g_f and conjugates f* (Table 2), the saddle objective F of eq. (6).
Zhao et al. 2017 (EBGAN, arXiv 1609.03126): margin loss on autoencoder energies, eq. (1)-(2).
Berthelot et al. 2017 (BEGAN, arXiv 1703.10717): L_D = L(x) - k_t L(G(z)), the control of k_t, M_global (Section 3.4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
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


# ---------------------------------------------------------------------------------------------------------
# Least squares codings (Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017,
# arXiv 1611.04076). D is trained towards b on real and a on fake samples, G towards c (eq. 2 / eq. 3).
# ---------------------------------------------------------------------------------------------------------

#: named (a, b, c) codings. ``pearson``: a=-1, b=1, c=0 (eq. 8; b - c = 1 and b - a = 2, the conditions of
#: Theorem 1 under which G minimizes the Pearson chi^2 divergence). ``binary``: the 0-1 coding a=0, b=1,
#: c=1 (eq. 9; G pushes fakes to the "real" label).
LEAST_SQUARES_CODINGS: dict[str, tuple[float, float, float]] = {
    "pearson": (-1.0, 1.0, 0.0),
    "binary": (0.0, 1.0, 1.0),
}


def least_squares_coding(name: str) -> tuple[float, float, float]:
    """The (a, b, c) labels of a named least squares coding (lists the valid names on error)."""
    require_choice("least squares coding", name, LEAST_SQUARES_CODINGS)
    return LEAST_SQUARES_CODINGS[name]


def least_squares_optimal_d(p_data: Tensor, p_g: Tensor, a: float, b: float) -> Tensor:
    """Mao et al. eq. 4: the optimal D for fixed G, ``D*(x) = (b p_data(x) + a p_g(x)) / (p_data(x) + p_g(x))``."""
    return (b * p_data + a * p_g) / (p_data + p_g)


# ---------------------------------------------------------------------------------------------------------
# Wasserstein (Arjovsky et al., "Wasserstein GAN", ICML 2017, arXiv 1701.07875) and hinge (Lim & Ye,
# "Geometric GAN", arXiv 1705.02894; Miyato et al., "Spectral Normalization for GANs", ICLR 2018, eq. 16-17).
# ---------------------------------------------------------------------------------------------------------


def wasserstein_d(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Critic loss: ``-(E f(x) - E f(G(z)))``, the negated Kantorovich-Rubinstein estimate of W1 (eq. 3).

    Minimizing it ascends the critic's estimate of the Wasserstein distance (Algorithm 1, lines 5-6).
    """
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g(fake_scores: Tensor) -> Tensor:
    """Generator loss ``-E f(G(z))`` (Algorithm 1, line 10)."""
    return -fake_scores.mean()


def hinge_d(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Hinge discriminator loss: ``E relu(1 - D(x)) + E relu(1 + D(G(z)))`` (Miyato et al. eq. 16, negated)."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def hinge_g(fake_scores: Tensor) -> Tensor:
    """Hinge generator loss: ``-E D(G(z))`` (Miyato et al. eq. 17; Lim & Ye's generator update)."""
    return -fake_scores.mean()


# ---------------------------------------------------------------------------------------------------------
# f-GAN (Nowozin, Cseke & Tomioka, "f-GAN: Training Generative Neural Samplers using Variational Divergence
# Minimization", NeurIPS 2016, arXiv 1606.00709).
#
# D_f(P || Q) = int q(x) f(p(x) / q(x)) dx with f convex, f(1) = 0 (eq. 1, Table 1). Fenchel duality gives the
# variational lower bound (eq. 4)  D_f(P || Q) >= sup_T  E_P[T(x)] - E_Q[f*(T(x))],  tight at
# T*(x) = f'(p(x) / q(x)) (Table 1, last column). The discriminator outputs a raw score V(x) in R and
# T = g_f(V) with an output activation g_f: R -> dom f* (Table 2), giving the saddle objective (eq. 6)
#     F(theta, omega) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))],
# maximized by D and minimized by G. Conventions follow the paper's tables exactly: with f as listed,
# "js" is 2 * JSD(P || Q) (the table's f has no factor 1/2) and "gan" is 2 * JSD(P || Q) - log 4.
# ---------------------------------------------------------------------------------------------------------

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    """One row of Nowozin et al. Tables 1 and 2.

    Attributes:
        name: registry name (``kl``, ``reverse_kl``, ...).
        f: the generator f(u), u = p/q > 0 (Table 1).
        f_prime: f'(u); the optimal variational function is T*(x) = f'(p(x)/q(x)) (Table 1).
        activation: the output activation g_f(v): R -> dom f* (Table 2).
        conjugate: the Fenchel conjugate f*(t) on dom f* (Table 2).
        conjugate_of_activation: f*(g_f(v)) written in a numerically stable form (e.g. softplus).
        domain: (low, high) bounds of dom f*; ``closed`` says whether they belong to it.
        f_prime_at_one: f'(1), the value of T at which real and fake are indistinguishable (Table 2).
    """

    name: str
    f: Callable[[Tensor], Tensor]
    f_prime: Callable[[Tensor], Tensor]
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]
    domain: tuple[float, float]
    closed: bool
    f_prime_at_one: float

    def in_domain(self, t: Tensor) -> Tensor:
        """Boolean mask: which entries of ``t`` lie in dom f*."""
        low, high = self.domain
        if self.closed:
            return (t >= low) & (t <= high)
        return (t > low) & (t < high)


def _xlogx(u: Tensor) -> Tensor:
    return torch.special.xlogy(u, u)


F_DIVERGENCES: dict[str, FDivergence] = {
    d.name: d
    for d in (
        FDivergence(  # KL(P || Q) = int p log(p / q)
            "kl",
            f=_xlogx,
            f_prime=lambda u: 1.0 + torch.log(u),
            activation=lambda v: v,
            conjugate=lambda t: torch.exp(t - 1.0),
            conjugate_of_activation=lambda v: torch.exp(v - 1.0),
            domain=(-math.inf, math.inf),
            closed=False,
            f_prime_at_one=1.0,
        ),
        FDivergence(  # KL(Q || P) = int q log(q / p)
            "reverse_kl",
            f=lambda u: -torch.log(u),
            f_prime=lambda u: -1.0 / u,
            activation=lambda v: -torch.exp(-v),
            conjugate=lambda t: -1.0 - torch.log(-t),
            conjugate_of_activation=lambda v: v - 1.0,
            domain=(-math.inf, 0.0),
            closed=False,
            f_prime_at_one=-1.0,
        ),
        FDivergence(  # Pearson chi^2 = int (p - q)^2 / q
            "pearson",
            f=lambda u: (u - 1.0) ** 2,
            f_prime=lambda u: 2.0 * (u - 1.0),
            activation=lambda v: v,
            conjugate=lambda t: 0.25 * t**2 + t,
            conjugate_of_activation=lambda v: 0.25 * v**2 + v,
            domain=(-math.inf, math.inf),
            closed=False,
            f_prime_at_one=0.0,
        ),
        FDivergence(  # Neyman chi^2 = int (p - q)^2 / p
            "neyman",
            f=lambda u: (1.0 - u) ** 2 / u,
            f_prime=lambda u: 1.0 - u ** (-2),
            activation=lambda v: -torch.expm1(-v),
            conjugate=lambda t: 2.0 - 2.0 * torch.sqrt(1.0 - t),
            conjugate_of_activation=lambda v: 2.0 - 2.0 * torch.exp(-0.5 * v),
            domain=(-math.inf, 1.0),
            closed=False,
            f_prime_at_one=0.0,
        ),
        FDivergence(  # squared Hellinger = int (sqrt p - sqrt q)^2
            "squared_hellinger",
            f=lambda u: (torch.sqrt(u) - 1.0) ** 2,
            f_prime=lambda u: 1.0 - torch.rsqrt(u),
            activation=lambda v: -torch.expm1(-v),
            conjugate=lambda t: t / (1.0 - t),
            conjugate_of_activation=lambda v: torch.expm1(v),
            domain=(-math.inf, 1.0),
            closed=False,
            f_prime_at_one=0.0,
        ),
        FDivergence(  # Jensen-Shannon as tabulated: int p log(2p / (p + q)) + q log(2q / (p + q)) = 2 JSD
            "js",
            f=lambda u: _xlogx(u) - (u + 1.0) * torch.log((u + 1.0) / 2.0),
            f_prime=lambda u: torch.log(2.0 * u / (1.0 + u)),
            activation=lambda v: LOG2 - F.softplus(-v),
            conjugate=lambda t: -torch.log(2.0 - torch.exp(t)),
            conjugate_of_activation=lambda v: F.softplus(v) - LOG2,
            domain=(-math.inf, LOG2),
            closed=False,
            f_prime_at_one=0.0,
        ),
        FDivergence(  # the GAN divergence: int p log(2p / (p + q)) + q log(2q / (p + q)) - log 4
            "gan",
            f=lambda u: _xlogx(u) - (u + 1.0) * torch.log(u + 1.0),
            f_prime=lambda u: torch.log(u / (u + 1.0)),
            activation=lambda v: -F.softplus(-v),
            conjugate=lambda t: -torch.log1p(-torch.exp(t)),
            conjugate_of_activation=lambda v: F.softplus(v),
            domain=(-math.inf, 0.0),
            closed=False,
            f_prime_at_one=-LOG2,
        ),
        FDivergence(  # total variation = 1/2 int |p - q|
            "total_variation",
            f=lambda u: 0.5 * torch.abs(u - 1.0),
            f_prime=lambda u: 0.5 * torch.sign(u - 1.0),
            activation=lambda v: 0.5 * torch.tanh(v),
            conjugate=lambda t: t,
            conjugate_of_activation=lambda v: 0.5 * torch.tanh(v),
            domain=(-0.5, 0.5),
            closed=True,
            f_prime_at_one=0.0,
        ),
    )
}


def f_divergence(divergence: str | FDivergence) -> FDivergence:
    """Look up an f-divergence by name (the error lists the valid names); instances pass through."""
    if isinstance(divergence, FDivergence):
        return divergence
    require_choice("f-divergence", divergence, F_DIVERGENCES)
    return F_DIVERGENCES[divergence]


def variational_objective(divergence: str | FDivergence, t_real: Tensor, t_fake: Tensor) -> Tensor:
    """The bound of eq. (4) at the level of T: ``E_P[T] - E_Q[f*(T)]`` (T already in dom f*)."""
    div = f_divergence(divergence)
    return t_real.mean() - div.conjugate(t_fake).mean()


def fgan_objective(divergence: str | FDivergence, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The saddle objective F of eq. (6) on raw scores V: ``E_P[g_f(V)] - E_Q[f*(g_f(V))]``."""
    div = f_divergence(divergence)
    return div.activation(real_scores).mean() - div.conjugate_of_activation(fake_scores).mean()


def fgan_d(divergence: str | FDivergence, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Discriminator loss: ``-F`` (D maximizes the variational lower bound on D_f(P || Q))."""
    return -fgan_objective(divergence, real_scores, fake_scores)


#: generator updates: ``saddle`` descends F itself, i.e. minimizes -E_Q[f*(g_f(V))]; ``alternative``
#: maximizes E_Q[g_f(V)] instead (Section 4, "practical considerations"; the analogue of Goodfellow et al.'s
#: non-saturating loss).
FGAN_GENERATOR_UPDATES = ("alternative", "saddle")


def fgan_g(divergence: str | FDivergence, fake_scores: Tensor, update: str = "alternative") -> Tensor:
    """Generator loss for ``update`` in ``FGAN_GENERATOR_UPDATES`` on raw scores V of fake samples."""
    div = f_divergence(divergence)
    require_choice("f-GAN generator update", update, FGAN_GENERATOR_UPDATES)
    if update == "saddle":
        return -div.conjugate_of_activation(fake_scores).mean()
    return -div.activation(fake_scores).mean()


# ---------------------------------------------------------------------------------------------------------
# Autoencoder discriminators. Their D does not score, it reconstructs: lower reconstruction error = more real.
# EBGAN (Zhao et al., "Energy-based Generative Adversarial Network", ICLR 2017, arXiv 1609.03126): energies
# E = D(x) >= 0 per sample, margin loss of eq. (1)-(2). BEGAN (Berthelot et al., "BEGAN: Boundary Equilibrium
# Generative Adversarial Networks", arXiv 1703.10717, Section 3.4): batch losses L(x), L(G(z)) of the autoencoder,
# the proportional control of k_t and the convergence measure M_global (Section 3.4.1).
# ---------------------------------------------------------------------------------------------------------


def energy_margin_d(real_energy: Tensor, fake_energy: Tensor, margin: float) -> Tensor:
    """EBGAN eq. (1), batch-averaged: E D(x) + E [m - D(G(z))]^+, the hinge taken per fake sample.

    The margin applies to the fakes only: real energies are pushed down linearly, fake energies up to m.
    """
    return real_energy.mean() + F.relu(margin - fake_energy).mean()


def energy_g(fake_energy: Tensor) -> Tensor:
    """EBGAN eq. (2), batch-averaged: E D(G(z)) (no margin: non-zero gradients also when D(G(z)) >= m)."""
    return fake_energy.mean()


def began_d(real_loss: Tensor, fake_loss: Tensor, k: Tensor | float) -> Tensor:
    """BEGAN's discriminator loss L_D = L(x) - k_t L(G(z_D)), k_t a constant of the step (no gradient)."""
    k = k.detach() if isinstance(k, Tensor) else k
    return real_loss - k * fake_loss


def began_k_update(
    k: Tensor, real_loss: Tensor, fake_loss: Tensor, gamma: float, lambda_k: float, clip: bool = True
) -> Tensor:
    """BEGAN's proportional control: k_{t+1} = k_t + lambda_k (gamma L(x) - L(G(z_G))), kept in [0, 1] (the paper,
    Section 3.4) unless ``clip`` is False (compare_gan's ``update_k``, which never clips)."""
    balance = gamma * real_loss.detach() - fake_loss.detach()
    moved = k.detach() + lambda_k * balance
    return moved.clamp(0.0, 1.0) if clip else moved


def began_convergence(real_loss: Tensor, fake_loss: Tensor, gamma: float) -> Tensor:
    """BEGAN's convergence measure M_global = L(x) + |gamma L(x) - L(G(z_G))| (Section 3.4.1)."""
    real_loss, fake_loss = real_loss.detach(), fake_loss.detach()
    return real_loss + (gamma * real_loss - fake_loss).abs()


# ---------------------------------------------------------------------------------------------------------
# Loss-Sensitive GAN (Qi, "Loss-Sensitive Generative Adversarial Networks on Lipschitz Densities", arXiv
# 1701.06264). The learned loss function L_theta(x) >= 0 is lower on real samples; in the zoo's convention it is
# read off the discriminator's score s (higher = more real) as L_theta(x) = max(0, -s(x)) (the reference code,
# guojunq/lsgan lsgan.lua, ends its loss net with a ReLU). The margin Delta(x, G(z)) is the scaled L1 distance
# between the matched real and generated samples.
# ---------------------------------------------------------------------------------------------------------


def loss_sensitive_value(scores: Tensor) -> Tensor:
    """The learned loss L_theta = max(0, -score) per sample: >= 0, zero where D scores a sample as real."""
    return F.relu(-scores)


def l1_margin(real: Tensor, fake: Tensor, scale: float) -> Tensor:
    """Delta(x_i, G(z_i)) = scale * ||x_i - G(z_i)||_1 for each matched pair i (sum over all pixels), no gradient."""
    if real.shape != fake.shape:
        shapes = f"{tuple(real.shape)}, {tuple(fake.shape)}"
        raise ValueError(f"the margin pairs real and fake samples one to one; got batches shaped {shapes}.")
    return scale * (real.detach() - fake.detach()).abs().flatten(1).sum(1)


def loss_sensitive_d(real_scores: Tensor, fake_scores: Tensor, margins: Tensor, hinge_weight: float) -> Tensor:
    """S(theta) / lambda for the objective of Algorithm 1, S = E L(x) + lambda E (Delta + L(x) - L(G(z)))_+:

        E_i (Delta_i + L(x_i) - L(G(z_i)))_+ + E_i L(x_i) / lambda,

    the hinge taken per matched pair i. Dividing by lambda (``hinge_weight``) keeps the minimizer and admits
    lambda = inf (the reference code's unconditional LS-GAN: the E L(x) term has weight gamma = 1 / lambda = 0).
    """
    real_loss, fake_loss = loss_sensitive_value(real_scores), loss_sensitive_value(fake_scores)
    hinge = F.relu(margins + real_loss - fake_loss).mean()
    return hinge + real_loss.mean() / hinge_weight


def loss_sensitive_g(fake_scores: Tensor) -> Tensor:
    """The generator's objective T = E L_theta(G(z)) (Algorithm 1, generator update)."""
    return loss_sensitive_value(fake_scores).mean()
