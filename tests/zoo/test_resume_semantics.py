"""Resuming, as users meet it (README "Resuming"): a checkpoint resumes only its own variant and image shape;
architecture/state hyperparameters that differ are refused by name; optimizer settings that differ really
reach the restored optimizers; the other hyperparameters hold; ``--ckpt_path last`` with nothing to resume
says so and starts from scratch. The same rules from the CLI and from ``Trainer.fit(..., ckpt_path=...)``."""

from __future__ import annotations

import json
import logging

import lightning as L
import pytest
import torch

from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN, WGANGP
from zoo.checkpoints import read_checkpoint
from zoo.commands.cli import main, run_lightning_cli
from zoo.models.resume import apply_optimizer_settings, resume_kind

TINY = ["--model.latent_dim", "8", "--model.width", "8"]


def cli_args(fashion_dir, root, *extra: str, model: str = "GAN", steps: int = 4) -> list[str]:
    args = ["fit", "--model", model, "--data", "FashionMNISTData", "--data.data_dir", str(fashion_dir)]
    args += ["--data.batch_size", "16", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    args += ["--trainer.enable_model_summary", "false", "--trainer.default_root_dir", str(root)]
    return [*args, "--trainer.max_steps", str(steps), *extra]


@pytest.fixture
def run(fashion_dir, tmp_path):
    """A GAN run trained by the CLI for 4 optimizer steps: its root and last.ckpt."""
    root = tmp_path / "run"
    main(cli_args(fashion_dir, root, *TINY))
    return root, root / "checkpoints" / "last.ckpt"


class CountBatches(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_start(self, *args) -> None:
        self.batches += 1


# ------------------------------------------------------------------ another variant / image shape
def test_cli_refuses_a_checkpoint_of_another_variant_before_training(run, fashion_dir, tmp_path):
    _, ckpt = run
    before = ckpt.read_bytes()
    other = tmp_path / "other"
    with pytest.raises(SystemExit, match=r"holds a GAN checkpoint but --model is WGANGP.*--model GAN"):
        main(cli_args(fashion_dir, other, "--ckpt_path", str(ckpt), model="WGANGP", steps=8))
    assert not other.exists()  # nothing trained, no config.yaml claiming a GAN
    assert ckpt.read_bytes() == before


def test_api_refuses_a_checkpoint_of_another_variant_before_training(run, fashion_dir, tmp_path):
    _, ckpt = run
    counter = CountBatches()
    model = WGANGP(latent_dim=8, width=8)
    trainer = tiny_trainer(tmp_path, max_steps=8, callbacks=[counter])
    with pytest.raises(ValueError, match=r"checkpoint .*last.ckpt holds a GAN, not a WGANGP"):
        trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16), ckpt_path=ckpt)
    assert counter.batches == 0 and model.d_steps == 0


def test_cli_refuses_a_checkpoint_of_another_image_shape(run, fashion_dir, tmp_path):
    _, ckpt = run
    with pytest.raises(SystemExit, match=r"trained on image_shape=\(1, 28, 28\) but --data serves \(1, 32, 32\)"):
        main(cli_args(fashion_dir, tmp_path / "o", "--data.image_size", "32", "--ckpt_path", str(ckpt), steps=8))
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ architecture hyperparameters
def test_cli_refuses_architecture_changes_naming_each(run, fashion_dir):
    root, _ = run
    with pytest.raises(SystemExit) as refused:
        main(
            cli_args(
                fashion_dir, root, *TINY, "--model.latent_dim", "16", "--model.nets", "infogan", "--ckpt_path", "last"
            )
        )
    message = str(refused.value)
    assert (
        "--model.latent_dim 16 (checkpoint: 8)" in message and "--model.nets 'infogan' (checkpoint: 'dcgan')" in message
    )
    assert "Leave them out" in message and "Traceback" not in message
    assert json.loads((root / "metrics.json").read_text())["global_step"] == 4  # the run was not touched


@pytest.mark.parametrize(
    "kwargs, named", [({"latent_dim": 16}, "latent_dim 16"), ({"optimizer": "rmsprop"}, "optimizer")]
)
def test_api_refuses_architecture_changes_naming_them(run, fashion_dir, tmp_path, kwargs, named):
    _, ckpt = run
    model = GAN(**{"latent_dim": 8, "width": 8, **kwargs})
    with pytest.raises(ValueError, match=rf"cannot resume checkpoint .*last.ckpt with {named}.*define the nets"):
        tiny_trainer(tmp_path, max_steps=8).fit(
            model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16), ckpt_path=ckpt
        )


