"""Generator EMA: an exponential moving average of the generator's weights, taken once per generator update.

Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019 (arXiv 1806.04498), eq. (2):

    theta_EMA^(t) = beta * theta_EMA^(t-1) + (1 - beta) * theta^(t),    theta_EMA^(0) = theta^(0),

where t counts *generator* updates (the discriminator is never averaged) and beta = 0.999 in the paper (0.9999 for
long runs). Two warm-ups from the literature are offered (``ema_beta``):

* ``start`` (Brock et al. 2019, BigGAN, "ema_start"): for the first ``start`` generator updates the average just
  copies the generator (beta = 0), so it does not carry the random initialisation into training;
* ``rampup`` (the ``num_updates`` ramp of TensorFlow's ``ExponentialMovingAverage``, as used by progressive-GAN-era
  code): beta_t = min(beta, (1 + t) / (10 + t)) with t the updates since ``start``, so early averages are short.

Buffers (batch-norm running mean / variance / counts) are *copied* from the generator at every update, not
averaged (what Karras et al. 2020, StyleGAN2-ADA's ``G_ema`` does): the running statistics are those the raw
generator collected, which the averaged weights reuse in eval mode. Recomputing them for the averaged weights
(``torch.optim.swa_utils.update_bn``-style forward passes) would cost generator passes and RNG draws at every
update or evaluation; copying keeps an update a pure function of (EMA, G) and resume bit-exact.

Plain torch: ``zoo.models.base.AdversarialModule`` owns the averaged copy and calls ``update_ema`` after each
generator update.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from zoo.validation import require_at_least


def check_ema_settings(decay: float | None, start: int, rampup: bool) -> None:
    """Raise ``ValueError`` unless ``decay`` is None (EMA off) or in [0, 1), and ``start`` >= 0."""
    if decay is not None and not 0.0 <= float(decay) < 1.0:
        raise ValueError(
            f"ema_decay must be in [0, 1) (Yazıcı et al. 2019 use 0.999), got {decay!r}; use None to turn EMA off."
        )
    require_at_least("ema_start", start, 0, "Use 0 to average from the first generator update.")
    if not isinstance(rampup, bool):
        raise TypeError(f"ema_rampup must be True or False, got {rampup!r}.")


def ema_beta(step: int, decay: float, start: int = 0, rampup: bool = False) -> float:
    """beta of the update made after generator update number ``step`` (1-based).

    0 (copy the generator) while ``step <= start``; then ``decay``, or ``min(decay, (1 + t) / (10 + t))`` with
    ``t = step - start`` when ``rampup``.
    """
    if step <= start:
        return 0.0
    if rampup:
        t = step - start
        return min(decay, (1.0 + t) / (10.0 + t))
    return decay


def make_ema_copy(generator: nn.Module) -> nn.Module:
    """A frozen copy of ``generator`` (theta_EMA^(0) = theta^(0)): no gradients, never in an optimizer."""
    ema = copy.deepcopy(generator)
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, beta: float) -> None:
    """theta_EMA <- beta * theta_EMA + (1 - beta) * theta for every parameter; buffers copied from ``generator``."""
    for averaged, current in zip(ema.parameters(), generator.parameters(), strict=True):
        if beta == 0.0:  # warm-up: an exact copy (lerp's a + (b - a) need not round to b)
            averaged.copy_(current)
        else:
            averaged.lerp_(current, 1.0 - beta)
    for averaged, current in zip(ema.buffers(), generator.buffers(), strict=True):
        averaged.copy_(current)
