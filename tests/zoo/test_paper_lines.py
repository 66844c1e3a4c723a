"""Paper lines of the noise -> image variants, pinned by replaying whole training iterations exactly.

Each case of ``PAPER_OBJECTIVES`` writes the paper's discriminator and generator losses out on raw scores:

* GAN, Goodfellow et al. 2014, Algorithm 1 / eq. (1): D ascends log D(x) + log(1 - D(G(z))), D = sigmoid(V);
  G descends log(1 - D(G(z))) ("minimax") or ascends log D(G(z)) ("non_saturating", Section 3).
* WGAN, Arjovsky et al. 2017, Algorithm 1: the critic ascends E f(x) - E f(G(z)) (lines 2-6), its weights
  clipped to [-c, c] after every step (line 7), n_critic critic steps per generator step; G descends -E f(G(z))
  (line 10), scored by the clipped critic.
* WGAN-GP, Gulrajani et al. 2017, Algorithm 1 / eq. (3): D(x~) - D(x) + lambda (||grad_x^ D(x^)||_2 - 1)^2 at
  x^ = eps x + (1 - eps) x~, one eps ~ U[0, 1] per sample (lines 4-7); G descends -D(G(z)) (line 11), no penalty.
* LSGAN, Mao et al. 2017, eq. (2): 1/2 E(D(x) - b)^2 + 1/2 E(D(G(z)) - a)^2 and 1/2 E(D(G(z)) - c)^2 with
  (a, b, c) = (0, 1, 1) ("binary", eq. 9) or (-1, 1, 0) ("pearson", eq. 8).
* f-GAN, Nowozin et al. 2016, eq. (6) and Table 2: D ascends E_P g_f(V) - E_Q f*(g_f(V)) with each divergence's
  output activation g_f and conjugate f*; G descends the saddle F ("saddle") or ascends E_Q g_f(V) ("alternative").
* Hinge, Miyato et al. 2018, eq. (16)-(17): D descends E relu(1 - D(x)) + E relu(1 + D(G(z))), G descends -E D(G(z)).

The iteration test fits tiny MLP nets in float64 with SGD (momentum 0) on fixed real batches and queued z's and
replays Algorithm 1 by hand: every critic step is theta_D - lr_D grad L_D(real_k, G(z_k)) with G's current
weights and a fresh z, the generator step (after n_critic critic steps) is theta_G - lr_G grad L_G(G(z')) scored
by the already updated (and for WGAN clipped) critic with another fresh z; each step moves its own net only;
the critic-step fakes carry no graph into G; D is evaluated on exactly the points the paper names.
Further tests pin the WGAN-GP interpolation weights (per sample, U[0, 1]), the latent distribution z ~ N(0, I)
and that every registered variant has its paper lines pinned somewhere (``PAPER_LINE_TESTS``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from scipy import stats
from torch import Tensor

from tests.zoo.paper_harness import (
    DTYPE,
    LR_D,
    LR_G,
    TINY_2D,
    Run,
    assert_params_close,
    call,
    fit_on_fixed_batches,
    fixed_batches,
    nearest,
    queued_z,
    same_params,
    sgd_step,
    spread_scores,
)
from zoo import FGAN, GAN, LSGAN, WGAN, WGANGP, HingeGAN, list_variants, losses

ROOT = Path(__file__).resolve().parents[2]
LOG2 = math.log(2.0)
CLIP = 0.2  # WGAN's c: between the sizes of the tiny critic's initial weights, so clipping has work to do
BATCH = 16
SAME = 1e-9  # rows closer than this are the same point


# ------------------------------------------------------------------------------------ the papers' losses
def gan_d(r: Tensor, f: Tensor) -> Tensor:  # Goodfellow eq. (1), negated: D = sigmoid(score)
    return -(torch.log(torch.sigmoid(r)).mean() + torch.log(1.0 - torch.sigmoid(f)).mean())


def wasserstein_d(r: Tensor, f: Tensor) -> Tensor:  # Arjovsky Alg. 1 line 5 / Gulrajani Alg. 1 line 7
    return -(r.mean() - f.mean())


def hinge_d(r: Tensor, f: Tensor) -> Tensor:  # Miyato eq. (16), negated
    return torch.relu(1.0 - r).mean() + torch.relu(1.0 + f).mean()


#: Nowozin et al. Table 2: output activation g_f(v) and conjugate f*(t), written as printed there
TABLE_2: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "kl": (lambda v: v, lambda t: torch.exp(t - 1.0)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda t: -1.0 - torch.log(-t)),
    "pearson": (lambda v: v, lambda t: 0.25 * t**2 + t),
    "neyman": (lambda v: 1.0 - torch.exp(-v), lambda t: 2.0 - 2.0 * torch.sqrt(1.0 - t)),
    "squared_hellinger": (lambda v: 1.0 - torch.exp(-v), lambda t: t / (1.0 - t)),
    "js": (lambda v: LOG2 - torch.log(1.0 + torch.exp(-v)), lambda t: -torch.log(2.0 - torch.exp(t))),
    "gan": (lambda v: -torch.log(1.0 + torch.exp(-v)), lambda t: -torch.log(1.0 - torch.exp(t))),
    "total_variation": (lambda v: 0.5 * torch.tanh(v), lambda t: t),
}


@dataclass(frozen=True)
class Scores:
    """Raw scores in one step of the replay: ``real`` is None in a generator step."""

    step: str
    real: Tensor | None
    fake: Tensor


def some(scores: list[Scores], step: str, which: str, low: float, high: float) -> bool:
    return any(bool(((getattr(s, which) > low) & (getattr(s, which) < high)).any()) for s in scores if s.step == step)


@dataclass(frozen=True)
class PaperCase:
    """One (variant, options) and the paper's losses on raw scores r = V(x), f = V(G(z)) (both minimized)."""

    cls: type
    options: dict
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    gp_weight: float | None = None  # WGAN-GP's lambda: the test adds lambda * E(||grad D(x^)||_2 - 1)^2
    clip: float | None = None  # WGAN's c: the critic is clipped to [-c, c] after each step
    prepare: Callable = field(default=spread_scores())  # hand-set output layers before training
    #: what the scores must do for the case to test what it claims (given the replay's list of Scores)
    precondition: Callable[[list[Scores]], bool] | None = None


