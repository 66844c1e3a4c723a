"""CycleGAN (Zhu et al., ICCV 2017) line by line: one training iteration checked against the paper's formulas.

Names: X = domain A (``x``), Y = domain B (``y``); G: X -> Y = ``generator``, F: Y -> X = ``generator_ba``,
D_Y = ``discriminator`` (judges G(x) against y), D_X = ``discriminator_a`` (judges F(y) against x).

Pinned lines (reference code: junyanz/pytorch-CycleGAN-and-pix2pix, per-pixel means):

* G/F objective, eq. (3) with the least-squares GAN terms of Section 4 (not halved) and the identity loss of
  Section 5.2 weighted lambda_identity * lambda::

      E[(D_Y(G(x)) - 1)^2] + E[(D_X(F(y)) - 1)^2]
      + lambda (E|F(G(x)) - x| + E|G(F(y)) - y|) + lambda_identity lambda (E|G(y) - y| + E|F(x) - x|)

* D objective, Section 4, halved: 0.5 (E[(D_Y(y) - 1)^2] + E[D_Y(fake_y)^2]) + 0.5 (E[(D_X(x) - 1)^2] +
  E[D_X(fake_x)^2]), where fake_y / fake_x are the image history's output (Section 4) for G(x) / F(y), detached.
* Order (as the reference code's ``optimize_parameters``): the G/F update first, judged by D_X/D_Y as they were
  before the iteration; then the D_X/D_Y update on the fakes of that same forward pass (made by G/F before
  their update), passed through the image pools.
* LR schedule (Section 4; the reference code's ``linear`` policy with epoch_count = 1): factor
  1 - max(0, e + 1 - n) / (n_decay + 1) for 0-based epoch e, clamped at 0.

Method: SGD without momentum (``optimizer="sgd", betas=(0.0, 0.999)``), so an update is theta - lr * grad. One
``Trainer.fit`` iteration in float64 on batches fixed here; the gradient each net received is recovered as
(theta_before - theta_after) / lr and compared with the gradient of the formula above, written out in this file
and evaluated with ``torch.func.functional_call`` on copies of the nets as they were before the iteration.
Norms are "none", so no batch statistics enter. Inputs are recorded with forward pre-hooks and a wrapper around
each pool's ``query``; the optimizers' step order with a wrapper around ``step``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial

import lightning as L
import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import OptimizerSpy
from zoo import CycleGAN
from zoo.models.cyclegan import linear_decay

SHAPE = (1, 16, 16)  # the ResNet generator's smallest size
BATCH = 4
LR_G, LR_D = 0.5, 0.25  # different, so an update made with the wrong optimizer shows
pytestmark = pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")  # our spies
NETS = ("generator", "generator_ba", "discriminator", "discriminator_a")  # G, F, D_Y, D_X


# ------------------------------------------------------------------------------------------- harness


def fixed_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """x from domain A, y from domain B (a different distribution), float64."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(BATCH, *SHAPE, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.rand(BATCH, *SHAPE, generator=g, dtype=torch.float64) * 0.8 + 0.1
    return x, y


def build(pool_size: int, **hparams) -> CycleGAN:
    hparams = {"lambda_cycle": 3.0, "lambda_identity": 0.5, **hparams}
    model = CycleGAN(
        image_shape=SHAPE,
        width=4,
        n_blocks=1,
        d_layers=1,
        g_norm="none",
        d_norm="none",
        optimizer="sgd",
        betas=(0.0, 0.999),  # SGD momentum = betas[0] = 0
        lr=LR_G,
        lr_d=LR_D,
        pool_size=pool_size,
        pool_seed=1,
        **hparams,
    )
    torch.manual_seed(0)  # seeded PyTorch-default weights: larger than N(0, 0.02), so every net's output matters
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            module.reset_parameters()
    return model.double()


class StepOrder(L.Callback):
    """Records ``"g"`` / ``"d"`` at every step of the first / second optimizer (G/F, D_X/D_Y)."""

    def __init__(self, record: list[str]) -> None:
        self.record = record

    def on_train_start(self, trainer, pl_module):
        for name, opt in zip("gd", trainer.optimizers):
            original = opt.step

            def step(*args, _name=name, _original=original, **kwargs):
                self.record.append(_name)
                return _original(*args, **kwargs)

            opt.step = step


