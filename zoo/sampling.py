"""Drawing from a generator for grids and metrics: eval mode, no gradients, the same z at every call, and
which weights draw (the trained generator, or its EMA when the model keeps one: ``generator_weights``)."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from zoo import ema
from zoo.conditioning import check_labels, cycle_labels, is_conditional
from zoo.validation import require_choice


def require_count(name: str, n: Any) -> int:
    """``n`` as an int if it is a positive whole number; otherwise ``TypeError`` (not an integer) or ``ValueError``
    (zero or negative), naming ``name`` and the value."""
    try:
        if isinstance(n, bool):
            raise TypeError
        count = operator.index(n)
    except TypeError:
        kind = type(n).__name__
        raise TypeError(f"{name} must be a positive int (a number of samples), got {n!r} ({kind}).") from None
    if count < 1:
        raise ValueError(f"{name} must be a positive int (a number of samples), got {count}.")
    return count


@contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Put ``nets`` in eval mode; restore each net's own train/eval mode afterwards (gradients untouched:
    combine with ``torch.no_grad()``, which a generator function must not hold across its ``yield``)."""
    modes = [net.training for net in nets]
    try:
        for net in nets:
            net.eval()
        yield
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)


#: which generator weights draw: the EMA when the model keeps one (``auto``), the EMA (``ema``, an error without
#: one) or the trained generator (``raw``)
WEIGHTS = ("auto", "ema", "raw")


def resolve_weights(model: nn.Module, weights: str = "auto") -> str:
    """``"ema"`` or ``"raw"``: the weights ``weights`` selects on ``model`` (``ValueError`` for ``ema`` without an
    EMA generator, or an unknown choice)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}.")
    has_ema = getattr(model, "generator_ema", None) is not None
    if weights == "ema" and not has_ema:
        raise ValueError(
            f"weights='ema' but this {type(model).__name__} keeps no generator EMA: train it with ema_decay "
            "(e.g. model.init_args.ema_decay: 0.999), or use weights='raw' / 'auto'."
        )
    return "ema" if has_ema and weights != "raw" else "raw"


@contextmanager
def generator_swapped(model: nn.Module, net: nn.Module) -> Iterator[None]:
    """Inside the block ``model.generator`` is ``net``. The net is put in the instance ``__dict__``, found before
    ``nn.Module.__getattr__`` looks in ``_modules``, so every path that reads ``model.generator`` (``generate``,
    ``grid_images``, ...) draws from it; nothing is registered, copied or saved, and the trained net is untouched."""
    missing = object()
    previous = model.__dict__.get("generator", missing)
    model.__dict__["generator"] = net
    try:
        yield
    finally:
        if previous is missing:
            model.__dict__.pop("generator", None)
        else:
            model.__dict__["generator"] = previous


def ema_batch_norm(model: nn.Module) -> str:
    """How the EMA generator of ``model`` gets its batch-norm statistics when it samples: ``copy`` or
    ``recompute`` (hyperparameter ``ema_bn``; ``zoo.ema``)."""
    return str(getattr(model, "hparams", {}).get("ema_bn", "copy"))


def set_ema_batch_norm(model: nn.Module, mode: str | None) -> None:
    """Make ``model``'s EMA sample with batch-norm statistics ``mode`` (``copy`` or ``recompute``; ``None`` keeps
    the model's own ``ema_bn``). A sampling choice: the trained weights and the saved EMA do not change."""
    if mode is None:
        return
    require_choice("ema_bn", mode, ema.EMA_BN_MODES)
    model.hparams.ema_bn = mode


def sampling_ema(model: nn.Module) -> nn.Module:
    """The EMA generator sampling uses: ``model.generator_ema`` itself (``ema_bn="copy"``, or no batch norm), or a
    copy whose running statistics are recomputed for the averaged weights (``ema_bn="recompute"``;
    ``zoo.ema.recompute_batch_norm`` over ``ema_bn_batches`` batches of z drawn from a local generator seeded with
    ``zoo.ema.RECOMPUTE_SEED``, so the global RNG streams are untouched). The copy is kept until the EMA's tensors
    change (their in-place version counters), its device or dtype does."""
    averaged = model.generator_ema
    if ema_batch_norm(model) != "recompute" or not ema.has_batch_norm(averaged):
        return averaged
    tensors = [*averaged.parameters(), *averaged.buffers()]
    key = (id(averaged), tuple(t._version for t in tensors), str(tensors[0].device), tensors[0].dtype)
    cached = model.__dict__.get("_ema_recomputed_bn")
    if cached is not None and cached[0] == key:
        return cached[1]
    rng = torch.Generator().manual_seed(ema.RECOMPUTE_SEED)

    def forward(net: nn.Module) -> None:
        z = model.sample_z(ema.RECOMPUTE_BATCH_SIZE, generator=rng).to(tensors[0].device)
        with generator_swapped(model, net):
            draw(model, z)

    recomputed = ema.recompute_batch_norm(averaged, forward, int(model.hparams.get("ema_bn_batches", 100)))
    model.__dict__["_ema_recomputed_bn"] = (key, recomputed)
    return recomputed


@contextmanager
def generator_weights(model: nn.Module, weights: str = "auto") -> Iterator[str]:
    """Inside the block ``model.generator`` is the EMA generator (``sampling_ema``) when ``weights`` selects it;
    yields the weights used (``"ema"`` or ``"raw"``); see ``generator_swapped``."""
    used = resolve_weights(model, weights)
    if used == "raw":
        yield used
        return
    with generator_swapped(model, sampling_ema(model)):
        yield used


def fixed_z(model: nn.Module, n: int, seed: int) -> Tensor:
    """The n latent codes ``model.sample_z`` draws from a generator seeded with ``seed`` (same z every call)."""
    n = require_count("n", n)
    return model.sample_z(n, generator=torch.Generator().manual_seed(seed))


def draw(model: nn.Module, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """``G(z)``, or for a conditional model (``zoo.conditioning``) ``G(z, labels)`` with ``labels`` cycling through the
    classes when None. Gradients and train/eval mode are the caller's."""
    if is_conditional(model):
        if labels is None:
            labels = cycle_labels(len(z), model.num_classes, z.device)
        labels = check_labels(labels, len(z), model.num_classes, type(model).__name__)
        return model.generate_from(z, labels.to(z.device))
    if labels is not None:
        raise TypeError(
            f"labels were given, but {type(model).__name__} is unconditional (it has no num_classes / label_kind): "
            "drop the labels, or use a conditional variant (CGAN, ACGAN, ProjectionGAN, InfoGAN)."
        )
    return model.generator(z)


def generate_batches(generator: nn.Module, z: Tensor, batch_size: int) -> Iterator[Tensor]:
    """``generator(z)`` in eval mode, without gradients, ``batch_size`` codes at a time (float32)."""
    batch_size = require_count("batch_size", batch_size)
    with eval_mode(generator):
        for chunk in z.split(batch_size):
            with torch.no_grad():
                images = generator(chunk).float()
            yield images


def fixed_z_samples(model: nn.Module, n: int, seed: int) -> Tensor:
    """G(z) for ``fixed_z(model, n, seed)`` in eval mode, on the CPU as float32 (grids, toy metrics); conditional
    models get labels cycling through the classes."""
    with eval_mode(model.generator), torch.no_grad():
        return draw(model, fixed_z(model, n, seed)).float().cpu()
