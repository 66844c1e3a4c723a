"""Critic regularizers as pure functions: each returns a penalty tensor or clips in place; none steps.

References
----------
Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (arXiv 1704.00028): the gradient
    penalty of eq. (3), lambda * E_{x^ ~ P_x^}[(||grad D(x^)||_2 - 1)^2] on x^ = eps x + (1 - eps) x~ with
    eps ~ U[0, 1] (Algorithm 1, lines 4-8).
Arjovsky et al., "Wasserstein GAN", ICML 2017 (arXiv 1701.07875): weight clipping, Algorithm 1, line 7.
Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018 (arXiv 1801.04406):
    R1 = gamma / 2 * E_{x ~ P_data}[||grad D(x)||^2] (eq. 9).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.validation import require_positive


def _input_gradients(critic: nn.Module, inputs: Tensor) -> Tensor:
    """d sum(critic(inputs)) / d inputs, with ``create_graph`` so a penalty on it can be backpropagated."""
    scores = critic(inputs)
    (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.flatten(1)


def interpolates(real: Tensor, fake: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """x^ = eps * x + (1 - eps) * x~ with one eps ~ U[0, 1] per sample (Algorithm 1, lines 4 and 6)."""
    if real.shape != fake.shape:
        raise ValueError(
            f"real and fake batches must have the same shape; got {tuple(real.shape)}, {tuple(fake.shape)}."
        )
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    device = generator.device if generator is not None else real.device
    eps = torch.rand(shape, generator=generator, device=device, dtype=real.dtype).to(real.device)
    return eps * real.detach() + (1.0 - eps) * fake.detach()


def gradient_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty E[(||grad_x^ D(x^)||_2 - target)^2] on random interpolates (eq. 3, without lambda).

    The gradient is taken with ``create_graph=True``, so the returned scalar is differentiable w.r.t. the
    critic's parameters. Multiply by lambda (the paper's 10) in the variant.
    """
    x_hat = interpolates(real, fake, generator).requires_grad_(True)
    grad = _input_gradients(critic, x_hat)
    return (grad.norm(2, dim=1) - target).pow(2).mean()


def r1_penalty(critic: nn.Module, real: Tensor) -> Tensor:
    """R1 of Mescheder et al. (eq. 9) without gamma / 2: E_{x ~ P_data}[||grad_x D(x)||_2^2] on real data."""
    x = real.detach().requires_grad_(True)
    return _input_gradients(critic, x).pow(2).sum(dim=1).mean()


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` to [-c, c] in place (WGAN, Algorithm 1, line 7)."""
    require_positive("clip_value", clip_value, "WGAN clips to [-c, c] with c > 0 (the paper's c = 0.01).")
    for p in module.parameters():
        p.clamp_(-clip_value, clip_value)