@dataclass
class Iteration:
    """One training iteration: the nets before and after, what the pools and discriminators saw, step order."""

    model: CycleGAN
    x: torch.Tensor
    y: torch.Tensor
    before: dict[str, nn.Module]
    stored: dict[str, torch.Tensor] = field(default_factory=dict)  # pool contents before the iteration
    pool_in: dict[str, torch.Tensor] = field(default_factory=dict)
    pool_out: dict[str, torch.Tensor] = field(default_factory=dict)
    d_calls: list[tuple[str, int, torch.Tensor]] = field(default_factory=list)  # (net, steps so far, input)
    order: list[str] = field(default_factory=list)
    spy: OptimizerSpy = field(default_factory=OptimizerSpy)

    def grad(self, name: str) -> dict[str, torch.Tensor]:
        """The gradient net ``name`` was updated with: (theta_before - theta_after) / lr."""
        lr = LR_G if name.startswith("generator") else LR_D
        after = dict(getattr(self.model, name).named_parameters())
        return {k: (p - after[k].detach()) / lr for k, p in self.before[name].named_parameters()}


def one_iteration(tmp_path, pool_size: int = 0, **hparams) -> Iteration:
    """One ``fit`` iteration (one batch: a G/F update, then a D_X/D_Y update); with ``pool_size > 0`` both pools
    start full of stored images, so the pools' output differs from the fresh fakes."""
    model = build(pool_size, **hparams)
    x, y = fixed_batch()
    it = Iteration(model, x, y, before={name: copy.deepcopy(getattr(model, name)) for name in NETS})
    if pool_size:
        g = torch.Generator().manual_seed(1)
        for key, pool in (("a", model.pool_a), ("b", model.pool_b)):
            it.stored[key] = torch.rand(pool_size, *SHAPE, generator=g, dtype=torch.float64) - 3.0  # unlike any fake
            pool.images = [image.clone() for image in it.stored[key]]
    for key, pool in (("a", model.pool_a), ("b", model.pool_b)):

        def query(images, _key=key, _original=pool.query):
            out = _original(images)
            it.pool_in[_key], it.pool_out[_key] = images.detach().clone(), out.detach().clone()
            return out

        pool.query = query
    for name in ("discriminator", "discriminator_a"):

        def record(module, args, _name=name):
            it.d_calls.append((_name, len(it.order), args[0].detach().clone()))

        getattr(model, name).register_forward_pre_hook(record)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1, callbacks=[StepOrder(it.order), it.spy])
    trainer.fit(model, loader)
    return it


def call(net: nn.Module, params: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    return functional_call(net, params, (images,))


def leaf_params(nets: dict[str, nn.Module], names) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: p.detach().clone().requires_grad_() for k, p in nets[name].named_parameters()} for name in names}


def as_functions(nets, params):
    """name -> images -> net(images) evaluated with ``params[name]``."""
    return {name: partial(call, nets[name], params[name]) for name in params}


def expected_generator_grads(it: Iteration, lam: float, lam_id: float) -> dict[str, dict[str, torch.Tensor]]:
    """Gradient of the paper's G/F objective at the nets before the iteration (D_X, D_Y as they were too)."""
    params = leaf_params(it.before, NETS)
    nets = as_functions(it.before, params)
    G, F, D_Y, D_X = (nets[name] for name in NETS)
    x, y = it.x, it.y
    adversarial = ((D_Y(G(x)) - 1) ** 2).mean() + ((D_X(F(y)) - 1) ** 2).mean()
    cycle = (F(G(x)) - x).abs().mean() + (G(F(y)) - y).abs().mean()
    identity = (G(y) - y).abs().mean() + (F(x) - x).abs().mean()
    loss = adversarial + lam * cycle + lam_id * lam * identity
    out = {}
    for name in ("generator", "generator_ba"):
        grads = torch.autograd.grad(loss, list(params[name].values()), retain_graph=True)
        out[name] = dict(zip(params[name], grads))
    return out


def expected_discriminator_grads(it: Iteration, fake_y: torch.Tensor, fake_x: torch.Tensor):
    """Gradient of the halved least-squares D objective at D_X, D_Y before the iteration."""
    params = leaf_params(it.before, ("discriminator", "discriminator_a"))
    nets = as_functions(it.before, params)
    D_Y, D_X = nets["discriminator"], nets["discriminator_a"]
    x, y = it.x, it.y
    loss_y = 0.5 * (((D_Y(y) - 1) ** 2).mean() + (D_Y(fake_y) ** 2).mean())
    loss_x = 0.5 * (((D_X(x) - 1) ** 2).mean() + (D_X(fake_x) ** 2).mean())
    loss = loss_y + loss_x
    out = {}
    for name in params:
        grads = torch.autograd.grad(loss, list(params[name].values()), retain_graph=True)
        out[name] = dict(zip(params[name], grads))
    return out


def fresh_fakes(it: Iteration) -> tuple[torch.Tensor, torch.Tensor]:
    """G(x) and F(y) made by G and F as they were before the iteration."""
    with torch.no_grad():
        return it.before["generator"](it.x), it.before["generator_ba"](it.y)


