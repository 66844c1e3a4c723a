"""DRAGAN (Kodali et al. 2017, arXiv 1705.07215), its lines pinned against expectations written here.

* The critic step descends the GAN game -E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z)))) (Goodfellow eq. 1)
  plus lambda E(||grad_x D(x^)||_2 - 1)^2 with lambda = 10; the generator step descends -E log sigmoid(D(G(z)))
  (non-saturating, the reference code) or E log(1 - sigmoid(D(G(z)))) (minimax), without the penalty.
* The penalty points are perturbed real samples, x^ = x + alpha (x_p - x), x_p = x + 0.5 std(x) u, u ~ U[0, 1)
  per element, std over the whole batch (ddof = 0), alpha ~ U[0, 1) per sample (the authors' reference code):
  never real/fake interpolates.

The iteration test fits tiny MLP nets in float64 with SGD on fixed batches and queued z's and replays two
iterations by hand (``tests/zoo/paper_harness.py``); the penalty points are read off the critic's recorded
inputs and checked to be such perturbations of that step's real batch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats
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
    queued_z,
    same_params,
    sgd_step,
    spread_scores,
)
from zoo import DRAGAN, GAN

ROOT = Path(__file__).resolve().parents[2]
BATCH = 16
SAME = 1e-9


# ------------------------------------------------------------------------------- the paper's lines, by hand
# D = sigmoid(score); 1 - sigmoid(f) is written sigmoid(-f), exact in float64 also for scores of 30 and more
def gan_d(r: Tensor, f: Tensor) -> Tensor:  # Goodfellow eq. (1), negated
    return -(torch.log(torch.sigmoid(r)).mean() + torch.log(torch.sigmoid(-f)).mean())


G_LOSSES = {
    "non_saturating": lambda f: -torch.log(torch.sigmoid(f)).mean(),  # Section 3: maximize log D(G(z))
    "minimax": lambda f: torch.log(torch.sigmoid(-f)).mean(),  # eq. (1): minimize log(1 - D(G(z)))
}


def input_gradient_penalty(d_net, params, points: Tensor) -> Tensor:
    """E(||grad_x D(x)||_2 - 1)^2 at the given points, differentiable in the critic's weights."""
    x = points.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(call(d_net, params, x).sum(), x, create_graph=True)
    return ((grad.pow(2).sum(1).sqrt() - 1.0) ** 2).mean()


def batch_std(real: Tensor) -> Tensor:
    """The standard deviation of all elements of the batch, population form (numpy's ``minibatch.std()``)."""
    return ((real - real.mean()) ** 2).mean().sqrt()


def perturbation_units(points: Tensor, real: Tensor) -> Tensor:
    """(x^ - x) / (0.5 std(x)): alpha_i u_ij for the reference code's perturbation, in [0, 1)."""
    return (points - real) / (0.5 * batch_std(real))


def is_batch(x: Tensor, batch: Tensor) -> bool:
    return x.shape == batch.shape and torch.allclose(x, batch, rtol=0, atol=SAME)


def penalty_points(inputs: list[tuple[Tensor, bool]], real: Tensor, fake: Tensor, where: str) -> Tensor:
    """The critic's inputs of one critic step are real, G(z) (without G's graph) and one batch of perturbed reals."""
    assert any(is_batch(x, real) for x, _ in inputs), f"{where}: D was not evaluated on the real batch"
    assert any(is_batch(x, fake) for x, _ in inputs), f"{where}: D was not evaluated on G(z) with G's current weights"
    for x, requires_grad in inputs:
        if is_batch(x, fake):
            assert not requires_grad, f"{where}: the critic step's fakes carry G's graph"
    others = [x for x, _ in inputs if not is_batch(x, real) and not is_batch(x, fake)]
    assert len(others) == 1, f"{where}: expected one batch of penalty points, got {len(others)}"
    points = others[0]
    units = perturbation_units(points, real)
    assert bool((units >= 0).all()), f"{where}: x^ - x must be 0.5 std(x) alpha u >= 0 elementwise: {units.min()}"
    assert bool((units < 1).all()), f"{where}: x^ - x must stay below 0.5 std(x) elementwise: {units.max()}"
    # not on the segments between real and fake: x^_i - fake_i is not parallel to real_i - fake_i
    d, e = real - fake, points - fake
    cross = (d[:, 0] * e[:, 1] - d[:, 1] * e[:, 0]).abs() / d.norm(dim=1)
    assert bool((cross > 1e-6).any()), f"{where}: the penalty points lie on real/fake segments (WGAN-GP's)"
    return points