def fgan_case(name: str, update: str) -> PaperCase:
    g_f, f_star = TABLE_2[name]
    d_loss = lambda r, f: -(g_f(r).mean() - f_star(g_f(f)).mean())  # noqa: E731  (-F of eq. 6)
    saddle = lambda f: -f_star(g_f(f)).mean()  # noqa: E731  (G descends F; only -E_Q f*(g_f(V)) depends on G)
    alternative = lambda f: -g_f(f).mean()  # noqa: E731  (G ascends E_Q g_f(V(G(z))))
    g_loss = {"saddle": saddle, "alternative": alternative}[update]
    return PaperCase(FGAN, {"divergence": name, "generator_update": update}, d_loss, g_loss)


PAPER_OBJECTIVES: dict[str, PaperCase] = {
    "GAN-minimax": PaperCase(GAN, {"objective": "minimax"}, gan_d, lambda f: torch.log(1.0 - torch.sigmoid(f)).mean()),
    "GAN-non_saturating": PaperCase(
        GAN, {"objective": "non_saturating"}, gan_d, lambda f: -torch.log(torch.sigmoid(f)).mean()
    ),
    "WGAN": PaperCase(WGAN, {"clip_value": CLIP}, wasserstein_d, lambda f: -f.mean(), clip=CLIP),
    "WGANGP-lambda10": PaperCase(WGANGP, {"gp_weight": 10.0}, wasserstein_d, lambda f: -f.mean(), gp_weight=10.0),
    "WGANGP-lambda0": PaperCase(WGANGP, {"gp_weight": 0.0}, wasserstein_d, lambda f: -f.mean(), gp_weight=0.0),
    "LSGAN-binary": PaperCase(
        LSGAN,
        {"coding": "binary"},  # a = 0, b = 1, c = 1
        lambda r, f: 0.5 * ((r - 1.0) ** 2).mean() + 0.5 * ((f - 0.0) ** 2).mean(),
        lambda f: 0.5 * ((f - 1.0) ** 2).mean(),
    ),
    "LSGAN-pearson": PaperCase(
        LSGAN,
        {"coding": "pearson"},  # a = -1, b = 1, c = 0
        lambda r, f: 0.5 * ((r - 1.0) ** 2).mean() + 0.5 * ((f + 1.0) ** 2).mean(),
        lambda f: 0.5 * ((f - 0.0) ** 2).mean(),
    ),
    "HingeGAN": PaperCase(  # some real scores in (0, 1) and fake scores in (-1, 0): both margins matter
        HingeGAN,
        {},
        hinge_d,
        lambda f: -f.mean(),
        precondition=lambda s: some(s, "d", "real", 0.0, 1.0) and some(s, "d", "fake", -1.0, 0.0),
    ),
    "HingeGAN-fakes-past-margin": PaperCase(  # some G-step fakes score > 1: eq. 17 is linear, not a hinge
        HingeGAN,
        {},
        hinge_d,
        lambda f: -f.mean(),
        prepare=spread_scores(d_bias=3.0),
        precondition=lambda s: some(s, "g", "fake", 1.0, math.inf),
    ),
    **{f"FGAN-{name}-{update}": fgan_case(name, update) for name in TABLE_2 for update in ("alternative", "saddle")},
}

