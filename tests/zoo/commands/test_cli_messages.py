"""``gan-zoo`` messages: a user error is one clear message and a non-zero exit, without a Python traceback
(``GAN_ZOO_DEBUG=1`` brings the traceback back); unknown names list the known ones; sample counts and output
files are checked before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from zoo import GAN, list_variants
from zoo.commands.cli import main
from zoo.sampling import fixed_z, generate_batches

ROOT = Path(__file__).resolve().parents[3]


def fit_args(*extra: str) -> list[str]:
    return ["fit", "--model", "GAN", "--data", "FashionMNISTData", "--trainer.max_steps", "2", *extra]


# ---------------------------------------------------------------------------------- names and values
def test_unknown_model_lists_the_registered_variants():
    with pytest.raises(SystemExit) as caught:
        main(["fit", "--model", "GANN", "--data", "FashionMNISTData"])
    message = str(caught.value)
    assert message.startswith("gan-zoo fit: error: unknown --model 'GANN'; registered variants: ")
    assert all(name in message for name in list_variants())


def test_unknown_data_lists_the_datamodules():
    with pytest.raises(SystemExit) as caught:
        main(["fit", "--model=GAN", "--data=FOO"])
    message = str(caught.value)
    assert message.startswith("gan-zoo fit: error: unknown --data 'FOO'; datamodules: ")
    assert "FashionMNISTData" in message and "GaussianMixtureData" in message and "ImageDataModule" not in message


def test_a_bad_hyperparameter_is_one_message_without_the_union_noise():
    with pytest.raises(SystemExit) as caught:
        main(fit_args("--model.lr", "0"))
    message = str(caught.value)
    assert message.startswith("gan-zoo fit: error: lr must be > 0, got 0.0. Pass a positive learning rate")
    assert "Subtypes" not in message and "NoneType" not in message and "Given value" not in message


def test_a_value_of_the_wrong_type_is_one_short_message(capsys):
    with pytest.raises(SystemExit) as caught:
        main(fit_args("--model.lr", "abc"))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    message = err[err.index("gan-zoo fit: error: ") :].strip().splitlines()  # (after Lightning's in-process warning)
    assert len(message) == 2 and "Got value: abc" in message[0] and "--help" in message[1]
    assert "usage:" not in err


def test_a_missing_dataset_folder_is_one_message(tmp_path):
    with pytest.raises(SystemExit, match=r"^gan-zoo fit: error: Fashion-MNIST files missing from .*nowhere"):
        main(fit_args("--data.data_dir", str(tmp_path / "nowhere"), "--trainer.default_root_dir", str(tmp_path)))


def test_debug_env_brings_back_the_original_exception(monkeypatch):
    monkeypatch.setenv("GAN_ZOO_DEBUG", "1")
    with pytest.raises(ValueError, match="lr must be > 0"):
        main(fit_args("--model.lr", "0"))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAN_ZOO_DEBUG": ""}
    command = [sys.executable, "-m", "zoo.commands.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_a_fit_time_user_error_prints_no_traceback(tmp_path):
    """The error surfaces inside Trainer.fit (the data is read in setup): one message, exit 1."""
    args = fit_args("--data.data_dir", str(tmp_path / "nowhere"), "--trainer.default_root_dir", str(tmp_path / "r"))
    quiet = run_cli(*args)
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert "gan-zoo fit: error: Fashion-MNIST files missing from" in quiet.stderr
    assert (
        "GAN_ZOO_DEBUG=1" in quiet.stderr
    )  # (the debug run itself: test_debug_env_brings_back_the_original_exception)


# ---------------------------------------------------------------------------------- sample counts
@pytest.fixture
def tiny_vector_gan() -> GAN:
    return GAN(latent_dim=4, width=8, image_shape=(2,))


@pytest.mark.parametrize(
    "n, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError), ("4", TypeError)]
)
def test_generate_refuses_anything_but_a_positive_int(tiny_vector_gan, n, error):
    with pytest.raises(error, match=rf"n must be a positive int \(a number of samples\), got {n!r}"):
        tiny_vector_gan.generate(n)
    with pytest.raises(error, match="n must be a positive int"):
        fixed_z(tiny_vector_gan, n, seed=0)


def test_generate_accepts_positive_ints(tiny_vector_gan):
    assert tiny_vector_gan.generate(3).shape == (3, 2)
    assert tiny_vector_gan.generate(torch.tensor(2)).shape == (2, 2)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(generate_batches(tiny_vector_gan.generator, torch.zeros(4, 4), 0))


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    model = GAN(latent_dim=4, width=8, image_shape=(1, 28, 28))
    path = tmp_path / "tiny.ckpt"
    torch.save({"variant": "GAN", "hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, path)
    return path


@pytest.mark.parametrize("num", ["0", "-2", "abc", "1.5"])
def test_sample_num_must_be_a_positive_int(checkpoint, tmp_path, capsys, num):
    with pytest.raises(SystemExit) as caught:
        main(["sample", "--ckpt", str(checkpoint), "--out", str(tmp_path / "g.png"), "--num", num])
    assert caught.value.code == 2
    assert "--num must be a positive int" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("out", ["grid.pngx", "grid", "grid.txt"])
def test_sample_refuses_an_unknown_image_extension_before_loading(tmp_path, out):
    missing = tmp_path / "not-there.ckpt"  # would fail to load: the extension is checked first
    with pytest.raises(SystemExit, match=r"gan-zoo sample: error: --out .* is not an image format; .*\.png"):
        main(["sample", "--ckpt", str(missing), "--out", str(tmp_path / out)])


def test_sample_creates_the_parent_folders(checkpoint, tmp_path):
    out = tmp_path / "new" / "deeper" / "grid.jpg"
    main(["sample", "--ckpt", str(checkpoint), "--out", str(out), "--num", "4"])
    assert out.stat().st_size > 0