# ------------------------------------------------------------------------------------------- the replay
def make_model(objective: str, n_critic: int = 1, **options) -> DRAGAN:
    torch.manual_seed(0)
    model = DRAGAN(**{**TINY_2D, "objective": objective, "n_critic": n_critic, **options})
    spread_scores(d_scale=1.0)(model)  # fakes spread out; D left as initialized (lambda = 10 with SGD lr 0.1)
    return model


def run_and_replay(objective: str, root: Path, n_critic: int = 1, iterations: int = 2, gp_weight: float = 10.0):
    model = make_model(objective, n_critic, gp_weight=gp_weight)
    n_batches = n_critic * iterations
    zs = queued_z(n_batches + iterations, BATCH, TINY_2D["latent_dim"])
    run = fit_on_fixed_batches(model, fixed_batches(n_batches, BATCH), zs, root)
    rec, d_net, g_net = run.recorder, run.d_net, run.g_net
    order = (["d"] * n_critic + ["g"]) * iterations
    assert [s.net for s in rec.steps] == order, "n_critic critic steps, then one generator step"
    assert run.sampler.calls == [BATCH] * len(order), "one fresh minibatch of z per critic step and per G step"
    for i, s in enumerate(rec.steps):
        other = "g" if s.net == "d" else "d"
        assert same_params(s.before[other], s.after[other]), f"step {i} ({s.net}) moved the other net"
    D, G = run.d0, run.g0
    zs, steps = iter(run.zs), iter(rec.steps)
    penalties = []
    for k, real in enumerate(run.batches):
        where = f"critic step {k + 1}"
        z, step = next(zs), next(steps)
        assert_params_close(step.before["d"], D, f"{where}: D before")
        assert_params_close(step.before["g"], G, f"{where}: G before")
        with torch.no_grad():
            fake = call(g_net, G, z)
        points = penalty_points(step.d_inputs, real, fake, where)

        def d_loss(p, real=real, fake=fake, points=points):
            game = gan_d(call(d_net, p, real), call(d_net, p, fake))
            return game + gp_weight * input_gradient_penalty(d_net, p, points)

        assert rec.metrics[k]["train/d_loss"] == pytest.approx(float(d_loss(D).detach()), rel=1e-9, abs=1e-12)
        penalties.append(float(input_gradient_penalty(d_net, D, points).detach()))
        D = sgd_step(D, d_loss, LR_D)
        if (k + 1) % n_critic == 0:
            where = f"generator step {(k + 1) // n_critic}"
            z, step = next(zs), next(steps)
            assert_params_close(step.before["d"], D, f"{where}: D before (the updated critic)")
            with torch.no_grad():
                fake = call(g_net, G, z)
            (x, _), *more = step.d_inputs
            assert not more and is_batch(x, fake), f"{where}: D is evaluated on G(z) only (no penalty points)"
            g_loss = lambda p, z=z, D=D: G_LOSSES[objective](call(d_net, D, call(g_net, p, z)))  # noqa: E731
            assert rec.metrics[k]["train/g_loss"] == pytest.approx(float(g_loss(G)), rel=1e-9, abs=1e-12)
            G = sgd_step(G, g_loss, LR_G)
        assert_params_close(rec.batch_end[k]["d"], D, f"D after batch {k + 1}")
        assert_params_close(rec.batch_end[k]["g"], G, f"G after batch {k + 1}")
    return penalties


# ------------------------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("objective", list(G_LOSSES))
def test_two_iterations_are_the_papers_sgd_steps(objective, tmp_path):
    """D: GAN game + 10 E(||grad D(x^)|| - 1)^2 at perturbed reals; G: the GAN generator loss, no penalty."""
    penalties = run_and_replay(objective, tmp_path)
    assert all(1e-3 < p < 1e3 for p in penalties), f"the penalty must have work to do (and stay finite): {penalties}"


def test_n_critic_steps_each_on_its_own_batch_and_z(tmp_path):
    run_and_replay("non_saturating", tmp_path, n_critic=2)


def test_lambda_zero_is_the_plain_gan_game(tmp_path):
    """With lambda = 0 the critic's update is the GAN's: the replay's penalty term vanishes (points still checked)."""
    run_and_replay("non_saturating", tmp_path, gp_weight=0.0)


def captured_penalty_points(model: DRAGAN, real: Tensor, fake: Tensor) -> Tensor:
    inputs: list[Tensor] = []
    handle = model.discriminator.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
    try:
        model.discriminator_loss(real, fake)
    finally:
        handle.remove()
    (points,) = [x for x in inputs if not is_batch(x, real) and not is_batch(x, fake)]
    return points


