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
generator collected, which the averaged weights reuse in eval mode. Copying keeps an update a pure function of
(EMA, G) and resume bit-exact. But those statistics belong to the raw weights, not to the average: on Fashion-MNIST
they cost the EMA about 0.25 FID (``benchmarks/results/ema_probe.md``). ``ema_bn="recompute"`` therefore draws
from a *copy* of the EMA whose running statistics are recomputed for the averaged weights
(``recompute_batch_norm``: the cumulative mean / variance over ``ema_bn_batches`` batches of fresh z, as
``torch.optim.swa_utils.update_bn`` does for SWA, Izmailov et al. 2018, and BigGAN's "standing statistics",
Brock et al. 2019). The copy is made when sampling asks for it (``zoo.sampling.generator_weights``), with z from a
local seeded ``torch.Generator``: the saved EMA, the training RNG streams and so resume stay untouched.

Plain torch: ``zoo.models.base.AdversarialModule`` owns the averaged copy and calls ``update_ema`` after each
generator update.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from zoo.validation import require_at_least, require_choice

#: how sampling gets the EMA generator's batch-norm running statistics: those copied from the generator, or
#: recomputed for the averaged weights
EMA_BN_MODES = ("copy", "recompute")
#: z per batch and seed of the recomputation (``recompute_batch_norm``); the batch size of Lucic et al. and DCGAN
RECOMPUTE_BATCH_SIZE = 64
RECOMPUTE_SEED = 4321


def check_ema_settings(decay: float | None, start: int, rampup: bool, bn: str = "copy", bn_batches: int = 100) -> None:
    """Raise ``ValueError`` unless ``decay`` is None (EMA off) or in [0, 1), ``start`` >= 0, ``bn`` one of
    ``EMA_BN_MODES`` and ``bn_batches`` >= 1."""
    if decay is not None and not 0.0 <= float(decay) < 1.0:
        raise ValueError(
            f"ema_decay must be in [0, 1) (Yazıcı et al. 2019 use 0.999), got {decay!r}; use None to turn EMA off."
        )
    require_at_least("ema_start", start, 0, "Use 0 to average from the first generator update.")
    if not isinstance(rampup, bool):
        raise TypeError(f"ema_rampup must be True or False, got {rampup!r}.")
    require_choice("ema_bn", bn, EMA_BN_MODES)
    require_at_least("ema_bn_batches", bn_batches, 1, "Use about 100 batches (6,400 z) for stable statistics.")


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


def has_batch_norm(net: nn.Module) -> bool:
    """Whether ``net`` holds a batch norm with running statistics (conditional batch norms included)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats for m in net.modules())


@torch.no_grad()
def recompute_batch_norm(generator: nn.Module, forward: Callable[[nn.Module], object], batches: int) -> nn.Module:
    """A copy of ``generator`` in eval mode whose batch norms hold statistics of its own activations.

    Every batch norm's running statistics are reset and its momentum set to ``None`` (a cumulative average); the
    copy runs ``forward(copy)`` ``batches`` times in train mode, so each running mean / variance ends as the mean
    over the batches of the batch mean / unbiased batch variance (``torch.optim.swa_utils.update_bn``). ``forward``
    draws the inputs (fresh z, labels for a conditional generator). ``generator`` is not modified.
    """
    require_at_least("batches", batches, 1)
    copied = copy.deepcopy(generator)
    norms = [m for m in copied.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        raise ValueError("the generator has no batch norm with running statistics: there is nothing to recompute.")
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    copied.train()
    for _ in range(batches):
        forward(copied)
    return copied.eval()