#: where each registered variant's paper lines are pinned; a newly registered variant fails the registry test
PAPER_LINE_TESTS: dict[str, str] = {
    "GAN": "tests/zoo/test_paper_lines.py",
    "WGAN": "tests/zoo/test_paper_lines.py",
    "WGANGP": "tests/zoo/test_paper_lines.py",
    "LSGAN": "tests/zoo/test_paper_lines.py",
    "FGAN": "tests/zoo/test_paper_lines.py",
    "HingeGAN": "tests/zoo/test_paper_lines.py",
    "VAEGAN": "tests/zoo/test_vaegan_paper_lines.py",
    "CycleGAN": "tests/zoo/test_cyclegan_paper_lines.py",
    "BEGAN": "tests/zoo/test_began.py",
    "EBGAN": "tests/zoo/test_ebgan.py",
    "DRAGAN": "tests/zoo/test_dragan.py",
    "SNGAN": "tests/zoo/test_sngan.py",
    "InfoGAN": "tests/zoo/test_infogan.py",
    "LossSensitiveGAN": "tests/zoo/test_loss_sensitive.py",
    "CGAN": "tests/zoo/test_conditional.py",
    "ACGAN": "tests/zoo/test_conditional.py",
    "ProjectionGAN": "tests/zoo/test_conditional.py",
}
NOISE_TO_IMAGE = [GAN, WGAN, WGANGP, LSGAN, FGAN, HingeGAN]


# ------------------------------------------------------------------------------------------- helpers
def interpolation_weights(x_hat: Tensor, real: Tensor, fake: Tensor) -> tuple[Tensor, float]:
    """eps_i with x^_i = eps_i real_i + (1 - eps_i) fake_i (least squares), and the largest residual."""
    d = real - fake
    eps = ((x_hat - fake) * d).sum(1) / (d * d).sum(1)
    residual = (x_hat - (eps[:, None] * real + (1.0 - eps[:, None]) * fake)).abs().max()
    return eps, float(residual)


def rows_of(inputs: list[tuple[Tensor, bool]]) -> Tensor:
    return torch.cat([x.reshape(len(x), -1) for x, _ in inputs]) if inputs else torch.empty(0, 2, dtype=DTYPE)


