"""``DivergenceGuard`` checks every tensor a checkpoint saves, keeps a checkpoint that is finite everywhere, and its
advice (resume at a lower learning rate) works when followed word for word."""

from __future__ import annotations

import json
import math
import re

import lightning as L
import pytest
import torch
from torch import nn

from callbacks import DivergenceGuard, TrainingDivergedError, ZooCheckpoint
from callbacks.divergence import ADVICE, first_non_finite
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN
from zoo.checkpoints import read_checkpoint
from zoo.commands.cli import main as cli_main


class PoisonRunningVar(L.Callback):
    """After D step ``batch``, the generator's first batch-norm running variance becomes inf. In training mode batch
    norm uses the batch's statistics, so every loss stays finite: only the saved state is ruined."""

    def __init__(self, batch: int = 5) -> None:
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if pl_module.d_steps == self.batch:
            norm = next(m for m in pl_module.generator.modules() if isinstance(m, nn.BatchNorm2d))
            norm.running_var.fill_(float("inf"))


class PoisonAdamMoment(L.Callback):
    """After D step ``batch``, the discriminator's Adam second moment of one tensor becomes inf: its updates turn to
    0 from then on (m / (sqrt(inf) + eps)), the parameter freezes silently and every loss stays finite."""

    def __init__(self, batch: int = 5) -> None:
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        if pl_module.d_steps == self.batch:
            state = next(iter(trainer.optimizers[1].state.values()))
            state["exp_avg_sq"].fill_(float("inf"))


class LearningRateSpy(L.Callback):
    """Records every optimizer's learning rates at each training batch (class attribute: the CLI builds it)."""

    seen: list[list[float]] = []

    def on_train_batch_start(self, trainer, pl_module, *args) -> None:
        LearningRateSpy.seen.append([g["lr"] for opt in trainer.optimizers for g in opt.param_groups])


def non_finite_entries(checkpoint: dict) -> list[str]:
    """Paths of every NaN/Inf float or floating tensor in a checkpoint: weights, buffers, optimizer state,
    schedulers, hyperparameters, counters. ``callbacks`` is Lightning's bookkeeping (``ModelCheckpoint`` keeps
    ``kth_value = inf`` by design when it keeps no top-k), not trained state."""
    bad: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}/{key}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, torch.Tensor) and value.is_floating_point():
            if not bool(torch.isfinite(value).all()):
                bad.append(path)
        elif isinstance(value, float) and not math.isfinite(value):
            bad.append(path)

    for key, value in checkpoint.items():
        if key != "callbacks":
            walk(value, key)
    return bad


