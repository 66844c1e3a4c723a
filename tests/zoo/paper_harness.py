"""Mechanics for the paper-line tests of the noise -> image variants (``tests/zoo/test_paper_lines.py``).

A model is trained by a real ``Trainer.fit`` in float64 with plain SGD (momentum 0) on batches the test chose,
its ``sample_z`` replaced by a queue of known z's, and a ``Recorder`` callback noting every optimizer step
(which net, the parameters of both nets before and after it, the discriminator's inputs since the previous
step) and both nets' parameters after every batch. The test then replays the paper's algorithm by hand
(``sgd_step`` on a copy of the nets taken before training, with ``torch.func.functional_call``) and compares.
Nothing here calls ``zoo.losses`` or ``zoo.regularizers``: the expectations are written in the test.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import tiny_trainer

DTYPE = torch.float64
LR_G, LR_D = 0.05, 0.1  # different on purpose: each net must be stepped by its own optimizer

#: tiny MLP nets on 2-D points, no normalization, SGD with momentum betas[0] = 0: theta <- theta - lr * grad
TINY_2D = dict(
    image_shape=(2,),
    latent_dim=3,
    width=8,
    g_norm="none",
    d_norm="none",
    optimizer="sgd",
    betas=(0.0, 0.999),
    lr=LR_G,
    lr_d=LR_D,
)

Params = dict[str, Tensor]


def params_of(net: nn.Module) -> Params:
    return {n: p.detach().to(DTYPE).clone() for n, p in net.named_parameters()}


class QueuedZ:
    """Stands in for ``model.sample_z``: hands out the queued z's in order and records the n of every call."""

    def __init__(self, zs: list[Tensor]) -> None:
        self.queue = [z.clone() for z in zs]
        self.calls: list[int] = []

    def __call__(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        self.calls.append(int(n))
        if not self.queue:
            raise AssertionError(f"draw {len(self.calls)} of z: more draws than the paper's algorithm makes")
        return self.queue.pop(0)


@dataclass
class Step:
    """One ``optimizer.step()``: which net it belongs to, both nets around it, D's inputs since the last step."""

    net: str
    before: dict[str, Params]
    after: dict[str, Params] = field(default_factory=dict)
    d_inputs: list[tuple[Tensor, bool]] = field(default_factory=list)  # (input, input.requires_grad)


class Recorder(L.Callback):
    """Records optimizer steps, the discriminator's inputs, both nets and the logged metrics after every batch.

    It also unfreezes G's parameters during any G forward that runs with gradients enabled: a critic step
    whose fake batch is neither made under ``torch.no_grad`` nor detached then hands D an input that carries
    G's graph (``requires_grad``), which the test can see even though Lightning's optimizer toggling would
    otherwise hide it. Correct code is unaffected (its critic-step fakes are made without gradients, and G's
    parameters already require grad in the generator step).
    """

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.batch_end: list[dict[str, Params]] = []
        self.metrics: list[dict[str, float]] = []  # the logged metrics after every batch
        self._pending: list[tuple[Tensor, bool]] = []
        self._handles: list = []

    def _nets(self, module) -> dict[str, nn.Module]:
        return {"d": module.discriminator, "g": module.generator}

    def _snapshot(self, module) -> dict[str, Params]:
        return {k: params_of(net) for k, net in self._nets(module).items()}

    def on_train_start(self, trainer, pl_module) -> None:
        nets = self._nets(pl_module)
        owner = {id(p): k for k, net in nets.items() for p in net.parameters()}
        for opt in trainer.optimizers:
            kinds = {owner.get(id(p)) for group in opt.param_groups for p in group["params"]}
            if len(kinds) != 1 or None in kinds:
                raise AssertionError(f"an optimizer holds parameters of {kinds}: expected one net per optimizer")
            (kind,) = kinds

            def pre(opt, args, kwargs, kind=kind):
                self.steps.append(Step(kind, self._snapshot(pl_module), d_inputs=self._pending))
                self._pending = []

            def post(opt, args, kwargs):
                self.steps[-1].after = self._snapshot(pl_module)

            self._handles += [opt.register_step_pre_hook(pre), opt.register_step_post_hook(post)]

        def record_d_input(module, args):
            x = args[0]
            self._pending.append((x.detach().clone(), bool(x.requires_grad)))

        def unfreeze_g(module, args):
            if torch.is_grad_enabled():
                for p in module.parameters():
                    p.requires_grad_(True)

        self._handles.append(nets["d"].register_forward_pre_hook(record_d_input))
        self._handles.append(nets["g"].register_forward_pre_hook(unfreeze_g))

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        self.batch_end.append(self._snapshot(pl_module))
        self.metrics.append({k: float(v) for k, v in trainer.callback_metrics.items()})

    def on_train_end(self, trainer, pl_module) -> None:
        for handle in self._handles:
            handle.remove()


@dataclass
class Run:
    """What one fit did, and what it was given."""

    model: L.LightningModule
    d_net: nn.Module  # copies of the nets taken before training (float64, no hooks), for the replay
    g_net: nn.Module
    d0: Params
    g0: Params
    batches: list[Tensor]
    zs: list[Tensor]
    sampler: QueuedZ
    recorder: Recorder


def fixed_batches(n_batches: int, batch_size: int, seed: int = 1) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [1.5 * torch.randn(batch_size, 2, generator=g, dtype=DTYPE) + 0.5 for _ in range(n_batches)]


def queued_z(n: int, batch_size: int, latent_dim: int, seed: int = 2) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch_size, latent_dim, generator=g, dtype=DTYPE) for _ in range(n)]


