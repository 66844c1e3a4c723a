"""EBGAN (Zhao et al. 2017, arXiv 1609.03126) line by line.

Pinned lines (``zoo/models/ebgan.py``):

* D(x) = ||Dec(Enc(x)) - x|| per sample (eq. 13; ``energy="mse"``: the per-sample mean squared error).
* L_D = D(x) + [m - D(G(z))]^+ (eq. 1), batch-averaged, the hinge per fake sample, the margin on fakes only, no PT.
* L_G = D(G(z)) + lambda_PT f_PT(S) (eq. 2 and Section 2.4) with S = Enc(G(z)) of the same generated batch and
  f_PT(S) = 1 / (N (N - 1)) sum_{i != j} (S_i^T S_j / (||S_i|| ||S_j||))^2 (eq. 14).
* The D update's fakes carry no graph into G; the G update draws fresh z and is scored by the just-updated D.
* Paper defaults: m = 10 (Section 4.1), lambda_PT = 0.1 (Section 2.4), Adam(1e-3) for G and D (Section 4.1),
  z ~ N(0, I).

Method (as ``test_paper_lines.py``): tiny MLP nets on 2-D points in float64, SGD without momentum, fixed batches and
queued z's, a real ``Trainer.fit``; the replay below writes the paper's losses out (norms, hinge, cosines as
explicit loops) and compares every step and every logged value.
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
from zoo import EBGAN, losses
from zoo.checkpoints import load_variant
from zoo.commands.cli import run_lightning_cli
from zoo.losses_autoencoding import pulling_away_term, reconstruction_energy
from zoo.nets import DCGANGenerator, MLPGenerator
from zoo.nets.autoencoder import ConvAutoencoder, MLPAutoencoder

ROOT = Path(__file__).resolve().parents[2]
BATCH = 16
SAME = 1e-9
TINY = {**TINY_2D, "code_dim": 4}


# ------------------------------------------------------------------------------------------ the paper's lines
def energies(x: Tensor, reconstruction: Tensor, kind: str) -> Tensor:
    """eq. 13 per sample: sqrt(sum_j (Dec(Enc(x))_j - x_j)^2), or the mean of the squares for ``mse``."""
    squares = ((reconstruction - x) ** 2).reshape(len(x), -1)
    return squares.mean(1) if kind == "mse" else squares.sum(1).sqrt()


def pt_by_loops(S: Tensor) -> Tensor:
    """eq. 14 written as the double sum."""
    n = len(S)
    total = S.new_zeros(())
    for i in range(n):
        for j in range(n):
            if i != j:
                total = total + (S[i] @ S[j] / (S[i].norm() * S[j].norm())) ** 2
    return total / (n * (n - 1))


# ------------------------------------------------------------------------------------- pure functions
def test_pulling_away_term_closed_forms():
    assert float(pulling_away_term(torch.eye(4))) == 0.0  # pairwise orthogonal codes
    assert float(pulling_away_term(torch.eye(3)[:2])) == 0.0  # orthogonal, fewer codes than dimensions
    identical = torch.tensor([[0.3, -1.2, 2.0]]).repeat(5, 1)
    assert float(pulling_away_term(identical)) == pytest.approx(1.0)  # identical codes
    flipped = torch.tensor([[1.0, 2.0], [-2.0, -4.0]])  # anti-parallel, different lengths: cosine -1, squared 1
    assert float(pulling_away_term(flipped)) == pytest.approx(1.0)
    three = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # cos^2 = 1/2, 0, 1/2 per pair, both orders
    assert float(pulling_away_term(three)) == pytest.approx(2 * (0.5 + 0.0 + 0.5) / (3 * 2))
    scaled = three * torch.tensor([[3.0], [0.1], [7.0]])  # invariant to the scale of every code
    assert float(pulling_away_term(scaled)) == pytest.approx(1 / 3)
    g = torch.Generator().manual_seed(0)
    random = torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert float(pulling_away_term(random)) == pytest.approx(float(pt_by_loops(random)), rel=1e-12)
    assert float(pulling_away_term(random[:1])) == 0.0  # one sample: no pairs


def test_reconstruction_energy_closed_forms():
    x = torch.zeros(2, 1, 1, 2)
    reconstruction = torch.tensor([[[[3.0, 4.0]]], [[[0.0, -1.0]]]])
    torch.testing.assert_close(reconstruction_energy(x, reconstruction), torch.tensor([5.0, 1.0]))  # ||(3, 4)|| = 5
    torch.testing.assert_close(reconstruction_energy(x, reconstruction, "mse"), torch.tensor([12.5, 0.5]))
    with pytest.raises(ValueError, match="reconstruction energy"):
        reconstruction_energy(x, reconstruction, "l1")


def test_margin_loss_closed_form_hinge_per_fake_and_margin_on_fakes_only():
    real = torch.tensor([1.0, 20.0])  # a real energy above m still counts linearly: no margin on reals
    fake = torch.tensor([0.5, 3.0, 12.0])  # hinge [10 - e]^+ = 9.5, 7, 0: partly active, taken per sample
    expected = (1.0 + 20.0) / 2 + (9.5 + 7.0 + 0.0) / 3
    assert float(losses.energy_margin_d(real, fake, margin=10.0)) == pytest.approx(expected)
    assert float(losses.energy_g(fake)) == pytest.approx((0.5 + 3.0 + 12.0) / 3)  # eq. 2: no margin


def test_generator_loss_has_pt_and_discriminator_loss_does_not():
    """On one model with fixed fakes: L_G(lambda) - L_G(0) = lambda f_PT(Enc(G(z))); L_D does not depend on lambda."""
    torch.manual_seed(0)
    model = EBGAN(**{**TINY, "pt_weight": 0.0})
    real, fake = torch.randn(8, 2) * 2, torch.randn(8, 2) * 3
    model.generate = lambda n: fake[:n]
    with torch.no_grad():
        codes = model.discriminator.encode(fake)
        fake_energy = energies(fake, model.discriminator(fake), "norm")
        plain_g, plain_d = model.generator_loss(8)["loss"], model.discriminator_loss(real, fake)["loss"]
        model.hparams.pt_weight = 0.1
        pt_g, pt_d = model.generator_loss(8)["loss"], model.discriminator_loss(real, fake)["loss"]
    assert float(plain_g) == pytest.approx(float(fake_energy.mean()), rel=1e-6)
    assert float(pt_g - plain_g) == pytest.approx(0.1 * float(pt_by_loops(codes)), rel=1e-5)
    assert float(pt_by_loops(codes)) > 1e-3  # the term is not trivially zero here
    assert float(pt_d) == float(plain_d)


# ----------------------------------------------------------------------------------------- the replay
@dataclass(frozen=True)
class Case:
    options: dict
    n_critic: int = 1
    iterations: int = 2


CASES = {
    "pt0.1": Case({"pt_weight": 0.1}),
    "pt-off": Case({"pt_weight": 0.0}),
    "pt2": Case({"pt_weight": 2.0}),
    "mse": Case({"pt_weight": 0.1, "energy": "mse"}),
    "n_critic2": Case({"pt_weight": 0.1}, n_critic=2),
}


def part(params: dict, prefix: str) -> dict:
    return {name[len(prefix) :]: value for name, value in params.items() if name.startswith(prefix)}


def autoencode(run: Run, params: dict, x: Tensor) -> tuple[Tensor, Tensor]:
    """(Dec(Enc(x)), Enc(x)) through the autoencoder's two layer stacks, not its ``forward``: the code S is the
    encoder's output as it is, with its graph."""
    code = functional_call(run.d_net.encoder, part(params, "encoder."), (x,))
    return functional_call(run.d_net.decoder, part(params, "decoder."), (code,)), code