@pytest.mark.parametrize(
    ("poison", "message"),
    [
        (PoisonRunningVar, r"buffer generator\.\S+\.running_var is NaN/Inf"),
        (PoisonAdamMoment, r"optimizer 1 state 'exp_avg_sq' of discriminator\.\S+ is NaN/Inf"),
    ],
    ids=["batchnorm_running_var", "adam_second_moment"],
)
def test_guard_catches_non_finite_saved_state_and_keeps_a_finite_checkpoint(fashion_dir, tmp_path, poison, message):
    trainer = tiny_trainer(
        tmp_path,
        max_steps=40,
        enable_checkpointing=True,
        callbacks=[poison(batch=5), DivergenceGuard(), ZooCheckpoint(every_n_train_steps=2)],
    )
    with pytest.raises(TrainingDivergedError, match=rf"D step 5: {message}\. The last good checkpoint is untouched"):
        trainer.fit(GAN(latent_dim=8, width=8), FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    last = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert last["adversarial_counters"]["d_steps"] == 4  # the state before the poisoned step
    assert non_finite_entries(last) == []
    assert any(k.endswith("running_var") for k in last["state_dict"])  # buffers are in it, and were checked


def test_checkpoint_walker_finds_what_it_should():
    assert (
        non_finite_entries({"state_dict": {"a": torch.zeros(2)}, "callbacks": {"k": torch.tensor(float("inf"))}}) == []
    )
    bad = {"optimizer_states": [{"state": {0: {"exp_avg_sq": torch.tensor([1.0, float("inf")])}}}], "x": float("nan")}
    assert non_finite_entries(bad) == ["optimizer_states[0]/state/0/exp_avg_sq", "x"]


def cli_args(fashion_dir, root, max_steps: int) -> list[str]:
    args = ["fit", "--model", "GAN", "--model.latent_dim", "8", "--model.width", "8", "--data", "FashionMNISTData"]
    args += ["--data.data_dir", str(fashion_dir), "--data.batch_size", "16", "--trainer.logger", "false"]
    args += ["--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(root)]
    return args + ["--trainer.max_steps", str(max_steps), "--checkpoint.every_n_train_steps", "2"]


def test_following_the_advice_on_the_command_line_trains_at_the_new_rate(fashion_dir, tmp_path):
    """The CLI (DivergenceGuard on by default) stops a diverged run; the command its error names resumes the last
    good checkpoint and the optimizers really train at the lower rate (not the checkpoint's 2e-4)."""
    root = tmp_path / "run"
    poison = json.dumps([{"class_path": f"{__name__}.PoisonRunningVar", "init_args": {"batch": 3}}])
    with pytest.raises(TrainingDivergedError) as err:
        cli_main([*cli_args(fashion_dir, root, 40), "--trainer.callbacks", poison])
    advice = re.search(r"'(--ckpt_path last --model\.init_args\.lr) <lower>'", str(err.value))
    assert advice is not None, str(err.value)
    saved = read_checkpoint(root / "checkpoints" / "last.ckpt")
    assert saved["adversarial_counters"]["d_steps"] == 2
    assert [g["lr"] for opt in saved["optimizer_states"] for g in opt["param_groups"]] == [2e-4, 2e-4]

    LearningRateSpy.seen = []
    spy = json.dumps([{"class_path": f"{__name__}.LearningRateSpy"}])
    followed = [*advice.group(1).split(), "1e-5"]  # the advice, word for word, with the lower rate filled in
    cli_main([*cli_args(fashion_dir, root, 10), "--trainer.callbacks", spy, *followed])
    assert len(LearningRateSpy.seen) == 3  # resumed at D step 2 (global step 4), ran to global step 10
    assert all(lrs == [1e-5, 1e-5] for lrs in LearningRateSpy.seen), LearningRateSpy.seen
    resumed = read_checkpoint(root / "checkpoints" / "last.ckpt")
    assert resumed["adversarial_counters"]["d_steps"] == 5
    assert [g["lr"] for opt in resumed["optimizer_states"] for g in opt["param_groups"]] == [1e-5, 1e-5]


def test_following_the_advice_in_python_trains_at_the_new_rate(fashion_dir, tmp_path):
    data = FashionMNISTData(data_dir=str(fashion_dir), batch_size=16)
    callbacks = [PoisonRunningVar(batch=3), DivergenceGuard(), ZooCheckpoint(every_n_train_steps=2)]
    trainer = tiny_trainer(tmp_path, max_steps=40, enable_checkpointing=True, callbacks=callbacks)
    with pytest.raises(TrainingDivergedError, match=re.escape('ckpt_path="last"')):
        trainer.fit(GAN(latent_dim=8, width=8), data)
    LearningRateSpy.seen = []
    callbacks = [LearningRateSpy(), DivergenceGuard(), ZooCheckpoint(every_n_train_steps=2)]
    trainer = tiny_trainer(tmp_path, max_steps=8, enable_checkpointing=True, callbacks=callbacks)
    trainer.fit(GAN(latent_dim=8, width=8, lr=1e-5), data, ckpt_path="last")
    assert LearningRateSpy.seen and all(lrs == [1e-5, 1e-5] for lrs in LearningRateSpy.seen), LearningRateSpy.seen


def test_advice_names_the_command_line_and_python_forms():
    assert "'--ckpt_path last --model.init_args.lr <lower>'" in ADVICE
    assert 'trainer.fit(<Variant>(lr=<lower>, ...), data, ckpt_path="last")' in ADVICE


def test_half_precision_state_is_summed_without_overflow():
    """A float16 sum of 100,000 ones is inf; the guard sums in float32, so large finite tensors are no false alarm."""
    assert torch.ones(100_000, dtype=torch.float16).sum().isinf()
    state = [("big half", torch.ones(100_000, dtype=torch.float16)), ("double", torch.ones(3, dtype=torch.float64))]
    assert first_non_finite(state) is None
    state.append(("bad bf16", torch.tensor([1.0, float("nan")], dtype=torch.bfloat16)))
    assert first_non_finite(state) == "bad bf16"