def gradient_penalty(d_net, params, x_hat: Tensor) -> Tensor:
    """E (||grad_x D(x)||_2 - 1)^2 at x = x^, per-sample norm, differentiable in the critic's weights."""
    x = x_hat.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(call(d_net, params, x).sum(), x, create_graph=True)
    return ((grad.pow(2).sum(1).sqrt() - 1.0) ** 2).mean()


def make_model(case: PaperCase, n_critic: int, seed: int = 0):
    torch.manual_seed(seed)
    model = case.cls(**{**TINY_2D, **case.options, "n_critic": n_critic})
    case.prepare(model)
    return model


def critic_step_points(case: PaperCase, step, real: Tensor, fake: Tensor, where: str) -> Tensor | None:
    """Check what D was evaluated on in one critic step; return the interpolates x^ (WGAN-GP) if any."""
    rows = rows_of(step.d_inputs)
    assert len(rows), f"{where}: D was never evaluated"
    assert bool((nearest(real, rows) < SAME).all()), f"{where}: D was not evaluated on the real batch"
    assert bool((nearest(fake, rows) < SAME).all()), f"{where}: D was not evaluated on G(z) with G's current weights"
    for x, requires_grad in step.d_inputs:
        if bool((nearest(x.reshape(len(x), -1), fake) < SAME).any()):
            assert not requires_grad, f"{where}: the critic step's fakes carry G's graph (no no_grad / detach)"
    other = rows[(nearest(rows, real) > SAME) & (nearest(rows, fake) > SAME)]
    if case.gp_weight is None:
        assert len(other) == 0, f"{where}: D evaluated on {len(other)} points that are neither real nor G(z)"
        return None
    if len(other) == 0 and case.gp_weight == 0.0:
        return None  # lambda = 0: skipping the penalty's forward is allowed
    assert len(other) == len(real), f"{where}: {len(other)} penalty points for a batch of {len(real)}"
    eps, residual = interpolation_weights(other, real, fake)
    assert residual < 1e-9, f"{where}: x^_i is not on the segment between real_i and fake_i ({residual})"
    assert bool(((eps >= 0) & (eps <= 1)).all()), f"{where}: interpolation weights outside [0, 1]: {eps}"
    assert float(eps.std()) > 1e-3, f"{where}: one interpolation weight for the whole batch: {eps}"
    return other