def median_fake_energy(model: EBGAN, z: Tensor, kind: str) -> float:
    """A margin inside the spread of the first fakes' energies (eq. 13 as written here), so the hinge is partly on."""
    with torch.no_grad():
        fake = model.generator(z.float())
        return float(energies(fake, model.discriminator(fake), kind).median())


def run(case: Case, root: Path) -> tuple[Run, float]:
    torch.manual_seed(0)
    options = {**TINY, **case.options, "n_critic": case.n_critic}
    model = EBGAN(**options)
    with torch.no_grad():
        last_linear(model.generator).weight.mul_(10.0)  # spread the fakes (tiny nets start almost constant)
    n_batches = case.n_critic * case.iterations
    zs = queued_z(n_batches + case.iterations, BATCH, TINY["latent_dim"])
    margin = median_fake_energy(model, zs[0], case.options.get("energy", "norm"))
    model.hparams.margin = margin
    return fit_on_fixed_batches(model, fixed_batches(n_batches, BATCH), zs, root), margin


def rows(inputs) -> Tensor:
    return torch.cat([x.reshape(len(x), -1) for x, _ in inputs])


def replay(case: Case, run: Run, margin: float) -> None:
    kind = case.options.get("energy", "norm")
    pt_weight = case.options["pt_weight"]
    rec = run.recorder
    assert [s.net for s in rec.steps] == (["d"] * case.n_critic + ["g"]) * case.iterations, "D, then G"
    assert run.sampler.calls == [BATCH] * len(rec.steps), "one fresh minibatch of z per D update and per G update"
    for i, s in enumerate(rec.steps):
        other = "g" if s.net == "d" else "d"
        assert same_params(s.before[other], s.after[other]), f"update {i} ({s.net}) moved the other net"
    D, G = run.d0, run.g0
    zs, steps = iter(run.zs), iter(rec.steps)
    partial: list[bool] = []  # per D update: is the hinge on for some fakes and off for others?
    for b, real in enumerate(run.batches):
        where = f"D update {b + 1}"
        z, step = next(zs), next(steps)
        assert_params_close(step.before["d"], D, f"{where}: D before")
        assert_params_close(step.before["g"], G, f"{where}: G before")
        with torch.no_grad():
            fake = functional_call(run.g_net, G, (z,))
            fake_energy = energies(fake, autoencode(run, D, fake)[0], kind)
        partial.append(bool((fake_energy < margin).any() and (fake_energy > margin).any()))
        seen = rows(step.d_inputs)
        assert len(seen) == 2 * BATCH, f"{where}: D evaluated on {len(seen)} points, expected the real and fake batch"
        assert bool((nearest(real, seen) < SAME).all()), f"{where}: D not evaluated on the real batch"
        assert bool((nearest(fake, seen) < SAME).all()), f"{where}: D not evaluated on G(z) with G's current weights"
        assert not any(g for x, g in step.d_inputs if bool((nearest(x, fake) < SAME).all())), (
            f"{where}: the fakes of the D update carry G's graph (no no_grad / detach)"
        )

        def d_loss(p, real=real, fake=fake):  # eq. 1: D(x) + [m - D(G(z))]^+, per sample, averaged; no PT
            hinge = torch.clamp(margin - energies(fake, autoencode(run, p, fake)[0], kind), min=0.0)
            return energies(real, autoencode(run, p, real)[0], kind).mean() + hinge.mean()

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
                f"{where}: D must be evaluated once, on G(z) for a fresh z only"
            )

            def g_loss(p, z=z, D=D):  # eq. 2 + lambda_PT f_PT(Enc(G(z)))
                x = functional_call(run.g_net, p, (z,))
                reconstruction, codes = autoencode(run, D, x)
                return energies(x, reconstruction, kind).mean() + pt_weight * pt_by_loops(codes)

            assert rec.metrics[b]["train/g_loss"] == pytest.approx(float(g_loss(G)), rel=1e-9, abs=1e-12), where
            with torch.no_grad():
                pt = float(pt_by_loops(autoencode(run, D, fake)[1]))
            assert rec.metrics[b]["train/pt"] == pytest.approx(pt, rel=1e-9, abs=1e-12), where
            G = sgd_step(G, g_loss, LR_G)
        assert_params_close(rec.batch_end[b]["d"], D, f"D after batch {b + 1}")
        assert_params_close(rec.batch_end[b]["g"], G, f"G after batch {b + 1}")
    assert partial[0], "the first D update must have fakes on both sides of the margin (the margin is their median)"


