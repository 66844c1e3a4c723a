"""Critic regularizers as pure functions: each returns a penalty tensor or clips in place; none steps.

References
----------
Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017 (arXiv 1704.00028): the gradient
    penalty of eq. (3), lambda * E_{x^ ~ P_x^}[(||grad D(x^)||_2 - 1)^2] on x^ = eps x + (1 - eps) x~ with
    eps ~ U[0, 1] (Algorithm 1, lines 4-8).
Arjovsky et al., "Wasserstein GAN", ICML 2017 (arXiv 1701.07875): weight clipping, Algorithm 1, line 7.
Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018 (arXiv 1801.04406):
    R1 = gamma / 2 * E_{x ~ P_data}[||grad D(x)||^2] (eq. 9).
Kodali et al. 2017 (DRAGAN), Qi 2017 (LS-GAN) and Miyato et al. 2018 (SN-GAN): see the section at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm, spectral_norm

from zoo.validation import require_positive

#: a critic: an ``nn.Module`` or any function of a batch returning one score per sample
Critic = nn.Module | Callable[[Tensor], Tensor]


def _input_gradients(critic: Critic, inputs: Tensor) -> Tensor:
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


def gradient_norm_penalty(critic: Critic, points: Tensor, target: float = 1.0, epsilon: float = 0.0) -> Tensor:
    """E[(||grad_x D(x)||_2 - target)^2] at the given points, one norm per sample, differentiable in the critic.

    ``epsilon > 0`` takes the norm as sqrt(epsilon + sum grad^2) (compare_gan's DRAGAN: 1e-4), which keeps the
    norm's gradient finite at a zero input gradient."""
    grad = _input_gradients(critic, points.detach().requires_grad_(True))
    norm = grad.norm(2, dim=1) if epsilon == 0 else (grad.pow(2).sum(dim=1) + epsilon).sqrt()
    return (norm - target).pow(2).mean()


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
    return gradient_norm_penalty(critic, interpolates(real, fake, generator), target)


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


# ---------------------------------------------------------------------------------------------------------
# DRAGAN (Kodali et al., "On Convergence and Stability of GANs", arXiv 1705.07215): the gradient penalty taken
# at perturbed real points, x^ = x + alpha (x_p - x) with the authors' perturbation x_p = x + 0.5 std(x) u.
# LS-GAN (Qi, "Loss-Sensitive Generative Adversarial Networks on Lipschitz Densities", arXiv 1701.06264):
# weight decay on the loss function, its Lipschitz regularization. SN-GAN (Miyato et al., "Spectral
# Normalization for Generative Adversarial Networks", ICLR 2018, arXiv 1802.05957): W_SN = W / sigma(W), eq. (8).
# ---------------------------------------------------------------------------------------------------------


def perturbed_reals(real: Tensor, scale: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """DRAGAN's perturbed batch x_p = x + scale * std(x) * u, u ~ U[0, 1) drawn per element.

    std(x) is one number, the standard deviation of every element of the batch (population, ddof = 0), as the
    reference code's ``minibatch + 0.5 * minibatch.std() * np.random.random(minibatch.shape)``.
    """
    real = real.detach()
    device = generator.device if generator is not None else real.device
    u = torch.rand(real.shape, generator=generator, device=device, dtype=real.dtype).to(real.device)
    return real + scale * real.std(correction=0) * u


def dragan_penalty(
    critic: Critic,
    real: Tensor,
    scale: float = 0.5,
    target: float = 1.0,
    generator: torch.Generator | None = None,
    epsilon: float = 0.0,
) -> Tensor:
    """DRAGAN's penalty E[(||grad D(x^)||_2 - target)^2] (without lambda) at x^ = x + alpha (x_p - x).

    x_p = ``perturbed_reals(real, scale)`` and alpha ~ U[0, 1] per sample, the same per-sample draw as WGAN-GP's
    ``interpolates`` (here between x_p and x, never towards a fake). Differentiable in the critic's parameters.
    """
    x_hat = interpolates(perturbed_reals(real, scale, generator), real, generator)
    return gradient_norm_penalty(critic, x_hat, target, epsilon)


def weight_decay_penalty(module: nn.Module) -> Tensor:
    """1/2 sum_theta ||theta||^2 over ``module``'s parameters: gamma times it adds gamma * theta to each gradient,
    the weight decay the LS-GAN reference code adds to its gradients (``gradParameters + decay_rate * x``)."""
    return 0.5 * sum(p.pow(2).sum() for p in module.parameters())


#: the layers ``spectral_normalize_`` reparametrizes: dense, conv and transposed conv (any dimension)
SPECTRAL_NORM_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def has_spectral_norm(layer: nn.Module) -> bool:
    """Whether ``layer.weight`` is already spectrally normalized (parametrization or the legacy hook)."""
    if hasattr(layer, "weight_orig"):  # torch.nn.utils.spectral_norm (the hook-based API)
        return True
    if not parametrize.is_parametrized(layer, "weight"):
        return False
    return any(isinstance(p, _SpectralNorm) for p in layer.parametrizations.weight)


def spectral_normalize_(module: nn.Module, n_power_iterations: int = 1, warm_up_iterations: int = 200) -> nn.Module:
    """Reparametrize the weight of every dense / conv / transposed-conv layer of ``module`` as W / sigma(W) (in place).

    Uses ``torch.nn.utils.parametrizations.spectral_norm``: sigma(W) = u^T W v of the weight reshaped to
    (out, -1) (transposed convs: their output-channel dim 1 first), u and v refined by ``n_power_iterations``
    power iterations at every forward in training mode, treated as constants in the backward pass, so the
    gradient flows through sigma(W). u and v are warmed up by ``warm_up_iterations`` power iterations on the
    initial W (torch runs 15), so that sigma(W) is close to exact from the first step (random matrices have
    nearly equal top singular values, where the power iteration converges slowly) and the per-forward iteration
    only has to track W's changes. Layers that are already spectrally normalized are left as they are.
    """
    require_positive("n_power_iterations", n_power_iterations, "Miyato et al. use one power iteration per update.")
    layers = [m for m in module.modules() if isinstance(m, SPECTRAL_NORM_LAYERS) and not has_spectral_norm(m)]
    for layer in layers:  # collected first: registering a parametrization changes the module tree
        spectral_norm(layer, n_power_iterations=n_power_iterations)
        normalization = layer.parametrizations.weight[0]
        matrix = normalization._reshape_weight_to_matrix(layer.parametrizations.weight.original.detach())
        normalization._power_method(matrix, warm_up_iterations)
    return module