def replay(case: PaperCase, run: Run, n_critic: int) -> list[Scores]:
    """Algorithm 1 by hand; compares with every recorded step, every batch's end state and the logged losses."""
    rec, d_net, g_net = run.recorder, run.d_net, run.g_net
    iterations = len(run.batches) // n_critic
    order = (["d"] * n_critic + ["g"]) * iterations
    assert [s.net for s in rec.steps] == order, "order of updates (n_critic critic steps, then one G step)"
    assert run.sampler.calls == [BATCH] * len(order), "one fresh minibatch of z per critic step and per G step"
    assert not run.sampler.queue
    for i, s in enumerate(rec.steps):
        own, other = s.net, "g" if s.net == "d" else "d"
        assert same_params(s.before[other], s.after[other]), f"step {i} ({own}) moved the other net"
        assert not same_params(s.before[own], s.after[own]), f"step {i} ({own}) did not move its own net"
    D, G = run.d0, run.g0
    zs, steps = iter(run.zs), iter(rec.steps)
    scores: list[Scores] = []
    for k, real in enumerate(run.batches):
        where = f"critic step {k + 1}"
        z, step = next(zs), next(steps)
        assert_params_close(step.before["d"], D, f"{where}: D before")
        assert_params_close(step.before["g"], G, f"{where}: G before")
        with torch.no_grad():
            fake = call(g_net, G, z)
        x_hat = critic_step_points(case, step, real, fake, where)

        def d_loss(p, real=real, fake=fake, x_hat=x_hat):
            loss = case.d_loss(call(d_net, p, real), call(d_net, p, fake))
            if x_hat is not None:
                loss = loss + case.gp_weight * gradient_penalty(d_net, p, x_hat)
            return loss

        logged = rec.metrics[k]["train/d_loss"]  # the value, not just the gradient: constant terms count too
        assert logged == pytest.approx(float(d_loss(D).detach()), rel=1e-9, abs=1e-12), f"{where}: logged D loss"
        with torch.no_grad():
            scores.append(Scores("d", call(d_net, D, real), call(d_net, D, fake)))
        D = sgd_step(D, d_loss, LR_D)
        if case.clip is not None:
            assert any(bool((v.abs() > case.clip).any()) for v in D.values()), "clipping has nothing to do"
            D = {n: v.clamp(-case.clip, case.clip) for n, v in D.items()}
        if (k + 1) % n_critic == 0:
            where = f"generator step {(k + 1) // n_critic}"
            z, step = next(zs), next(steps)
            assert_params_close(step.before["d"], D, f"{where}: D before (the updated critic)")
            with torch.no_grad():
                fake = call(g_net, G, z)
            rows = rows_of(step.d_inputs)
            assert len(rows) == len(fake) and bool((nearest(rows, fake) < SAME).all()), (
                f"{where}: D must be evaluated on G(z) for a fresh z only (no real data, no penalty points)"
            )
            g_loss = lambda p, z=z, D=D: case.g_loss(call(d_net, D, call(g_net, p, z)))  # noqa: E731
            assert rec.metrics[k]["train/g_loss"] == pytest.approx(float(g_loss(G)), rel=1e-9, abs=1e-12), (
                f"{where}: logged G loss"
            )
            with torch.no_grad():
                scores.append(Scores("g", None, call(d_net, D, fake)))
            G = sgd_step(G, g_loss, LR_G)
        assert_params_close(rec.batch_end[k]["d"], D, f"D after batch {k + 1}")
        assert_params_close(rec.batch_end[k]["g"], G, f"G after batch {k + 1}")
    return scores


def run_case(case: PaperCase, n_critic: int, iterations: int, root: Path) -> Run:
    model = make_model(case, n_critic)
    n_batches = n_critic * iterations
    zs = queued_z(n_batches + iterations, BATCH, TINY_2D["latent_dim"])
    return fit_on_fixed_batches(model, fixed_batches(n_batches, BATCH), zs, root)


# --------------------------------------------------------------------------------------------- tests
def test_table_covers_every_objective_coding_divergence_and_generator_update():
    cases = {(c.cls, tuple(sorted(c.options.items()))) for c in PAPER_OBJECTIVES.values()}
    for objective in losses.GENERATOR_OBJECTIVES:
        assert (GAN, (("objective", objective),)) in cases, objective
    for coding in losses.LEAST_SQUARES_CODINGS:
        assert (LSGAN, (("coding", coding),)) in cases, coding
    for name in losses.F_DIVERGENCES:
        for update in losses.FGAN_GENERATOR_UPDATES:
            assert (FGAN, (("divergence", name), ("generator_update", update))) in cases, (name, update)
    assert {c.cls for c in PAPER_OBJECTIVES.values()} == set(NOISE_TO_IMAGE)


@pytest.mark.parametrize("case_id", list(PAPER_OBJECTIVES))
def test_two_iterations_are_the_papers_sgd_steps(case_id, tmp_path):
    """n_critic = 1: D step on (real_1, G(z_1)), G step on G(z_2) scored by the new D, then again on batch 2."""
    case = PAPER_OBJECTIVES[case_id]
    run = run_case(case, n_critic=1, iterations=2, root=tmp_path)
    scores = replay(case, run, n_critic=1)
    assert case.precondition is None or case.precondition(scores), "the scores do not exercise what the case pins"


@pytest.mark.parametrize(
    "case_id, n_critic",
    [("GAN-non_saturating", 2), ("WGAN", 3), ("WGANGP-lambda10", 2), ("HingeGAN", 3)],
)
def test_n_critic_critic_steps_each_on_its_own_batch_and_z(case_id, n_critic, tmp_path):
    """Arjovsky / Gulrajani Alg. 1: n_critic critic steps (own real batch, fresh z each), then one G step."""
    case = PAPER_OBJECTIVES[case_id]
    run = run_case(case, n_critic=n_critic, iterations=2, root=tmp_path)
    replay(case, run, n_critic=n_critic)