@pytest.mark.parametrize("case_id", list(CASES))
def test_steps_are_the_papers_updates(case_id, tmp_path):
    case = CASES[case_id]
    replay(case, *run(case, tmp_path))


# ------------------------------------------------------------------------------------ defaults, nets, prior
def optimizer_settings(model) -> list[tuple[type, float, tuple]]:
    return [(type(o), o.defaults["lr"], o.defaults["betas"]) for o in model.configure_optimizers()]


def test_paper_defaults():
    model = EBGAN(image_shape=(1, 28, 28))
    hp = model.hparams
    assert (hp.margin, hp.pt_weight, hp.energy, hp.n_critic) == (10.0, 0.1, "norm", 1)
    assert hp.latent_distribution == "normal"
    assert optimizer_settings(model) == [(torch.optim.Adam, 1e-3, (0.9, 0.999))] * 2
    assert isinstance(model.discriminator, ConvAutoencoder) and isinstance(model.generator, DCGANGenerator)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.discriminator.modules())
    vectors = EBGAN(image_shape=(2,), latent_dim=2, width=8)
    assert isinstance(vectors.discriminator, MLPAutoencoder) and isinstance(vectors.generator, MLPGenerator)


def test_latent_codes_are_standard_normal():
    model = EBGAN(image_shape=(2,), latent_dim=4, width=8)
    z = model.sample_z(20_000, generator=torch.Generator().manual_seed(0))
    for j in range(4):
        assert stats.kstest(z[:, j].double().numpy(), "norm").pvalue > 1e-3, j
    torch.testing.assert_close(torch.cov(z.T), torch.eye(4), rtol=0, atol=0.05)


