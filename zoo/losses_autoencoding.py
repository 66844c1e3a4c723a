"""Reconstruction-type objectives for the autoencoding variants (VAE-GAN, CycleGAN): pure torch functions.

Like ``zoo/losses.py`` these know nothing of Lightning: tensors in, a scalar the caller *minimizes* out.

References
----------
Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (arXiv 1312.6114), Appendix B: the KL of a
    diagonal Gaussian posterior to N(0, I), -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).
Larsen et al., "Autoencoding beyond pixels using a learned similarity metric", ICML 2016 (arXiv 1512.09300),
    Section 2.3: a Gaussian observation model on the l-th discriminator layer,
    p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x~), I), so -log p = 1/2 ||Dis_l(x) - Dis_l(x~)||^2 + const.
Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV 2017
    (arXiv 1703.10593), eq. (2): L_cyc = E||F(G(x)) - x||_1 + E||G(F(y)) - y||_1.
Berthelot et al., "BEGAN: Boundary Equilibrium Generative Adversarial Networks", 2017 (arXiv 1703.10717),
    Section 3.1: the auto-encoder loss L(v) = |v - D(v)|^eta, eta in {1, 2}.
Zhao et al., "Energy-based Generative Adversarial Network", ICLR 2017 (arXiv 1609.03126): the energy
    D(x) = ||Dec(Enc(x)) - x|| (eq. 13) and the pulling-away term on encoder codes (eq. 14).
"""

from __future__ import annotations

import torch
from torch import Tensor


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """L_prior = KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent dims, averaged over the batch."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have the same shape.")
    kl = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())
    return kl.flatten(1).sum(1).mean()


def gaussian_nll(target: Tensor, mean: Tensor) -> Tensor:
    """-log N(target | mean, I) without the constant: 1/2 ||target - mean||^2 per sample, batch-averaged.

    With ``target = Dis_l(x)`` and ``mean = Dis_l(x~)`` this is L_llike^{Dis_l} of Larsen et al. (Section 2.3).
    """
    if target.shape != mean.shape:
        raise ValueError(f"target {tuple(target.shape)} and mean {tuple(mean.shape)} must have the same shape.")
    return 0.5 * (target - mean).pow(2).flatten(1).sum(1).mean()


def _same_shape(original: Tensor, reconstructed: Tensor) -> None:
    if original.shape != reconstructed.shape:
        raise ValueError(
            f"original {tuple(original.shape)} and reconstruction {tuple(reconstructed.shape)} differ in shape."
        )


def l1_reconstruction(original: Tensor, reconstructed: Tensor) -> Tensor:
    """Mean absolute error E||reconstructed - original||_1 (per pixel, as the CycleGAN reference code)."""
    _same_shape(original, reconstructed)
    return (reconstructed - original).abs().mean()


def cycle_consistency(
    real_a: Tensor, reconstructed_a: Tensor, real_b: Tensor, reconstructed_b: Tensor
) -> tuple[Tensor, Tensor]:
    """The two terms of eq. (2): forward cycle ||F(G(x)) - x||_1 and backward cycle ||G(F(y)) - y||_1."""
    return l1_reconstruction(real_a, reconstructed_a), l1_reconstruction(real_b, reconstructed_b)


def reparameterize(mu: Tensor, logvar: Tensor, noise: Tensor | None = None) -> Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) (Kingma & Welling 2014, Section 2.4); ``noise`` fixes eps."""
    eps = torch.randn_like(mu) if noise is None else noise
    return mu + (0.5 * logvar).exp() * eps


# ---------------------------------------------------------------------------------------------------------
# Autoencoder discriminators: BEGAN (Berthelot et al., "BEGAN: Boundary Equilibrium Generative Adversarial
# Networks", arXiv 1703.10717) and EBGAN (Zhao et al., "Energy-based Generative Adversarial Network", ICLR 2017,
# arXiv 1609.03126). D(v) is the autoencoder's reconstruction of v, h = Enc(v) its code.
# ---------------------------------------------------------------------------------------------------------

#: EBGAN energies: ``norm`` = ||Dec(Enc(x)) - x||_2 over the sample (eq. 13 as printed), ``mse`` = its square
#: divided by the number of entries (the per-sample mean squared error)
RECONSTRUCTION_ENERGIES = ("norm", "mse")


def pixelwise_reconstruction_loss(original: Tensor, reconstructed: Tensor, eta: int = 1) -> Tensor:
    """BEGAN's auto-encoder loss L(v) = |v - D(v)|^eta (Section 3.1), averaged over pixels and the batch.

    ``eta`` is the paper's target norm, 1 or 2: eta = 1 is the mean absolute error, eta = 2 the mean squared error.
    """
    _same_shape(original, reconstructed)
    if eta not in (1, 2):
        raise ValueError(f"eta must be 1 or 2 (BEGAN's target norm, Section 3.1), got {eta!r}.")
    return (reconstructed - original).abs().pow(eta).mean()


def reconstruction_energy(original: Tensor, reconstructed: Tensor, kind: str = "norm") -> Tensor:
    """EBGAN's energy of each sample, D(x) = ||Dec(Enc(x)) - x|| (eq. 13), shape (N,).

    ``kind="norm"``: the Euclidean norm over all entries of the sample, as eq. 13 is printed; ``kind="mse"``: the
    mean squared error over the sample's entries (= norm^2 / entries).
    """
    _same_shape(original, reconstructed)
    if kind not in RECONSTRUCTION_ENERGIES:
        raise ValueError(f"unknown reconstruction energy {kind!r}; valid choices: 'norm', 'mse'.")
    diff = (reconstructed - original).flatten(1)
    if kind == "mse":
        return diff.pow(2).mean(1)
    return torch.linalg.vector_norm(diff, dim=1)  # its gradient at a perfect reconstruction is 0, not NaN


def pulling_away_term(codes: Tensor, eps: float = 1e-12) -> Tensor:
    """EBGAN's pulling-away term (eq. 14) on a batch of codes S (N, s), one row per sample:

        f_PT(S) = 1 / (N (N - 1)) sum_i sum_{j != i} (S_i^T S_j / (||S_i|| ||S_j||))^2,

    the mean squared cosine similarity over ordered pairs of distinct samples: 0 for pairwise orthogonal codes,
    1 for parallel (or anti-parallel) ones, invariant to the scale of each code. A batch of fewer than two
    samples has no pairs: 0. Codes of norm below ``eps`` count as orthogonal to every other code.
    """
    if codes.dim() != 2:
        raise ValueError(f"codes must be shaped (N, code_dim), got {tuple(codes.shape)}.")
    n = len(codes)
    if n < 2:
        return codes.sum() * 0.0
    unit = codes / codes.norm(dim=1, keepdim=True).clamp_min(eps)
    cosine_squared = (unit @ unit.T).pow(2)
    return (cosine_squared.sum() - cosine_squared.diagonal().sum()) / (n * (n - 1))