def test_the_rule_per_kind():
    assert {resume_kind(n) for n in ("latent_dim", "width", "nets", "g_norm", "image_shape", "optimizer")} == {"fixed"}
    assert {resume_kind(n) for n in ("lr", "lr_d", "lr_e", "betas")} == {"optimizer"}
    assert {resume_kind(n) for n in ("n_critic", "gp_weight", "objective", "grad_clip_val")} == {"applied"}


# ------------------------------------------------------------------ optimizer settings and the rest: applied
def test_cli_applies_new_optimizer_settings_and_logs_them(run, fashion_dir):
    root, _ = run
    extra = [
        *TINY,
        "--model.lr",
        "0.001",
        "--model.betas",
        "[0.1, 0.9]",
        "--model.n_critic",
        "2",
        "--ckpt_path",
        "last",
    ]
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    rank_zero.addHandler(handler)
    try:
        cli = run_lightning_cli(cli_args(fashion_dir, root, *extra, steps=8))
    finally:
        rank_zero.removeHandler(handler)
    for optimizer in cli.trainer.optimizers:
        assert [(g["lr"], tuple(g["betas"])) for g in optimizer.param_groups] == [(0.001, (0.1, 0.9))]
    saved = read_checkpoint(root / "checkpoints" / "last.ckpt")
    assert saved["global_step"] == 8 and saved["hyper_parameters"]["n_critic"] == 2
    assert {(g["lr"], tuple(g["betas"])) for o in saved["optimizer_states"] for g in o["param_groups"]} == {
        (0.001, (0.1, 0.9))
    }
    assert any("lr 0.001 (checkpoint: 0.0002)" in m and "n_critic 2 (checkpoint: 1)" in m for m in messages), messages


def test_cli_resumes_with_the_checkpoint_hyperparameters_when_none_are_given(run, fashion_dir):
    """Only what is given changes: the model is rebuilt from the checkpoint (latent_dim 8, width 8), not defaults."""
    root, _ = run
    cli = run_lightning_cli(cli_args(fashion_dir, root, "--model.lr", "0.0005", "--ckpt_path", "last", steps=6))
    assert (cli.model.hparams.latent_dim, cli.model.hparams.width, cli.model.hparams.lr) == (8, 8, 0.0005)
    assert cli.trainer.optimizers[0].param_groups[0]["lr"] == 0.0005


def test_api_applies_the_model_optimizer_settings_after_the_restore(run, fashion_dir, tmp_path):
    _, ckpt = run
    model = GAN(latent_dim=8, width=8, lr=1e-3, lr_d=3e-3, betas=(0.2, 0.95))
    trainer = tiny_trainer(tmp_path, max_steps=6)
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16), ckpt_path=ckpt)
    groups = [opt.param_groups[0] for opt in trainer.optimizers]
    assert [(g["lr"], tuple(g["betas"])) for g in groups] == [(1e-3, (0.2, 0.95)), (3e-3, (0.2, 0.95))]
    assert set(model.applied_resume_changes) == {"lr", "lr_d", "betas"}


def test_a_new_base_rate_keeps_a_running_schedule_and_momentum_only_for_sgd():
    weights = [torch.nn.Parameter(torch.zeros(2))]
    adam = torch.optim.Adam(weights, lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(adam, lambda epoch: 0.5**epoch)
    adam.step()
    schedule.step()  # half-way down its schedule: lr 0.05 of a base 0.1
    rmsprop = torch.optim.RMSprop(weights, lr=0.1)
    sgd = torch.optim.SGD(weights, lr=0.1, momentum=0.5)
    notes = apply_optimizer_settings([adam, rmsprop, sgd], [0.2, 0.1, 0.1], (0.3, 0.9), [schedule], set_betas=True)
    assert adam.param_groups[0]["lr"] == pytest.approx(0.1) and adam.param_groups[0]["initial_lr"] == 0.2
    assert schedule.base_lrs == [0.2] and adam.param_groups[0]["betas"] == (0.3, 0.9)
    assert rmsprop.param_groups[0]["momentum"] == 0 and sgd.param_groups[0]["momentum"] == 0.3
    assert len(notes) == 3
    schedule.step()
    assert adam.param_groups[0]["lr"] == pytest.approx(0.05)  # 0.2 * 0.5**2: the schedule continues on the new base


# ------------------------------------------------------------------ --ckpt_path last with nothing to resume
def test_last_without_a_checkpoint_says_so_and_starts_from_scratch(fashion_dir, tmp_path, capsys):
    root = tmp_path / "fresh"
    main(cli_args(fashion_dir, root, *TINY, "--ckpt_path", "last"))
    err = capsys.readouterr().err
    assert f"--ckpt_path last: no checkpoint in {root / 'checkpoints'}" in err and "starting from scratch" in err
    assert json.loads((root / "metrics.json").read_text())["global_step"] == 4