def fit_on_fixed_batches(model, batches: list[Tensor], zs: list[Tensor], root: Path) -> Run:
    """``Trainer.fit`` (float64) over ``batches`` in order, with ``model.sample_z`` handing out ``zs``."""
    d_net, g_net = copy.deepcopy(model.discriminator).to(DTYPE), copy.deepcopy(model.generator).to(DTYPE)
    d0, g0 = params_of(model.discriminator), params_of(model.generator)
    sampler = QueuedZ(zs)
    model.sample_z = sampler
    recorder = Recorder()
    data = DataLoader(TensorDataset(torch.cat(batches)), batch_size=len(batches[0]), shuffle=False)
    # log_every_n_steps=1: the recorder reads every batch's logged losses (zoo.log_cadence)
    trainer = tiny_trainer(root, max_epochs=1, precision="64-true", callbacks=[recorder], log_every_n_steps=1)
    trainer.fit(model, data)
    return Run(model, d_net, g_net, d0, g0, batches, zs, sampler, recorder)


# ------------------------------------------------------------------------------ the replay's arithmetic
def leaf(params: Params) -> Params:
    return {n: v.detach().clone().requires_grad_(True) for n, v in params.items()}


def call(net: nn.Module, params: Params, x: Tensor) -> Tensor:
    return functional_call(net, params, (x,))


def sgd_step(params: Params, loss_of: Callable[[Params], Tensor], lr: float) -> Params:
    """theta - lr * d loss / d theta (the update of SGD with momentum 0)."""
    p = leaf(params)
    grads = torch.autograd.grad(loss_of(p), list(p.values()), allow_unused=True)
    return {n: (v - lr * (torch.zeros_like(v) if g is None else g)).detach() for (n, v), g in zip(p.items(), grads)}


def nearest(rows: Tensor, ref: Tensor, chunk: int = 1024) -> Tensor:
    """For every row of ``rows``, the distance to the nearest row of ``ref``."""
    exact = "donot_use_mm_for_euclid_dist"  # the matrix-product shortcut loses ~1e-8 to cancellation
    return torch.cat(
        [torch.cdist(rows[i : i + chunk], ref, compute_mode=exact).min(1).values for i in range(0, len(rows), chunk)]
    )


def assert_params_close(actual: Params, expected: Params, what: str, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    assert actual.keys() == expected.keys(), what
    for n in expected:
        torch.testing.assert_close(actual[n], expected[n], rtol=rtol, atol=atol, msg=lambda m, n=n: f"{what}, {n}: {m}")


def last_linear(net: nn.Module) -> nn.Linear:
    return [m for m in net.modules() if isinstance(m, nn.Linear)][-1]


def spread_scores(d_scale: float = 5.0, d_bias: float = -0.5, g_scale: float = 10.0) -> Callable[[nn.Module], None]:
    """Hand-set output layers. At initialization the tiny nets' fakes and scores are nearly constant; scaling
    G's and D's last layers and setting D's output bias spreads them and moves the scores away from 0, so each
    loss is exercised off a single point (the hinge cases use this to put scores on chosen sides of the margins).
    """

    def prepare(model) -> None:
        with torch.no_grad():
            last_linear(model.generator).weight.mul_(g_scale)
            last_linear(model.discriminator).weight.mul_(d_scale)
            last_linear(model.discriminator).bias.fill_(d_bias)

    return prepare


def same_params(a: Params, b: Params) -> bool:
    return all(torch.equal(a[n], b[n]) for n in a)