def product_of_uniforms_cdf(t: np.ndarray) -> np.ndarray:
    """P(alpha u <= t) for independent alpha, u ~ U[0, 1]: t - t log t (0 at t = 0)."""
    t = np.clip(t, 0.0, 1.0)
    return t - t * np.log(np.where(t > 0, t, 1.0))


def test_penalty_points_are_the_reference_codes_perturbation_of_the_reals():
    """x^_ij - x_ij = alpha_i * 0.5 std(x) * u_ij: one alpha ~ U[0, 1) per sample, u ~ U[0, 1) per element."""
    n = 4096
    model = DRAGAN(**TINY_2D).double()
    g = torch.Generator().manual_seed(0)
    real = 1.5 * torch.randn(n, 2, generator=g, dtype=DTYPE) + 0.5
    fake = real + 50.0  # far from every real point: points near the fakes would show at once
    torch.manual_seed(1)
    units = perturbation_units(captured_penalty_points(model, real, fake), real)
    assert bool((units >= 0).all()) and bool((units < 1).all()), (float(units.min()), float(units.max()))
    assert float(units.max()) > 0.95  # the full 0.5 std(x) scale is reached
    values = units.flatten().numpy()
    assert abs(values.mean() - 0.25) < 0.01  # E[alpha u] = 1/4
    assert stats.kstest(values, product_of_uniforms_cdf).pvalue > 1e-3
    # one alpha per sample: Corr(alpha u_1, alpha u_2) = (1/12 - 1/16) / (1/9 - 1/16) = 3/7 (0 for per-element alphas)
    corr = float(torch.corrcoef(units.T)[0, 1])
    assert abs(corr - 3.0 / 7.0) < 0.05, corr


def test_perturbation_scale_is_the_whole_batchs_population_std():
    """std(x) is one number per batch with ddof = 0: on a 2-point batch whose samples have stds 0 and 2, the
    perturbation of both samples reaches 0.5 sqrt(3) (not 0 and 1 per sample, not 0.5 * 2 with ddof = 1)."""
    model = DRAGAN(**TINY_2D).double()
    real = torch.tensor([[0.0, 0.0], [0.0, 4.0]], dtype=DTYPE)  # population std of all elements: sqrt(3)
    fake = real + 50.0
    torch.manual_seed(2)
    units = torch.stack([perturbation_units(captured_penalty_points(model, real, fake), real) for _ in range(500)])
    assert float(batch_std(real)) == pytest.approx(math.sqrt(3.0))
    assert bool((units >= 0).all()) and float(units.max()) < 1.0
    for sample in (0, 1):
        assert float(units[:, sample].max()) > 0.9, f"sample {sample} is not perturbed at the batch's scale"


class LinearCritic(nn.Module):
    """D(x) = w . x + b: its input gradient is w at every point, so the penalty is (||w|| - 1)^2 exactly."""

    def __init__(self, w: list[float], b: float = 0.3) -> None:
        super().__init__()
        self.linear = nn.Linear(len(w), 1).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([w], dtype=DTYPE))
            self.linear.bias.fill_(b)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).flatten()


@pytest.mark.parametrize("w, lam", [([0.3, 0.4], 10.0), ([3.0, 4.0], 10.0), ([3.0, 4.0], 2.5)])
def test_loss_is_gan_game_plus_lambda_times_two_sided_penalty(w, lam):
    """Closed form with a linear critic: loss = game + lambda (||w|| - 1)^2 (norm 0.5 is penalized as 5 is)."""
    model = DRAGAN(**{**TINY_2D, "gp_weight": lam})
    model.discriminator = LinearCritic(w)
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(8, 2, generator=g, dtype=DTYPE), torch.randn(8, 2, generator=g, dtype=DTYPE)
    w_t = torch.tensor(w, dtype=DTYPE)
    r, f = real @ w_t + 0.3, fake @ w_t + 0.3
    out = model.discriminator_loss(real, fake)
    penalty = (w_t.norm() - 1.0) ** 2
    assert float(out["gp"]) == pytest.approx(float(penalty), rel=1e-12)
    assert float(out["loss"].detach()) == pytest.approx(float(gan_d(r, f) + lam * penalty), rel=1e-12)
    out["loss"].backward()  # the penalty's graph reaches the weights: d/dw lambda (||w|| - 1)^2 is added
    game_grad = ((torch.sigmoid(r) - 1.0)[:, None] * real).mean(0) + (torch.sigmoid(f)[:, None] * fake).mean(0)
    expected = game_grad + lam * 2.0 * (w_t.norm() - 1.0) * w_t / w_t.norm()
    torch.testing.assert_close(model.discriminator.linear.weight.grad.flatten(), expected)


