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


def l1_reconstruction(original: Tensor, reconstructed: Tensor) -> Tensor:
    """Mean absolute error E||reconstructed - original||_1 (per pixel, as the CycleGAN reference code)."""
    if original.shape != reconstructed.shape:
        raise ValueError(
            f"original {tuple(original.shape)} and reconstruction {tuple(reconstructed.shape)} differ in shape."
        )
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
