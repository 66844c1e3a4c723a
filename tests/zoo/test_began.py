"""BEGAN (Berthelot et al. 2017, arXiv 1703.10717) line by line.

Pinned lines (``zoo/models/began.py``):

* L(v) = |v - D(v)|^eta, averaged over pixels and batch, eta in {1, 2} (Section 3.1); D(v) the reconstruction.
* L_D = L(x) - k_t L(G(z_D)) with k_t the value before step t's updates, a constant (Section 3.4).
* L_G = L(G(z_G)), fresh z_G, scored by the just-updated D, no k (Section 3.4).
* k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1) after the D and G updates of step t, with L(x) of
  that D update and L(G(z_G)) of that G update; k_0 = 0; with n_critic > 1 once per G update (module docstring).
  ``clip_k=False`` (compare_gan): the same move with no bounds.
* M_global = L(x) + |gamma L(x) - L(G(z_G))| logged every step with k_{t+1} (Section 3.4.1).
* Paper defaults: gamma = 0.5, lambda_k = 0.001, eta = 1, N_z = N_h = 64, z ~ U[-1, 1]^Nz, Adam(1e-4), no batch norm.
* k_t is in the checkpoint: a reloaded or resumed model continues with the saved k_t exactly.

Method (as ``test_paper_lines.py``): tiny MLP nets on 2-D points in float64, SGD without momentum, fixed batches
and queued z's, a real ``Trainer.fit``; the test replays the algorithm by hand with ``torch.func.functional_call``
on copies of the nets and the formulas above written out here, and compares every step, every logged value and k.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pytest
import torch
from scipy import stats
from torch import Tensor, nn
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from callbacks import ZooCheckpoint
from datamodules import FashionMNISTData, GaussianMixtureData
from tests.conftest import tiny_trainer
from tests.zoo.paper_harness import (
    LR_D,
    LR_G,
    TINY_2D,
    Run,
    assert_params_close,
    fit_on_fixed_batches,
    fixed_batches,
    last_linear,
    nearest,
    queued_z,
    same_params,
    sgd_step,
)
from zoo import BEGAN, losses
from zoo.checkpoints import load_variant
from zoo.commands.cli import run_lightning_cli
from zoo.losses_autoencoding import pixelwise_reconstruction_loss
from zoo.nets import DCGANGenerator, MLPGenerator
from zoo.nets.autoencoder import ConvAutoencoder, MLPAutoencoder

ROOT = Path(__file__).resolve().parents[2]
BATCH = 16
SAME = 1e-9
TINY = {**TINY_2D, "code_dim": 4}


# ------------------------------------------------------------------------------------------ the paper's lines
def ae_loss(v: Tensor, reconstruction: Tensor, eta: int, units: str = "data") -> Tensor:
    """Section 3.1: |v - D(v)|^eta, mean over entries and batch; ``zero_one``: both mapped from [-1, 1] to [0, 1]
    first (compare_gan's units)."""
    if units == "zero_one":
        v, reconstruction = (v + 1) / 2, (reconstruction + 1) / 2
    return ((v - reconstruction).abs() ** eta).sum() / v.numel()


def k_next(k: float, real: float, fake: float, gamma: float, lambda_k: float, clip: bool = True) -> tuple[float, float]:
    """Section 3.4: (k_{t+1}, clipped to [0, 1] when ``clip``; unclipped k_t + lambda_k (gamma L(x) - L(G(z_G))))."""
    raw = k + lambda_k * (gamma * real - fake)
    return (min(max(raw, 0.0), 1.0) if clip else raw), raw


# ------------------------------------------------------------------------------------- pure functions
def test_autoencoder_loss_closed_forms():
    v = torch.zeros(2, 2)
    reconstruction = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    assert float(pixelwise_reconstruction_loss(v, reconstruction, eta=1)) == pytest.approx(2.5)  # (1+2+3+4)/4
    assert float(pixelwise_reconstruction_loss(v, reconstruction, eta=2)) == pytest.approx(7.5)  # (1+4+9+16)/4
    with pytest.raises(ValueError, match="eta must be 1 or 2"):
        pixelwise_reconstruction_loss(v, reconstruction, eta=3)
    with pytest.raises(ValueError, match="differ in shape"):
        pixelwise_reconstruction_loss(v, reconstruction[:1], eta=1)


@pytest.mark.parametrize(
    "k, real, fake, expected",
    [
        (0.5, 2.0, 0.4, 0.5 + 0.1 * (0.5 * 2.0 - 0.4)),  # interior: 0.56
        (0.95, 2.0, 0.4, 1.0),  # 0.95 + 0.06 = 1.01 -> clipped at 1
        (0.01, 2.0, 3.0, 0.0),  # 0.01 + 0.1 * (1 - 3) = -0.19 -> clipped at 0
    ],
)
def test_k_update_closed_form_and_clip_at_both_ends(k, real, fake, expected):
    new = losses.began_k_update(torch.tensor(k), torch.tensor(real), torch.tensor(fake), gamma=0.5, lambda_k=0.1)
    assert float(new) == pytest.approx(expected)


@pytest.mark.parametrize(
    "k, real, fake, expected",
    [
        (0.95, 2.0, 0.4, 1.01),  # 0.95 + 0.06: above 1, kept
        (0.01, 2.0, 3.0, -0.19),  # 0.01 + 0.1 * (1 - 3): below 0, kept (compare_gan's update_k)
    ],
)
def test_k_update_without_clip_keeps_the_unbounded_value(k, real, fake, expected):
    new = losses.began_k_update(
        torch.tensor(k, dtype=torch.float64), torch.tensor(real), torch.tensor(fake), 0.5, 0.1, clip=False
    )
    assert float(new) == pytest.approx(expected)


def test_convergence_measure_closed_form():
    m = losses.began_convergence(torch.tensor(2.0), torch.tensor(0.4), gamma=0.5)
    assert float(m) == pytest.approx(2.0 + abs(1.0 - 0.4))
    m = losses.began_convergence(torch.tensor(2.0), torch.tensor(3.0), gamma=0.5)  # gamma L(x) < L(G): |.| counts
    assert float(m) == pytest.approx(2.0 + 2.0)


def test_discriminator_objective_treats_k_as_a_constant():
    real, fake = torch.tensor(2.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)
    k = torch.tensor(0.25, requires_grad=True)
    loss = losses.began_d(real, fake, k)
    assert float(loss.detach()) == pytest.approx(2.0 - 0.25 * 3.0)
    loss.backward()
    assert k.grad is None and float(real.grad) == 1.0 and float(fake.grad) == pytest.approx(-0.25)


# ----------------------------------------------------------------------------------------- the replay
@dataclass(frozen=True)
class Case:
    options: dict
    k0: float = 0.0
    real_scale: float = 1.0  # scales the real batches: large -> L(x) >> L(G(z)) -> k pushed up
    n_critic: int = 1
    iterations: int = 3
    clip: str | None = None  # which bound the unclipped k must cross ("high", "low"), or None: stays inside


CASES = {
    "interior": Case({"gamma": 0.5, "lambda_k": 0.05}, k0=0.4),
    "eta2": Case({"gamma": 0.7, "lambda_k": 0.05, "eta": 2}, k0=0.4),
    "clip-high": Case({"gamma": 0.5, "lambda_k": 1.0}, k0=0.5, real_scale=20.0, clip="high"),
    "clip-low": Case({"gamma": 0.0, "lambda_k": 50.0}, k0=0.5, clip="low"),
    "n_critic2": Case({"gamma": 0.5, "lambda_k": 0.05}, k0=0.4, n_critic=2, iterations=2),
    "paper-gain": Case({"gamma": 0.5, "lambda_k": 0.001}),  # k_0 = 0 and the paper's gain
    # compare_gan's BEGAN (Lucic et al. 2018): k after every D update from values re-evaluated by the updated nets
    "critic-step": Case({"gamma": 0.5, "lambda_k": 0.05, "k_update": "critic_step"}, k0=0.4, n_critic=2, iterations=2),
    "compare-gan": Case(
        {"gamma": 0.75, "lambda_k": 0.05, "k_update": "critic_step", "pixel_units": "zero_one"},
        k0=0.4,
        n_critic=3,
        iterations=2,
    ),
    "zero-one-units": Case({"gamma": 0.5, "lambda_k": 0.05, "pixel_units": "zero_one", "eta": 2}, k0=0.4),
    # compare_gan's update_k has no bounds: k follows the unclipped value below 0 and above 1
    "unclipped-low": Case({"gamma": 0.0, "lambda_k": 50.0, "clip_k": False}, k0=0.5, clip="low"),
    "unclipped-high": Case(
        {"gamma": 0.5, "lambda_k": 1.0, "clip_k": False, "k_update": "critic_step"},
        k0=0.5,
        real_scale=20.0,
        clip="high",
    ),
}


def build(case: Case, seed: int = 0) -> BEGAN:
    torch.manual_seed(seed)
    model = BEGAN(**{**TINY, **case.options, "n_critic": case.n_critic, "latent_distribution": "normal"})
    with torch.no_grad():
        last_linear(model.generator).weight.mul_(10.0)  # spread the fakes (tiny nets start almost constant)
        model.k.fill_(case.k0)
    return model


def run(case: Case, root: Path) -> Run:
    model = build(case)
    n_batches = case.n_critic * case.iterations
    batches = [b * case.real_scale for b in fixed_batches(n_batches, BATCH)]
    zs = queued_z(n_batches + case.iterations, BATCH, TINY["latent_dim"])
    return fit_on_fixed_batches(model, batches, zs, root)


def part(params: dict, prefix: str) -> dict:
    return {name[len(prefix) :]: value for name, value in params.items() if name.startswith(prefix)}


def autoencode(run: Run, params: dict, x: Tensor) -> Tensor:
    """D(x) = Dec(Enc(x)) through the autoencoder's two layer stacks (not its ``forward``)."""
    code = functional_call(run.d_net.encoder, part(params, "encoder."), (x,))
    return functional_call(run.d_net.decoder, part(params, "decoder."), (code,))


def rows(inputs) -> Tensor:
    return torch.cat([x.reshape(len(x), -1) for x, _ in inputs])


def check_k(
    metrics: dict, ks: list, k: float, real: float, fake: float, gamma: float, lambda_k: float, clip: bool, where: str
):
    """k_(t+1) and M_global from L(x) = ``real`` and L(G(z)) = ``fake`` against the logged values; returns k_(t+1)."""
    k, raw = k_next(k, real, fake, gamma, lambda_k, clip)
    ks.append((k, raw))
    assert metrics["train/k"] == pytest.approx(k, rel=1e-9, abs=1e-12), where
    m_global = real + abs(gamma * real - fake)  # Section 3.4.1
    assert metrics["train/m_global"] == pytest.approx(m_global, rel=1e-9, abs=1e-12), where
    return k


def replay(case: Case, run: Run) -> list[tuple[float, float]]:
    """Section 3.4 by hand; returns (clipped, unclipped) k of every update."""
    gamma, lambda_k = case.options["gamma"], case.options["lambda_k"]
    eta = case.options.get("eta", 1)
    units = case.options.get("pixel_units", "data")
    per_critic_step = case.options.get("k_update") == "critic_step"
    clip = case.options.get("clip_k", True)
    rec = run.recorder
    assert [s.net for s in rec.steps] == (["d"] * case.n_critic + ["g"]) * case.iterations, "D, then G, per step t"
    assert run.sampler.calls == [BATCH] * len(rec.steps), "one fresh minibatch of z per D update and per G update"
    for i, s in enumerate(rec.steps):
        other = "g" if s.net == "d" else "d"
        assert same_params(s.before[other], s.after[other]), f"update {i} ({s.net}) moved the other net"
    D, G = run.d0, run.g0
    k = float(torch.tensor(case.k0, dtype=torch.float32))  # k_0 as the float32 buffer holds it before fit
    zs, steps = iter(run.zs), iter(rec.steps)
    ks: list[tuple[float, float]] = []
    real_loss = None
    previous: tuple[Tensor, Tensor] | None = None  # critic_step: the last step's (x, G(z_D)) of its k pass
    for b, real in enumerate(run.batches):
        where = f"D update {b + 1}"
        z, step = next(zs), next(steps)
        z_d = z
        assert_params_close(step.before["d"], D, f"{where}: D before")
        assert_params_close(step.before["g"], G, f"{where}: G before")
        with torch.no_grad():
            fake = functional_call(run.g_net, G, (z,))
        seen = rows(step.d_inputs)
        if previous is not None:  # first the previous step's re-evaluation (its x, then G(z_D), updated nets)
            assert [g for _, g in step.d_inputs[:2]] == [False, False], f"{where}: a graph in the k pass"
            rechecked, seen = seen[: 2 * BATCH], seen[2 * BATCH :]
            torch.testing.assert_close(rechecked, torch.cat(previous), rtol=0, atol=SAME, msg=f"{where}: k pass")
        assert len(seen) == 2 * BATCH, f"{where}: D evaluated on {len(seen)} points, expected the real and fake batch"
        assert bool((nearest(real, seen) < SAME).all()), f"{where}: D not evaluated on the real batch"
        assert bool((nearest(fake, seen) < SAME).all()), f"{where}: D not evaluated on G(z_D) with G's current weights"
        assert not any(g for x, g in step.d_inputs if bool((nearest(x, fake) < SAME).all())), (
            f"{where}: the fakes of the D update carry G's graph (no no_grad / detach)"
        )

        def d_loss(p, real=real, fake=fake, k=k):  # L_D = L(x) - k_t L(G(z_D))
            real_term = ae_loss(real, autoencode(run, p, real), eta, units)
            return real_term - k * ae_loss(fake, autoencode(run, p, fake), eta, units)

        with torch.no_grad():
            real_loss = float(ae_loss(real, autoencode(run, D, real), eta, units))
        assert rec.metrics[b]["train/d_loss"] == pytest.approx(float(d_loss(D)), rel=1e-9, abs=1e-12), where
        D = sgd_step(D, d_loss, LR_D)
        if (b + 1) % case.n_critic == 0:
            where = f"G update {(b + 1) // case.n_critic}"
            z, step = next(zs), next(steps)
            assert_params_close(step.before["d"], D, f"{where}: D before (the updated D)")
            with torch.no_grad():
                fake = functional_call(run.g_net, G, (z,))
            seen = rows(step.d_inputs)
            assert len(seen) == BATCH and bool((nearest(seen, fake) < SAME).all()), (
                f"{where}: D must be evaluated on G(z_G) for a fresh z_G only"
            )

            def g_loss(p, z=z, D=D):  # L_G = L(G(z_G)), no k
                x = functional_call(run.g_net, p, (z,))
                return ae_loss(x, autoencode(run, D, x), eta, units)

            fake_loss = float(g_loss(G))
            assert rec.metrics[b]["train/g_loss"] == pytest.approx(fake_loss, rel=1e-9, abs=1e-12), where
            G = sgd_step(G, g_loss, LR_G)
            if not per_critic_step:
                k = check_k(rec.metrics[b], ks, k, real_loss, fake_loss, gamma, lambda_k, clip, f"{where}: k_(t+1)")
        if per_critic_step:  # compare_gan: after every step, L(x) and L(G(z_D)) of the updated nets
            with torch.no_grad():
                real_now = float(ae_loss(real, autoencode(run, D, real), eta, units))
                fake_x = functional_call(run.g_net, G, (z_d,))
                fake_now = float(ae_loss(fake_x, autoencode(run, D, fake_x), eta, units))
            previous = (real, fake_x)
            k = check_k(rec.metrics[b], ks, k, real_now, fake_now, gamma, lambda_k, clip, f"step {b + 1}: k after it")
        assert_params_close(rec.batch_end[b]["d"], D, f"D after batch {b + 1}")
        assert_params_close(rec.batch_end[b]["g"], G, f"G after batch {b + 1}")
    assert float(run.model.k) == pytest.approx(k, rel=1e-9, abs=1e-12)
    return ks


@pytest.mark.parametrize("case_id", list(CASES))
def test_steps_are_the_papers_updates(case_id, tmp_path):
    case = CASES[case_id]
    ks = replay(case, run(case, tmp_path))
    raws = [raw for _, raw in ks]
    if case.clip == "high":
        assert any(r > 1.0 for r in raws), f"the unclipped k never exceeded 1: {raws}"
    elif case.clip == "low":
        assert any(r < 0.0 for r in raws), f"the unclipped k never went below 0: {raws}"
    elif case.k0 > 0:
        assert all(0.0 < r < 1.0 for r in raws), raws
        assert max(abs(r - case.k0) for r in raws) > 1e-3, f"k barely moved, the case pins too little: {raws}"
    if case.options.get("clip_k", True):
        assert all(0.0 <= k <= 1.0 for k, _ in ks)
    else:
        assert [k for k, _ in ks] == [raw for _, raw in ks], "clip_k=False: k must follow the unclipped value"


def test_k_stays_in_the_unit_interval_on_a_long_run(tmp_path):
    """A large gain swings k against the bounds; k after every step lies in [0, 1]."""
    seen: list[float] = []

    class KLog(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            seen.append(float(pl_module.k))

    torch.manual_seed(0)
    model = BEGAN(**{**TINY, "gamma": 1.0, "lambda_k": 5.0, "optimizer": "adam", "lr": 1e-2})
    data = DataLoader(TensorDataset(torch.randn(40 * BATCH, 2) * 3), batch_size=BATCH)
    tiny_trainer(tmp_path, max_epochs=1, callbacks=[KLog()]).fit(model, data)
    assert len(seen) == 40 and all(0.0 <= k <= 1.0 for k in seen)
    assert min(seen) == 0.0 or max(seen) == 1.0, f"the gain never drove k to a bound: {seen}"


def test_accumulated_updates_move_k_with_the_mean_losses_of_their_batches(tmp_path):
    """accumulate_grad_batches = 2: one D update over two real batches, one G update over two fake batches; k moves
    once, with the means of the two L(x) and of the two L(G(z_G))."""
    torch.manual_seed(0)
    model = BEGAN(**{**TINY, "gamma": 0.5, "lambda_k": 0.5, "accumulate_grad_batches": 2})
    model.k.fill_(0.5)
    values: list[float] = []
    original = model.autoencoder_loss

    def recording(v):
        out = original(v)
        values.append(float(out))
        return out

    model.autoencoder_loss = recording
    data = DataLoader(TensorDataset(torch.randn(2 * BATCH, 2) * 2), batch_size=BATCH)
    trainer = tiny_trainer(tmp_path, max_epochs=1)
    trainer.fit(model, data)
    assert (model.d_steps, model.g_steps) == (1, 1) and len(values) == 6
    real_1, _, real_2, _, fake_1, fake_2 = values  # D: L(x_1), L(G(z_1)), L(x_2), L(G(z_2)); G: two batches
    real, fake = (real_1 + real_2) / 2, (fake_1 + fake_2) / 2
    k, raw = k_next(0.5, real, fake, 0.5, 0.5)
    assert 0.0 < raw < 1.0 and abs(raw - 0.5) > 1e-3
    assert float(model.k) == pytest.approx(k, rel=1e-6)
    assert float(trainer.callback_metrics["train/m_global"]) == pytest.approx(real + abs(0.5 * real - fake), rel=1e-6)


# ------------------------------------------------------------------------------------ defaults, nets, prior
def optimizer_settings(model) -> list[tuple[type, float, tuple]]:
    return [(type(o), o.defaults["lr"], o.defaults["betas"]) for o in model.configure_optimizers()]


def test_paper_defaults():
    model = BEGAN(image_shape=(1, 28, 28))
    hp = model.hparams
    assert (hp.gamma, hp.lambda_k, hp.eta, hp.n_critic) == (0.5, 0.001, 1, 1)
    assert (hp.latent_dim, hp.code_dim, hp.latent_distribution) == (64, 64, "uniform")  # N_z = N_h = 64, U[-1, 1]
    assert float(model.k) == 0.0 and "k" in model.state_dict()  # k_0 = 0, a buffer
    assert optimizer_settings(model) == [(torch.optim.Adam, 1e-4, (0.9, 0.999))] * 2
    assert isinstance(model.discriminator, ConvAutoencoder) and isinstance(model.generator, DCGANGenerator)
    assert model.discriminator.code_dim == 64
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.discriminator.modules())
    vectors = BEGAN(image_shape=(2,), latent_dim=2, width=8)
    assert isinstance(vectors.discriminator, MLPAutoencoder) and isinstance(vectors.generator, MLPGenerator)


def test_latent_codes_are_uniform_on_the_cube():
    """Section 3.5: z in [-1, 1]^Nz sampled uniformly."""
    model = BEGAN(image_shape=(2,), latent_dim=4, width=8)
    z = model.sample_z(20_000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (20_000, 4) and float(z.min()) >= -1.0 and float(z.max()) <= 1.0
    for j in range(4):
        assert stats.kstest(z[:, j].double().numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3, j
    torch.testing.assert_close(torch.cov(z.T), torch.eye(4) / 3, rtol=0, atol=0.02)


@pytest.mark.parametrize(
    "bad, match",
    [({"gamma": 1.5}, "gamma"), ({"gamma": -0.1}, "gamma"), ({"lambda_k": -1e-3}, "lambda_k")]
    + [({"eta": 3}, "eta"), ({"code_dim": 0}, "code_dim"), ({"clip_k": "no"}, "clip_k")],
)
def test_bad_hyperparameters_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        BEGAN(image_shape=(2,), latent_dim=2, width=8, **bad)


# ---------------------------------------------------------------------------------------- checkpoints
def fit_epochs(model: BEGAN, root: Path, epochs: int, ckpt_path: str | None = None):
    torch.manual_seed(3)
    data = DataLoader(TensorDataset(torch.randn(2 * BATCH, 2, generator=torch.Generator().manual_seed(4))), BATCH)
    trainer = tiny_trainer(root, max_epochs=epochs)
    trainer.fit(model, data, ckpt_path=ckpt_path)
    return trainer


def gained(seed: int = 0) -> BEGAN:
    torch.manual_seed(seed)
    model = BEGAN(**{**TINY, "gamma": 0.5, "lambda_k": 0.05, "optimizer": "adam", "lr": 1e-3})
    model.k.fill_(0.5)  # mid-range, so k moves both ways without reaching a bound
    return model


def test_k_survives_a_checkpoint_round_trip(tmp_path):
    model = gained()
    trainer = fit_epochs(model, tmp_path, 1)
    assert 0.0 < float(model.k) < 1.0
    path = tmp_path / "began.ckpt"
    trainer.save_checkpoint(path)
    for loaded in (BEGAN.load_from_checkpoint(path, weights_only=True), load_variant(path)):
        assert float(loaded.k) == float(model.k)


def fit_with_checkpoints(model: BEGAN, root: Path, max_steps: int, resume: bool = False) -> None:
    """The zoo's resume path: ``ZooCheckpoint`` every 6 optimizer steps, ``ckpt_path="last"`` to resume."""
    trainer = tiny_trainer(
        root, max_steps=max_steps, callbacks=[ZooCheckpoint(every_n_train_steps=6)], enable_checkpointing=True
    )
    trainer.fit(model, GaussianMixtureData(num_samples=256, batch_size=32), ckpt_path="last" if resume else None)


def test_resume_continues_with_the_saved_k_exactly(tmp_path):
    """Stopped after 3 steps and resumed to 6, a run ends bit-identical to an uninterrupted one, k included."""
    straight = gained()
    fit_with_checkpoints(straight, tmp_path / "straight", 12)
    first = gained()
    fit_with_checkpoints(first, tmp_path / "run", 6)
    resumed = gained(seed=1)  # other initial weights: everything must come from the checkpoint
    fit_with_checkpoints(resumed, tmp_path / "run", 12, resume=True)
    assert float(first.k) != float(straight.k)  # k moved after the checkpoint: the comparison means something
    assert float(resumed.k) == float(straight.k)
    for key, value in straight.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


# ----------------------------------------------------------------------------------------------- configs
def cli_args(config: str, root: Path, fashion_dir: Path, max_steps: int) -> list[str]:
    args = ["--config", str(ROOT / config), "--trainer.max_steps", str(max_steps), "--trainer.logger", "false"]
    args += ["--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false"]
    if "fashion_mnist" in config:
        args += ["--data.init_args.data_dir", str(fashion_dir), "--data.init_args.batch_size", "8"]
        args += ["--model.init_args.width", "8", "--model.init_args.code_dim", "8"]
    else:
        args += ["--data.init_args.num_samples", "1024"]
    return args


@pytest.mark.parametrize(
    "config, data",
    [("configs/began/fashion_mnist.yaml", FashionMNISTData)] + [("configs/began/ring.yaml", GaussianMixtureData)],
)
def test_config_fits_through_the_cli(config, data, tmp_path, fashion_dir):
    cli = run_lightning_cli(["fit", *cli_args(config, tmp_path, fashion_dir, 4)])
    assert type(cli.model) is BEGAN and isinstance(cli.datamodule, data)
    assert (cli.model.d_steps, cli.model.g_steps) == (2, 2)
    assert cli.model.hparams.gamma == 0.5 and cli.model.hparams.eta == 1
