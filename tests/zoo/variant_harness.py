"""Helpers for the registry-wide variant tests: tiny models, tiny data, and an optimizer-step spy."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from datamodules import FashionMNISTData, FashionMNISTPairData
from zoo import get_variant

TINY = dict(latent_dim=8, width=8)


def tiny_model(name: str, **kwargs) -> L.LightningModule:
    return get_variant(name)(**{**TINY, **kwargs})


def tiny_data(name: str, fashion_dir: Path, batch_size: int = 8) -> L.LightningDataModule:
    """Data of the kind the variant consumes (``data_kind`` class attribute, default ``images``)."""
    kind = getattr(get_variant(name), "data_kind", "images")
    if kind == "images":
        return FashionMNISTData(data_dir=str(fashion_dir), batch_size=batch_size)
    if kind == "unpaired":  # batches (images_a, images_b): the Fashion-MNIST toy pair
        return FashionMNISTPairData(data_dir=str(fashion_dir), batch_size=batch_size)
    raise NotImplementedError(f"no tiny test data for data_kind={kind!r}: add it to tests/zoo/variant_harness.py")


def tiny_fit(
    name: str, root: Path, fashion_dir: Path, batches: int, callbacks: list | tuple = ()
) -> tuple[L.LightningModule, L.LightningDataModule]:
    """(model, data) after one seeded epoch of ``batches`` batches of the tiny variant on tiny data (seed 0): the
    same run every call, so a probe's callbacks can be shown to leave it bit-identical."""
    from tests.conftest import tiny_trainer

    L.seed_everything(0, verbose=False)
    model, data = tiny_model(name), tiny_data(name, fashion_dir)
    trainer = tiny_trainer(root, max_steps=-1, limit_train_batches=batches, max_epochs=1, callbacks=list(callbacks))
    trainer.fit(model, data)
    return model, data


class OptimizerSpy(L.Callback):
    """Wraps every optimizer's ``step`` to check that an update of one optimizer touches only its own params.

    At each ``step`` of optimizer k it records violations when (a) a parameter outside k changes during the
    step, or (b) a parameter outside k got a different ``.grad`` since the previous step of any optimizer
    (i.e. k's backward leaked gradients into another net). It also counts steps per optimizer and checks
    that each step changes at least one of k's own parameters (the spy can fail both ways).
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.steps: list[int] = []
        self.moved: list[int] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        named = dict(pl_module.named_parameters())
        names = {id(p): n for n, p in named.items()}
        optimizers = trainer.optimizers
        self.steps = [0] * len(optimizers)
        self.moved = [0] * len(optimizers)
        last_grads = {n: None for n in named}

        def grads() -> dict[str, torch.Tensor | None]:
            return {n: None if p.grad is None else p.grad.clone() for n, p in named.items()}

        def same(a, b) -> bool:
            return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))

        for k, opt in enumerate(optimizers):
            own = {names[id(p)] for group in opt.param_groups for p in group["params"]}
            original = opt.step

            def step(*args, _k=k, _own=own, _original=original, **kwargs):
                before = {n: p.detach().clone() for n, p in named.items()}
                now = grads()
                for n in named:
                    if n not in _own and not same(now[n], last_grads[n]):
                        self.violations.append(f"optimizer {_k} backward changed grad of {n}")
                result = _original(*args, **kwargs)
                moved = False
                for n, p in named.items():
                    changed = not torch.equal(before[n], p.detach())
                    if changed and n not in _own:
                        self.violations.append(f"optimizer {_k} step changed {n}")
                    moved |= changed and n in _own
                self.steps[_k] += 1
                self.moved[_k] += int(moved)
                last_grads.update(grads())
                return result

            opt.step = step
