"""Loss-Sensitive GAN (Qi 2017, arXiv 1701.06264), its lines pinned against expectations written here.

* The learned loss L(x) = max(0, -score(x)) >= 0 (lower = more real; the reference code's ReLU output).
* The loss function descends S / lambda = E_i (Delta_i + L(x_i) - L(G(z_i)))_+ + E_i L(x_i) / lambda
  + gamma_wd / 2 ||theta||^2 (Algorithm 1's S(theta) divided by lambda, plus weight decay), the margin
  Delta_i = tau ||x_i - G(z_i)||_1 taken between the matched real and fake of pair i; lambda = inf by default.
* The generator descends T = E L(G(z')) with fresh z'.

The iteration test fits tiny MLP nets in float64 with SGD on fixed batches and queued z's and replays the
updates by hand (``tests/zoo/paper_harness.py``).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from tests.zoo.paper_harness import (
    DTYPE,
    LR_D,
    LR_G,
    TINY_2D,
    assert_params_close,
    call,
    fit_on_fixed_batches,
    fixed_batches,
    last_linear,
    nearest,
    queued_z,
    same_params,
    sgd_step,
    spread_scores,
)
from tests.zoo.test_sngan import built_from_config
from zoo import LSGAN, LossSensitiveGAN, list_variants

BATCH = 16
SAME = 1e-9


# ------------------------------------------------------------------------------- the paper's lines, by hand
def learned_loss(scores: Tensor) -> Tensor:
    return torch.where(scores < 0, -scores, torch.zeros_like(scores))  # max(0, -score)


def s_over_lambda(r: Tensor, f: Tensor, real: Tensor, fake: Tensor, tau: float, lam: float) -> Tensor:
    margins = tau * (real - fake).abs().sum(1)  # ||x_i - G(z_i)||_1, pair by pair
    lr, lf = learned_loss(r), learned_loss(f)
    return torch.where(margins + lr - lf > 0, margins + lr - lf, 0.0).mean() + lr.mean() / lam


def half_squared_norm(params: dict[str, Tensor]) -> Tensor:
    return 0.5 * sum((v * v).sum() for v in params.values())


# ------------------------------------------------------------------------------------------- the replay
def run_and_replay(root: Path, lam: float, tau: float, wd: float, iterations: int = 2) -> list[dict[str, Tensor]]:
    torch.manual_seed(0)
    options = dict(hinge_weight=lam, margin_scale=tau, weight_decay=wd)
    model = LossSensitiveGAN(**{**TINY_2D, **options})
    zs = queued_z(2 * iterations, BATCH, TINY_2D["latent_dim"])
    spread_scores(d_scale=20.0, d_bias=0.0, g_scale=10.0)(model)
    with torch.no_grad():  # half of the first fakes score < 0 (L > 0), half > 0 (L = 0), none at the kink
        f = model.discriminator(model.generator(zs[0].float())).sort().values
        last_linear(model.discriminator).bias.sub_((f[BATCH // 2 - 1] + f[BATCH // 2]) / 2)
    run = fit_on_fixed_batches(model, fixed_batches(iterations, BATCH), zs, root)
    rec, d_net, g_net = run.recorder, run.d_net, run.g_net
    assert [s.net for s in rec.steps] == ["d", "g"] * iterations, "one loss-function step, then one generator step"
    assert run.sampler.calls == [BATCH] * (2 * iterations), "fresh z for the loss function's and G's steps"
    for i, s in enumerate(rec.steps):
        other = "g" if s.net == "d" else "d"
        assert same_params(s.before[other], s.after[other]), f"step {i} ({s.net}) moved the other net"
    D, G = run.d0, run.g0
    zs, steps = iter(run.zs), iter(rec.steps)
    seen = []
    for k, real in enumerate(run.batches):
        where = f"loss-function step {k + 1}"
        z, step = next(zs), next(steps)
        assert_params_close(step.before["d"], D, f"{where}: D before")
        assert_params_close(step.before["g"], G, f"{where}: G before")
        with torch.no_grad():
            fake = call(g_net, G, z)
        rows = torch.cat([x for x, _ in step.d_inputs])
        assert len(rows) == 2 * BATCH, f"{where}: L is evaluated on the real batch and G(z) only"
        assert bool((nearest(real, rows) < SAME).all()) and bool((nearest(fake, rows) < SAME).all()), where
        assert not any(g for _, g in step.d_inputs), f"{where}: the fakes carry G's graph"

        def d_loss(p, real=real, fake=fake):
            objective = s_over_lambda(call(d_net, p, real), call(d_net, p, fake), real, fake, tau, lam)
            return objective + wd * half_squared_norm(p)

        assert rec.metrics[k]["train/d_loss"] == pytest.approx(float(d_loss(D).detach()), rel=1e-9, abs=1e-12)
        assert rec.metrics[k]["train/margin"] == pytest.approx(float(tau * (real - fake).abs().sum(1).mean()))
        with torch.no_grad():
            r, f = call(d_net, D, real), call(d_net, D, fake)
            seen.append({"r": r, "f": f, "gap": tau * (real - fake).abs().sum(1) + learned_loss(r) - learned_loss(f)})
        D = sgd_step(D, d_loss, LR_D)
        where = f"generator step {k + 1}"
        z, step = next(zs), next(steps)
        assert_params_close(step.before["d"], D, f"{where}: D before (the updated loss function)")
        with torch.no_grad():
            fake = call(g_net, G, z)
        (x, _), *more = step.d_inputs
        assert not more and torch.allclose(x, fake, rtol=0, atol=SAME), f"{where}: L evaluated on G(z') only"
        g_loss = lambda p, z=z, D=D: learned_loss(call(d_net, D, call(g_net, p, z))).mean()  # noqa: E731
        assert rec.metrics[k]["train/g_loss"] == pytest.approx(float(g_loss(G)), rel=1e-9, abs=1e-12)
        with torch.no_grad():
            seen[-1]["g"] = call(d_net, D, call(g_net, G, z))
        G = sgd_step(G, g_loss, LR_G)
        assert_params_close(rec.batch_end[k]["d"], D, f"D after batch {k + 1}")
        assert_params_close(rec.batch_end[k]["g"], G, f"G after batch {k + 1}")
    return seen


def both_sides(values: Tensor) -> bool:
    return bool((values > 0).any()) and bool((values < 0).any())


@pytest.mark.parametrize("lam", [2.0, math.inf])
def test_two_iterations_are_the_papers_sgd_steps(lam, tmp_path):
    """Algorithm 1 with the margin, E L(x) / lambda (lambda = 2 and the default inf) and weight decay 0.01."""
    seen = run_and_replay(tmp_path, lam=lam, tau=0.02, wd=0.01)
    # the scores exercise both sides of every kink in the first step: L's ReLU on reals and fakes, the hinge;
    # G's fakes get L > 0 (a gradient) in the first step (its ReLU's other side: the hand-placed test below)
    assert all(both_sides(s["r"]) and both_sides(s["f"]) and both_sides(s["gap"]) for s in seen[:1])
    assert bool((seen[0]["g"] < 0).any())


def test_defaults_replay(tmp_path):
    """The paper's / reference code's defaults in the loss: lambda = inf, tau = 2e-4, weight decay 5e-5."""
    run_and_replay(tmp_path, lam=math.inf, tau=2e-4, wd=5e-5)


# ------------------------------------------------------------------------------------------ closed forms
class FirstCoordinate(nn.Module):
    """score(x) = x_0 + b (b = 0 unless set): hand-placed scores."""

    def __init__(self, b: float = 0.0) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.tensor(b, dtype=DTYPE))

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1)[:, 0] + self.b


def test_learned_loss_margin_hinge_and_generator_loss_on_hand_placed_scores():
    """real scores (2, -1) -> L(x) = (0, 1); fake scores (-3, 0.5) -> L(G(z)) = (3, 0); Delta = 0.1 (5, 1.5):
    hinge = mean(relu(0.5 + 0 - 3), relu(0.15 + 1 - 0)) = 0.575; E L(x) / lambda = 0.5 / 2; T = mean(3, 0)."""
    model = LossSensitiveGAN(**{**TINY_2D, "hinge_weight": 2.0, "margin_scale": 0.1, "weight_decay": 0.0})
    model.discriminator = FirstCoordinate()
    real = torch.tensor([[2.0, 0.0], [-1.0, 0.0]], dtype=DTYPE)
    fake = torch.tensor([[-3.0, 0.0], [0.5, 0.0]], dtype=DTYPE)
    out = model.discriminator_loss(real, fake)
    assert float(out["loss"]) == pytest.approx(0.575 + 0.25, rel=1e-12)
    assert float(out["margin"]) == pytest.approx(0.325, rel=1e-12)
    model.generate = lambda n: fake[:n]
    assert float(model.generator_loss(2)["loss"]) == pytest.approx(1.5, rel=1e-12)


def test_margin_is_the_scaled_l1_distance_between_matched_pairs():
    """With L = 1 everywhere the hinge is the margin itself: loss = tau mean_i ||x_i - x~_i||_1 + 1 / lambda, the
    pixelwise L1 norm of each real minus its own fake (not L2, not a per-pixel mean, not all pairs)."""
    tau, lam = 0.01, 4.0
    model = LossSensitiveGAN(
        image_shape=(1, 28, 28), latent_dim=2, width=8, hinge_weight=lam, margin_scale=tau, weight_decay=0.0
    )
    model.discriminator = FirstCoordinate(b=-1.0)
    g = torch.Generator().manual_seed(0)
    real = torch.randn(8, 1, 28, 28, generator=g, dtype=DTYPE)
    fake = real + 0.1 * torch.randn(8, 1, 28, 28, generator=g, dtype=DTYPE)  # each fake near its own real
    real[:, 0, 0, 0], fake[:, 0, 0, 0] = 0.0, 0.0  # every score is -1: L = 1
    l1 = (real - fake).abs().sum(dim=(1, 2, 3))
    out = model.discriminator_loss(real, fake)
    assert float(out["margin"]) == pytest.approx(float(tau * l1.mean()), rel=1e-12)
    assert float(out["loss"]) == pytest.approx(float(tau * l1.mean() + 1.0 / lam), rel=1e-12)
    unmatched = torch.cdist(real.flatten(1), fake.flatten(1), p=1).mean()
    assert float(unmatched) > 5 * float(l1.mean())  # the data tell the pairing apart


def test_weight_decay_adds_gamma_theta_to_the_loss_functions_gradient_only():
    def grads(wd: float) -> list[Tensor]:
        torch.manual_seed(0)
        model = LossSensitiveGAN(**{**TINY_2D, "weight_decay": wd}).double()
        real, fake = torch.randn(16, 2, dtype=DTYPE), torch.randn(16, 2, dtype=DTYPE)
        loss = model.discriminator_loss(real, fake)["loss"]
        return [p.detach() for p in model.discriminator.parameters()], torch.autograd.grad(
            loss, list(model.discriminator.parameters())
        )

    params, without = grads(0.0)
    _, with_decay = grads(0.3)
    for p, a, b in zip(params, without, with_decay):
        torch.testing.assert_close(b - a, 0.3 * p)
    model = LossSensitiveGAN(**{**TINY_2D, "weight_decay": 0.3})
    model.generate = lambda n: torch.zeros(n, 2)
    expected = learned_loss(model.discriminator(torch.zeros(4, 2))).mean()  # no weight decay in T
    assert float(model.generator_loss(4)["loss"]) == pytest.approx(float(expected))


# -------------------------------------------------------------------------------------- settings, refusals
def test_defaults_and_name():
    model = LossSensitiveGAN(image_shape=(2,), latent_dim=2, width=8)
    hp = model.hparams
    assert (hp.hinge_weight, hp.margin_scale, hp.weight_decay, hp.n_critic) == (math.inf, 2e-4, 5e-5, 1)
    assert [(type(o), o.defaults["lr"], o.defaults["betas"]) for o in model.configure_optimizers()] == [
        (torch.optim.Adam, 1e-4, (0.5, 0.999))
    ] * 2
    assert not isinstance(model, LSGAN) and "LossSensitiveGAN" in list_variants() and "LSGAN" in list_variants()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hinge_weight": 0.0}, "hinge_weight"),
        ({"margin_scale": -1.0}, "margin_scale"),
        ({"weight_decay": -1e-3}, "weight_decay"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LossSensitiveGAN(**kwargs)


@pytest.mark.parametrize("config", ["configs/loss_sensitive/fashion_mnist.yaml", "configs/loss_sensitive/ring.yaml"])
def test_configs_build_through_the_cli(config, tmp_path, fashion_dir):
    model, data = built_from_config(config, tmp_path, fashion_dir)
    assert type(model) is LossSensitiveGAN
    assert (model.hparams.hinge_weight, model.hparams.weight_decay) == (math.inf, 5e-5)
    assert type(data).__name__ == ("GaussianMixtureData" if "ring" in config else "FashionMNISTData")
