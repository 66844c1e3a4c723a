"""Per-net DDP wrappers for ``AdversarialModule`` (the ``gan_ddp`` strategy of ``zoo.strategies``).

Every child net that has parameters gets its own ``DistributedDataParallel`` wrapper. The wrappers live in a
plain dict outside ``_modules``, so state dicts and checkpoints keep their plain keys. While one optimizer's
update runs, ``wrappers_in_place`` puts the wrappers of the nets that optimizer trains into the module's
instance ``__dict__`` under the nets' names: an instance attribute is found before ``nn.Module.__getattr__``
looks in ``_modules``, so ``self.generator`` is the wrapper for exactly that update and the plain net again
once it ends. A net frozen by the optimizer toggle is never called through its wrapper, so its reducer is
never left primed, and each backward reduces exactly the nets being trained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn


def wrap_nets(module: nn.Module, wrap: Callable[[nn.Module], nn.Module]) -> dict[str, nn.Module]:
    """``wrap(child)`` for every child net of ``module`` that has trainable parameters, by child name (a frozen
    copy such as ``generator_ema`` is never trained, so it gets no wrapper)."""
    return {
        name: wrap(child) for name, child in module.named_children() if any(p.requires_grad for p in child.parameters())
    }


def trained_nets(module: nn.Module, names: list[str], optimizer: Any) -> list[str]:
    """Those of the child nets ``names`` whose parameters ``optimizer`` steps."""
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [name for name in names if any(id(p) in stepped for p in module.get_submodule(name).parameters())]


@contextmanager
def wrappers_in_place(module: nn.Module, wrappers: dict[str, nn.Module], optimizer: Any) -> Iterator[None]:
    """Reach the nets ``optimizer`` trains through their wrappers (``module.<name>``) inside the block."""
    names = trained_nets(module, list(wrappers), optimizer) if wrappers else []
    for name in names:
        module.__dict__[name] = wrappers[name]
    try:
        yield
    finally:
        for name in names:
            module.__dict__.pop(name, None)


def set_gradient_sync(wrappers: dict[str, nn.Module], enabled: bool) -> None:
    """Turn the all-reduce of every wrapper on or off (DDP's ``no_sync``, for accumulation micro-batches)."""
    for wrapper in wrappers.values():
        wrapper.require_backward_grad_sync = enabled