def test_paper_defaults():
    model = DRAGAN(image_shape=(2,), latent_dim=2, width=8)
    hp = model.hparams
    assert (hp.gp_weight, hp.perturbation_scale, hp.objective, hp.n_critic) == (10.0, 0.5, "non_saturating", 1)
    assert [(type(o), o.defaults["lr"], o.defaults["betas"]) for o in model.configure_optimizers()] == [
        (torch.optim.Adam, 1e-4, (0.5, 0.9))
    ] * 2
    assert not isinstance(model, GAN)  # its own variant, built on the noise -> image contract


# ------------------------------------------------------------ compare_gan's penalty (Lucic et al. 2018)
def compare_gan_penalty(model: DRAGAN, real: Tensor, seed: int, probability: bool, unit: bool, eps: float):
    """compare_gan ``DRAGAN.py`` lines 45-46 and 86-96 restated: inputs u in [0, 1] (``unit``) or x in [-1, 1],
    u_p = u + 0.5 std(u) r (r ~ U[0, 1) per pixel, population std of the batch), alpha ~ U[0, 1] per sample,
    u^ = u + alpha (u_p - u), f = sigmoid(D) (``probability``) or D's logit, slopes = sqrt(eps + sum (df/du^)^2),
    mean (slopes - 1)^2. Draws in the model's order (perturbation, then alpha) from the same seed."""
    torch.manual_seed(seed)
    r = torch.rand(real.shape)
    alpha = torch.rand(len(real), *([1] * (real.dim() - 1)))
    u = (real + 1) / 2 if unit else real
    u_hat = (u + alpha * (u + 0.5 * u.std(unbiased=False) * r - u)).requires_grad_(True)
    logit = model.discriminator(u_hat * 2 - 1 if unit else u_hat)
    f = torch.sigmoid(logit) if probability else logit
    (grad,) = torch.autograd.grad(f.sum(), u_hat)
    slopes = torch.sqrt(eps + grad.pow(2).flatten(1).sum(1))
    return (slopes - 1).pow(2).mean()


@pytest.mark.parametrize(
    "penalty_on, pixel_units, eps",
    [
        ("probability", "zero_one", 1e-4),
        ("probability", "data", 0.0),
        ("logit", "zero_one", 0.0),
        ("logit", "data", 1e-4),
    ],
)
def test_compare_gans_penalty_options(penalty_on, pixel_units, eps):
    """Each option alone and all three together (compare_gan's setting) give compare_gan's formula; the setting
    changes the value, so a missing option shows."""
    torch.manual_seed(0)
    options = {"penalty_on": penalty_on, "pixel_units": pixel_units, "norm_epsilon": eps}
    model = DRAGAN(image_shape=(1, 28, 28), nets="infogan", d_norm="batch", latent_dim=8, **options)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    torch.manual_seed(5)
    actual = model.penalty(real)
    expected = compare_gan_penalty(model, real, 5, penalty_on == "probability", pixel_units == "zero_one", eps)
    torch.testing.assert_close(actual, expected, rtol=2e-5, atol=1e-8)
    others = [(p, u, e) for p in ("logit", "probability") for u in ("data", "zero_one") for e in (0.0, 1e-4)]
    for p, u, e in others:
        if (p, u, e) != (penalty_on, pixel_units, eps):
            other = compare_gan_penalty(model, real, 5, p == "probability", u == "zero_one", e)
            assert abs(float(other) - float(expected)) > 1e-4 * abs(float(expected)), (p, u, e)


def test_lucic_config_is_compare_gans_penalty():
    import yaml

    args = yaml.safe_load((ROOT / "configs/dragan/fashion_mnist_lucic.yaml").read_text())["model"]["init_args"]
    assert (args["penalty_on"], args["pixel_units"], args["norm_epsilon"]) == ("probability", "zero_one", 1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gp_weight": -1.0}, "lambda"),
        ({"perturbation_scale": 0.0}, "perturbation_scale"),
        ({"objective": "x"}, "valid"),
        ({"penalty_on": "score"}, "penalty_on"),
        ({"pixel_units": "bytes"}, "pixel_units"),
        ({"norm_epsilon": -1e-4}, "norm_epsilon"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DRAGAN(**kwargs)


@pytest.mark.parametrize("config", ["configs/dragan/fashion_mnist.yaml", "configs/dragan/ring.yaml"])
def test_configs_build_through_the_cli(config, tmp_path, fashion_dir):
    from tests.zoo.test_sngan import built_from_config

    model, data = built_from_config(config, tmp_path, fashion_dir)
    assert type(model) is DRAGAN and model.hparams.gp_weight == 10.0
    assert type(data).__name__ == ("GaussianMixtureData" if "ring" in config else "FashionMNISTData")