def test_wgan_gp_penalty_points_are_per_sample_uniform_interpolates(tmp_path):
    """Gulrajani Alg. 1 lines 4-6: x^_i = eps_i x_i + (1 - eps_i) x~_i, eps_i ~ U[0, 1] drawn per sample."""
    n = 4096
    case = PAPER_OBJECTIVES["WGANGP-lambda10"]
    model = make_model(case, n_critic=5)  # one batch: one critic step, no generator step
    torch.manual_seed(123)
    run = fit_on_fixed_batches(model, fixed_batches(1, n), queued_z(1, n, TINY_2D["latent_dim"]), tmp_path)
    (step,) = run.recorder.steps
    real = run.batches[0]
    with torch.no_grad():
        fake = call(run.g_net, run.g0, run.zs[0])
    candidates = [x for x, _ in step.d_inputs if len(x) == n]
    assert any(torch.allclose(x, real, rtol=0, atol=SAME) for x in candidates), "no evaluation at the real batch"
    assert any(torch.allclose(x, fake, rtol=0, atol=SAME) for x in candidates), "no evaluation at the fakes"
    others = [
        x
        for x in candidates
        if not torch.allclose(x, real, rtol=0, atol=SAME) and not torch.allclose(x, fake, rtol=0, atol=SAME)
    ]
    assert len(others) == 1, f"expected one evaluation at interpolates, got {len(others)}"
    eps, residual = interpolation_weights(others[0], real, fake)
    assert residual < 1e-9  # every x^_i lies on the line through real_i and fake_i
    assert bool(((eps >= 0) & (eps <= 1)).all()), (float(eps.min()), float(eps.max()))
    assert float(eps.std()) > 0.2  # one eps per sample, not one for the batch
    assert abs(float(eps.mean()) - 0.5) < 0.02
    assert abs(float(eps.var()) - 1.0 / 12.0) < 0.006
    assert stats.kstest(eps.numpy(), "uniform").pvalue > 1e-3


@pytest.mark.parametrize("cls", NOISE_TO_IMAGE, ids=lambda c: c.__name__)
def test_latent_codes_are_standard_normal(cls):
    model = cls(**{**TINY_2D, "latent_dim": 4})
    torch.manual_seed(5)
    z = model.sample_z(20_000)
    assert z.shape == (20_000, 4)
    assert float(z.mean(0).abs().max()) < 0.035
    torch.testing.assert_close(torch.cov(z.T), torch.eye(4), rtol=0, atol=0.05)
    for j in range(4):
        assert stats.kstest(z[:, j].double().numpy(), "norm").pvalue > 1e-3, j
    assert stats.kstest(z.flatten().double().numpy(), "norm").pvalue > 1e-3


def test_latent_codes_are_reproducible_from_a_seeded_generator():
    model = GAN(**TINY_2D)
    first = model.sample_z(6, generator=torch.Generator().manual_seed(7))
    again = model.sample_z(6, generator=torch.Generator().manual_seed(7))
    other = model.sample_z(6, generator=torch.Generator().manual_seed(8))
    assert first.shape == (6, TINY_2D["latent_dim"])
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_every_registered_variant_has_paper_line_tests():
    missing = [name for name in list_variants() if name not in PAPER_LINE_TESTS]
    assert not missing, f"register paper-line tests for {missing} in PAPER_LINE_TESTS (and write them)"
    for name in list_variants():
        path = ROOT / PAPER_LINE_TESTS[name]
        assert path.is_file(), f"{name}: {PAPER_LINE_TESTS[name]} does not exist"
        assert name in path.read_text(), f"{name}: {PAPER_LINE_TESTS[name]} never mentions it"
