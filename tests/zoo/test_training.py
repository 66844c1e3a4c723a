"""End-to-end behaviour: the README's quick start as written, exact resume, and the CLI."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch

from callbacks import SampleGrid, TrainingSummary, ZooCheckpoint
from datamodules import FashionMNISTData
from tests.conftest import tiny_trainer
from zoo import GAN
from zoo.commands.cli import main as cli_main


def test_fit_exactly_as_written(fashion_dir, tmp_path):
    """``Trainer.fit(GAN(), FashionMNISTData(...))``: nets sized from the data, shape recorded in hparams."""
    model = GAN()
    trainer = L.Trainer(max_steps=4, default_root_dir=tmp_path, enable_progress_bar=False, logger=False)
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir)))
    assert model.hparams.image_shape == [1, 28, 28]
    assert (model.d_steps, model.g_steps) == (2, 2)
    assert model.generate(3).shape == (3, 1, 28, 28)


def fit_steps(fashion_dir, root, max_steps, ckpt_path=None, seed=0):
    L.seed_everything(seed)
    model = GAN(latent_dim=8, width=8)
    dm = FashionMNISTData(data_dir=str(fashion_dir), batch_size=32)  # 8 batches an epoch
    trainer = tiny_trainer(
        root, max_steps=max_steps, enable_checkpointing=True, callbacks=[ZooCheckpoint(every_n_train_steps=4)]
    )
    trainer.fit(model, dm, ckpt_path=ckpt_path)
    return model


def test_resume_from_last_equals_uninterrupted_run(fashion_dir, tmp_path):
    # 2N = 22 optimizer steps = 11 batches: the resumed half crosses an epoch boundary mid-way
    reference = fit_steps(fashion_dir, tmp_path / "straight", 22)
    first = fit_steps(fashion_dir, tmp_path / "split", 10)
    assert (tmp_path / "split" / "checkpoints" / "last.ckpt").is_file()
    resumed = fit_steps(fashion_dir, tmp_path / "split", 22, ckpt_path="last", seed=123)
    assert (resumed.d_steps, resumed.g_steps) == (reference.d_steps, reference.g_steps) == (11, 11)
    assert first.g_steps == 5
    expected = reference.state_dict()
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_resume_differs_without_checkpoint(fashion_dir, tmp_path):
    """Control for the test above: a fresh run of 11 batches with another seed is not equal."""
    reference = fit_steps(fashion_dir, tmp_path / "a", 22)
    other = fit_steps(fashion_dir, tmp_path / "b", 22, seed=123)
    assert not torch.equal(reference.generator.net[0].weight, other.generator.net[0].weight)


def test_sample_grid_and_summary_files(fashion_dir, tmp_path):
    model = GAN(latent_dim=8, width=8)
    grid = SampleGrid(every_n_steps=2, num_samples=16, nrow=4)
    trainer = tiny_trainer(tmp_path, max_steps=8, callbacks=[grid, TrainingSummary()])
    trainer.fit(model, FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    files = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert files == ["last.png", "step_0000002.png", "step_0000004.png"]
    from PIL import Image

    assert Image.open(tmp_path / "samples" / "last.png").size == (4 * 30 + 2, 4 * 30 + 2)
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["g_steps"] == 4 and summary["model"] == "GAN"
    assert summary["metrics"]["train/d_loss"] > 0


def test_sample_grid_reaches_tensorboard(fashion_dir, tmp_path):
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path, name="tb")
    trainer = tiny_trainer(tmp_path, max_steps=4, logger=logger, callbacks=[SampleGrid(every_n_steps=1)])
    trainer.fit(GAN(latent_dim=8, width=8), FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    events = EventAccumulator(logger.log_dir)
    events.Reload()
    assert "samples" in events.Tags()["images"]
    assert len(events.Images("samples")) == 2


def test_cli_fit_then_resume_last(fashion_dir, tmp_path):
    root = tmp_path / "run"
    common = ["--model", "GAN", "--model.latent_dim", "8", "--model.width", "8", "--data", "FashionMNISTData"]
    common += ["--data.data_dir", str(fashion_dir), "--data.batch_size", "16", "--trainer.logger", "false"]
    common += ["--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(root)]
    cli_main(["fit", *common, "--trainer.max_steps", "6"])
    assert (root / "checkpoints" / "last.ckpt").is_file()
    assert json.loads((root / "metrics.json").read_text())["g_steps"] == 3
    cli_main(["fit", *common, "--trainer.max_steps", "10", "--ckpt_path", "last"])
    assert json.loads((root / "metrics.json").read_text())["g_steps"] == 5
    cli_main(["sample", "--ckpt", str(root / "checkpoints" / "last.ckpt"), "--out", str(tmp_path / "g.png")])
    assert (tmp_path / "g.png").stat().st_size > 0


def test_cli_unknown_model_fails(tmp_path):
    with pytest.raises(SystemExit):
        cli_main(["fit", "--model", "NoSuchGAN", "--data", "FashionMNISTData"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"objective": "wasserstein"}, "valid choices: 'minimax', 'non_saturating'"),
        ({"n_critic": 0}, "n_critic must be >= 1"),
        ({"lr": 0}, "lr must be > 0"),
        ({"lr_d": -1.0}, "lr_d must be > 0"),
        ({"image_shape": (1, 30, 30)}, "28, 32 or 64"),
        ({"optimizer": "lbfgs"}, "'adam', 'rmsprop', 'sgd'"),
    ],
)
def test_gan_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GAN(**kwargs)


def test_model_without_shape_or_datamodule_says_how(tmp_path):
    loader = [torch.randn(4, 1, 28, 28) for _ in range(2)]
    with pytest.raises(ValueError, match="pass image_shape"):
        tiny_trainer(tmp_path, max_steps=2).fit(GAN(), loader)
