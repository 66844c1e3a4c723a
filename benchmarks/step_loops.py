"""The GAN (non-saturating) update written three ways, for benchmarks/throughput.py.

* ``zoo``: ``Trainer.fit(GAN(...))``, the library's own step (timed in ``benchmarks.throughput``);
* ``hand``: the same updates as a plain PyTorch loop (``hand_step``): fakes made under ``no_grad`` for the D
  update, D frozen (``requires_grad=False``) for the G update, so neither update computes gradients it throws
  away. This is what the zoo step does, without Lightning around it;
* ``reference``: the gradient flow common in public GAN code (``reference_step``): the D update backpropagates
  through G (the fakes are not detached, so G's weight gradients are computed and then zeroed), and the G
  update leaves D trainable (D's weight gradients are computed and discarded). Same nets, losses, optimizers,
  fresh z for each update as the zoo: only the wasted backward work differs.

Every loop runs its forward and backward under ``torch.autocast`` when ``precision`` is ``"bf16-mixed"``,
as Lightning's mixed-precision plugin does around a manual-optimization ``training_step``: one context around the
whole step, with autocast's weight-cast cache off (``cache_enabled=False``, Lightning's setting). With the cache
on, a weight cast to bf16 is reused until the context exits, so the reference loop's G update (D trainable) would
score G against bf16 copies of D's weights made before D's update: stale weights, and a cast it skips that the
other loops pay for.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.utils.flop_counter import FlopCounterMode

Step = Callable[[nn.Module, nn.Module, Optimizer, Optimizer, Tensor, Callable[[int], Tensor]], None]


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``"bf16-mixed"`` (weight-cast cache off, as Lightning's plugin), nothing for ``"32-true"``."""
    if precision == "bf16-mixed":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
    if precision != "32-true":
        raise ValueError(f"precision {precision!r}: use '32-true' or 'bf16-mixed'.")
    return contextlib.nullcontext()


def hand_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer, real: Tensor, noise) -> None:
    """One D update then one G update, with the zoo's gradient flow (see the module docstring)."""
    n = len(real)
    opt_d.zero_grad(set_to_none=True)
    with torch.no_grad():
        fake = G(noise(n))
    (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()).backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    F.softplus(-D(G(noise(n)))).mean().backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)


def reference_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer, real: Tensor, noise) -> None:
    """One D update then one G update, with the reference-style gradient flow (see the module docstring)."""
    n = len(real)
    opt_d.zero_grad(set_to_none=True)
    fake = G(noise(n))  # not detached: the D loss's backward runs through G as well
    (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()).backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)  # D stays trainable: its weight gradients are computed and discarded
    F.softplus(-D(G(noise(n)))).mean().backward()
    opt_g.step()


STEPS: dict[str, Step] = {"hand": hand_step, "reference": reference_step}


def loop_run(
    step: Step,
    nets: tuple[nn.Module, nn.Module, Optimizer, Optimizer],
    noise: Callable[[int], Tensor],
    batches: Iterator[Tensor],
    steps: int,
    warmup: int,
    device: torch.device,
    precision: str,
) -> float:
    """Images/s of ``steps`` timed calls of ``step`` after ``warmup`` untimed ones."""
    G, D, opt_g, opt_d = nets
    start, count = 0.0, 0
    for i in range(steps + warmup):
        if i == warmup:
            synchronize(device)
            start = time.perf_counter()
        real = next(batches)
        with autocast(device, precision):
            step(G, D, opt_g, opt_d, real, noise)
        count += len(real) if i >= warmup else 0
    synchronize(device)
    return count / (time.perf_counter() - start)


def step_flops(step: Step, nets, noise, real: Tensor, device: torch.device, precision: str) -> int:
    """Floating-point operations of one call of ``step`` (matmuls and convolutions, forward and backward, as
    ``torch.utils.flop_counter`` counts them)."""
    G, D, opt_g, opt_d = nets
    with FlopCounterMode(display=False) as counter, autocast(device, precision):
        step(G, D, opt_g, opt_d, real, noise)
    return int(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def minor_faults() -> int:
    """This process's minor page faults so far (pages the kernel mapped in, zero-filled when fresh)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class StepTimer(L.Callback):
    """Wall time and minor page faults (``getrusage``) of training batches ``skip`` .. end (excludes startup and
    warm-up); counts the FLOPs of batch ``skip - 1`` (the last warm-up batch, so the count does not disturb the
    timing) with ``FlopCounterMode``."""

    def __init__(self, skip: int) -> None:
        if skip < 1:
            raise ValueError("StepTimer needs at least one warm-up batch (its FLOPs are counted).")
        self.skip = skip
        self.start = self.end = 0.0
        self.batches = 0
        self.flops = 0
        self.faults = 0
        self._faults_at_start = 0
        self._counter: FlopCounterMode | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.skip - 1:
            self._counter = FlopCounterMode(display=False)
            self._counter.__enter__()
        if batch_idx == self.skip:
            synchronize(pl_module.device)
            self._faults_at_start = minor_faults()
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops, self._counter = int(self._counter.get_total_flops()), None
        synchronize(pl_module.device)
        self.end = time.perf_counter()
        if batch_idx >= self.skip:
            self.faults = minor_faults() - self._faults_at_start
        self.batches = batch_idx + 1 - self.skip