def assert_grads(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str) -> None:
    assert actual.keys() == expected.keys()
    assert any(g.abs().max() > 1e-6 for g in expected.values()), f"{what}: the expectation is degenerate (zero)"
    for k in expected:
        torch.testing.assert_close(actual[k], expected[k], rtol=1e-7, atol=1e-10, msg=lambda m, k=k: f"{what} {k}: {m}")


def rows(images: torch.Tensor) -> list[torch.Tensor]:
    return list(images.reshape(len(images), -1))


def same_images(seen: list[torch.Tensor], allowed: list[torch.Tensor]) -> bool:
    """``seen`` and ``allowed`` hold the same images (as multisets, up to float64 rounding)."""
    left = list(allowed)
    for image in seen:
        match = next((i for i, a in enumerate(left) if torch.allclose(image, a, rtol=0, atol=1e-12)), None)
        if match is None:
            return False
        left.pop(match)
    return not left


# ------------------------------------------------------------------------------------- G/F update


@pytest.mark.parametrize(
    ("lam", "lam_id"),
    [
        (0.0, 0.0),  # the adversarial terms alone: present, not halved, each generator judged by its own D
        (3.0, 0.0),  # + lambda times both cycle terms
        (3.0, 0.5),  # + the paper's identity weight 0.5 lambda
        (2.0, 1.5),  # identity weight lambda_identity * lambda = 3, not lambda_identity = 1.5
    ],
)
def test_generator_update_is_the_gradient_of_the_paper_objective(tmp_path, lam, lam_id):
    it = one_iteration(tmp_path, lambda_cycle=lam, lambda_identity=lam_id)
    expected = expected_generator_grads(it, lam, lam_id)
    for name in ("generator", "generator_ba"):
        assert_grads(it.grad(name), expected[name], f"{name} (lambda={lam}, lambda_identity={lam_id})")


def test_adversarial_terms_move_both_generators_when_lambda_is_zero(tmp_path):
    """With lambda = 0 the objective is E[(D_Y(G(x)) - 1)^2] + E[(D_X(F(y)) - 1)^2] only: both G and F move,
    and G's gradient flows through D_Y alone, F's through D_X alone."""
    it = one_iteration(tmp_path, lambda_cycle=0.0, lambda_identity=0.0)
    nets = it.before
    for gen, disc, inputs in (("generator", "discriminator", it.x), ("generator_ba", "discriminator_a", it.y)):
        params = {k: p.detach().clone().requires_grad_() for k, p in nets[gen].named_parameters()}
        scores = nets[disc](call(nets[gen], params, inputs))
        grads = torch.autograd.grad(((scores - 1) ** 2).mean(), list(params.values()))
        expected = dict(zip(params, grads))
        assert_grads(it.grad(gen), expected, gen)
        assert max(g.abs().max() for g in it.grad(gen).values()) > 1e-4  # it did move


# --------------------------------------------------------------------------------------- D update


def test_discriminator_update_is_the_halved_lsgan_loss_on_the_pool_output(tmp_path):
    it = one_iteration(tmp_path, pool_size=BATCH)
    fake_y, fake_x = fresh_fakes(it)
    # the pools were queried with the fakes of the G step, made by G/F before their update: G(x) for D_Y's pool
    torch.testing.assert_close(it.pool_in["b"], fake_y, rtol=0, atol=1e-12)
    torch.testing.assert_close(it.pool_in["a"], fake_x, rtol=0, atol=1e-12)
    for key in "ab":  # the pools were full: some stored images came back in place of fresh fakes
        assert not torch.equal(it.pool_out[key], it.pool_in[key]), f"pool {key} returned only fresh fakes"
        for image, fresh in zip(rows(it.pool_out[key]), rows(it.pool_in[key])):
            assert torch.equal(image, fresh) or any(torch.equal(image, s) for s in rows(it.stored[key]))
    expected = expected_discriminator_grads(it, fake_y=it.pool_out["b"], fake_x=it.pool_out["a"])
    for name in ("discriminator", "discriminator_a"):
        assert_grads(it.grad(name), expected[name], name)
    assert it.spy.violations == []  # D's step moved no G/F parameter and put no gradient in G/F


def test_discriminator_update_without_pool_uses_the_fakes_of_the_generator_step(tmp_path):
    """pool_size = 0: D_Y sees exactly G(x) and D_X exactly F(y), made by G/F before their update, detached."""
    it = one_iteration(tmp_path, pool_size=0)
    fake_y, fake_x = fresh_fakes(it)
    expected = expected_discriminator_grads(it, fake_y=fake_y, fake_x=fake_x)
    for name in ("discriminator", "discriminator_a"):
        assert_grads(it.grad(name), expected[name], name)
    assert it.spy.violations == []