@pytest.mark.parametrize(
    "bad, match",
    [({"margin": 0.0}, "margin"), ({"margin": -1.0}, "margin"), ({"pt_weight": -0.1}, "pt_weight")]
    + [({"energy": "l1"}, "energy"), ({"code_dim": 0}, "code_dim")],
)
def test_bad_hyperparameters_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        EBGAN(image_shape=(2,), latent_dim=2, width=8, **bad)


# ---------------------------------------------------------------------------------------- checkpoints
def small(seed: int = 0, **options) -> EBGAN:
    torch.manual_seed(seed)
    return EBGAN(**{**TINY, "margin": 1.5, "pt_weight": 0.3, "energy": "mse", "optimizer": "adam", **options})


def fit_with_checkpoints(model: EBGAN, root: Path, max_steps: int, resume: bool = False) -> L.Trainer:
    trainer = tiny_trainer(
        root, max_steps=max_steps, callbacks=[ZooCheckpoint(every_n_train_steps=6)], enable_checkpointing=True
    )
    trainer.fit(model, GaussianMixtureData(num_samples=256, batch_size=32), ckpt_path="last" if resume else None)
    return trainer


def test_state_survives_a_checkpoint_round_trip(tmp_path):
    """The margin, lambda_PT and energy come back from the checkpoint, and the reloaded D gives the same energies."""
    model = small()
    fit_with_checkpoints(model, tmp_path, 6)
    path = tmp_path / "checkpoints" / "last.ckpt"
    x = torch.randn(5, 2)
    model.eval()
    with torch.no_grad():
        expected = model.energy(x)
    for loaded in (EBGAN.load_from_checkpoint(path, weights_only=True), load_variant(path)):
        loaded.eval()
        assert (loaded.hparams.margin, loaded.hparams.pt_weight, loaded.hparams.energy) == (1.5, 0.3, "mse")
        assert (loaded.d_steps, loaded.g_steps) == (model.d_steps, model.g_steps) == (3, 3)
        with torch.no_grad():
            energy, codes = loaded.energy(x)
        assert torch.equal(energy, expected[0]) and torch.equal(codes, expected[1])


def test_resume_is_exact(tmp_path):
    straight = small()
    fit_with_checkpoints(straight, tmp_path / "straight", 12)
    fit_with_checkpoints(small(), tmp_path / "run", 6)
    resumed = small(seed=1)  # other initial weights: everything must come from the checkpoint
    fit_with_checkpoints(resumed, tmp_path / "run", 12, resume=True)
    assert (resumed.d_steps, resumed.g_steps) == (straight.d_steps, straight.g_steps) == (6, 6)
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
    [("configs/ebgan/fashion_mnist.yaml", FashionMNISTData), ("configs/ebgan/ring.yaml", GaussianMixtureData)],
)
def test_config_fits_through_the_cli(config, data, tmp_path, fashion_dir):
    cli = run_lightning_cli(["fit", *cli_args(config, tmp_path, fashion_dir, 4)])
    assert type(cli.model) is EBGAN and isinstance(cli.datamodule, data)
    assert (cli.model.d_steps, cli.model.g_steps) == (2, 2)
    assert cli.model.hparams.pt_weight == 0.1
