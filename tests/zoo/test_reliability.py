"""Reliability: divergence guard, safe loading, refusal of foreign checkpoints, and the bad-input sweep."""

from __future__ import annotations

import pickle

import lightning as L
import pytest
import torch

from callbacks import DivergenceGuard, TrainingDivergedError, ZooCheckpoint
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN
from zoo.checkpoints import load_variant, read_checkpoint
from zoo.commands.cli import check_devices
from zoo.commands.cli import main as cli_main


class PoisonAt(L.Callback):
    """Test hook: turn one generator weight into NaN at the start of training batch ``batch``."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if pl_module.d_steps + 1 == self.batch:
            with torch.no_grad():
                pl_module.generator.net[0].weight[0, 0, 0, 0] = float("nan")


def test_nan_stops_run_and_keeps_last_good_checkpoint(fashion_dir, tmp_path):
    model = GAN(latent_dim=8, width=8)
    trainer = tiny_trainer(
        tmp_path,
        max_steps=40,
        enable_checkpointing=True,
        callbacks=[DivergenceGuard(), ZooCheckpoint(every_n_train_steps=2), PoisonAt(batch=5)],
    )
    with pytest.raises(TrainingDivergedError, match=r"D step 5: non-finite loss term\(s\) train/d_loss"):
        trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    last = read_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert last["adversarial_counters"]["d_steps"] == 4  # saved before the poisoned step 5, not after
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    assert load_variant(tmp_path / "checkpoints" / "last.ckpt").g_steps == 4


def test_guard_names_a_non_finite_parameter(fashion_dir, tmp_path):
    class PoisonDiscriminatorAfterStep(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args) -> None:
            if pl_module.d_steps == 2:
                with torch.no_grad():
                    pl_module.discriminator.head.bias.fill_(float("inf"))

    trainer = tiny_trainer(tmp_path, max_steps=20, callbacks=[PoisonDiscriminatorAfterStep(), DivergenceGuard()])
    with pytest.raises(TrainingDivergedError, match="parameter discriminator.head.bias is NaN/Inf"):
        trainer.fit(GAN(latent_dim=8, width=8), FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))


@pytest.fixture
def checkpoint(fashion_dir, tmp_path):
    model = GAN(latent_dim=8, width=8)
    trainer = tiny_trainer(tmp_path, max_steps=2)
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    path = tmp_path / "good.ckpt"
    trainer.save_checkpoint(path)
    return path


def test_truncated_checkpoint_gives_clear_error(checkpoint, tmp_path):
    bad = tmp_path / "truncated.ckpt"
    bad.write_bytes(checkpoint.read_bytes()[:5000])
    with pytest.raises(ValueError, match="cannot load checkpoint .*truncated.ckpt.*truncated, corrupt"):
        load_variant(bad)


def test_random_bytes_checkpoint_gives_clear_error(tmp_path):
    bad = tmp_path / "noise.ckpt"
    bad.write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(ValueError, match="cannot load checkpoint .*noise.ckpt"):
        load_variant(bad)


class Payload:
    """An arbitrary object: unpickling it under weights_only=False would run code of the file's choosing."""

    def __reduce__(self):
        return (print, ("payload executed",))


def test_pickled_object_is_refused(checkpoint, tmp_path, capsys):
    data = torch.load(checkpoint, weights_only=True)
    data["extra"] = Payload()
    evil = tmp_path / "evil.ckpt"
    torch.save(data, evil, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    with pytest.raises(ValueError, match="weights_only=True refuses"):
        load_variant(evil)
    assert "payload executed" not in capsys.readouterr().out


def test_checkpoint_of_another_variant_is_refused(checkpoint):
    data = torch.load(checkpoint, weights_only=True)
    model = GAN(latent_dim=8, width=8, image_shape=(1, 28, 28))
    data["variant"] = "WGANGP"
    with pytest.raises(ValueError, match="holds a WGANGP, not a GAN"):
        model.on_load_checkpoint(data)


def test_resume_with_other_image_shape_is_refused(checkpoint, fashion_dir, tmp_path):
    model = GAN(latent_dim=8, width=8)
    trainer = tiny_trainer(tmp_path, max_steps=4)
    with pytest.raises(
        ValueError, match=r"trained on image_shape=\(1, 28, 28\) but the model is built for \(1, 32, 32\)"
    ):
        trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), image_size=32), ckpt_path=checkpoint)


def test_unwritable_output_directory_names_the_fix(fashion_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    trainer = tiny_trainer(blocker / "run", max_steps=2, enable_checkpointing=True, callbacks=[ZooCheckpoint()])
    with pytest.raises(PermissionError, match="cannot write checkpoints .*writable --trainer.default_root_dir"):
        trainer.fit(GAN(latent_dim=8, width=8), FashionMNISTData(data_dir=str(fashion_dir)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without GPUs")
def test_gpu_request_without_gpu_names_the_fix():
    with pytest.raises(SystemExit, match="no CUDA GPU is visible: use --trainer.accelerator cpu"):
        cli_main(["fit", "--model", "GAN", "--data", "FashionMNISTData", "--trainer.accelerator", "gpu"])


def test_too_many_gpus_names_the_limit(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(
        ValueError, match=r"--trainer.devices 4 requested but only 2 GPU\(s\) are visible: use at most 2"
    ):
        check_devices("gpu", 4)
    check_devices("gpu", 2)  # within the limit: accepted