# ------------------------------------------------------------------------------ order, who judges what


def test_generator_step_first_then_each_discriminator_judges_its_own_domain(tmp_path):
    """Step order G/F then D_X/D_Y. Before any step (the G/F update) D_Y judged G(x) and D_X judged F(y); after
    the G/F step (the D update) D_Y judged y and the pool's G(x) history, D_X judged x and the F(y) history."""
    it = one_iteration(tmp_path, pool_size=BATCH)
    assert it.order == ["g", "d"]
    fake_y, fake_x = fresh_fakes(it)
    seen = {(name, steps): [] for name in ("discriminator", "discriminator_a") for steps in (0, 1)}
    for name, steps, images in it.d_calls:
        assert steps in (0, 1), f"{name} evaluated after both updates"
        seen[name, steps] += rows(images)
    assert same_images(seen["discriminator", 0], rows(fake_y))
    assert same_images(seen["discriminator_a", 0], rows(fake_x))
    assert same_images(seen["discriminator", 1], rows(it.y) + rows(it.pool_out["b"]))
    assert same_images(seen["discriminator_a", 1], rows(it.x) + rows(it.pool_out["a"]))


# ------------------------------------------------------------------------------------- LR schedule


def reference_factor(epoch: int, n: int, n_decay: int) -> float:
    """The reference code's ``linear`` rule, epoch_count = 1, clamped at 0 after the last decay epoch:
    ``lr_l = 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)``."""
    return max(0.0, 1.0 - max(0, epoch + 1 - n) / float(n_decay + 1))


@pytest.mark.parametrize(("n", "n_decay"), [(100, 100), (2, 2), (3, 1), (0, 4), (2, 0)])
def test_linear_decay_is_the_reference_rule(n, n_decay):
    factors = [linear_decay(e, n, n_decay) for e in range(n + n_decay + 3)]
    assert factors == pytest.approx([reference_factor(e, n, n_decay) for e in range(n + n_decay + 3)], abs=1e-12)
    assert factors[:n] == [1.0] * n  # the full rate for exactly n epochs
    if n_decay:  # then n_decay epochs 1 - k / (n_decay + 1), k = 1..n_decay, all > 0
        assert factors[n : n + n_decay] == pytest.approx([1 - k / (n_decay + 1) for k in range(1, n_decay + 1)])
    assert factors[n + n_decay :] == [0.0] * 3  # zero from epoch n + n_decay on


def test_schedulers_step_both_optimizers_by_the_reference_rule():
    model = CycleGAN(
        image_shape=SHAPE, width=2, n_blocks=1, d_layers=1, constant_epochs=2, decay_epochs=3, lr=1e-3, lr_d=4e-3
    )
    optimizers, schedulers = model.configure_optimizers()
    for epoch in range(8):
        factor = reference_factor(epoch, 2, 3)
        assert [opt.param_groups[0]["lr"] for opt in optimizers] == pytest.approx([1e-3 * factor, 4e-3 * factor])
        for opt, scheduler in zip(optimizers, schedulers):
            opt.step()
            scheduler.step()


class EpochLRs(L.Callback):
    def __init__(self) -> None:
        self.lrs: list[list[float]] = []

    def on_train_epoch_start(self, trainer, pl_module):
        self.lrs.append([opt.param_groups[0]["lr"] for opt in trainer.optimizers])


def test_resumed_schedule_continues_the_reference_rule(tmp_path):
    """Stop after 2 epochs (one into the decay), resume to 5: the resumed epochs get the reference factors."""
    x, y = fixed_batch()
    loader = DataLoader(TensorDataset(x.float(), y.float()), batch_size=BATCH)
    kwargs = dict(image_shape=SHAPE, width=2, n_blocks=1, d_layers=1, constant_epochs=1, decay_epochs=3, lr=1e-3)
    first, resumed = EpochLRs(), EpochLRs()
    fit = tiny_trainer(tmp_path, max_epochs=2, limit_train_batches=1, callbacks=[first])
    fit.fit(CycleGAN(**kwargs), loader)
    fit.save_checkpoint(tmp_path / "two_epochs.ckpt")
    fit = tiny_trainer(tmp_path, max_epochs=5, limit_train_batches=1, callbacks=[resumed])
    fit.fit(CycleGAN(**kwargs), loader, ckpt_path=tmp_path / "two_epochs.ckpt", weights_only=False)  # our own file
    factors = [reference_factor(e, 1, 3) for e in range(5)]
    assert first.lrs + resumed.lrs == [pytest.approx([1e-3 * f, 1e-3 * f]) for f in factors]
