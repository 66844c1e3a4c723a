"""One loader behind every entry point: a bad checkpoint file gives one clear error that names the file.

Every kind of bad file (missing, a directory, empty, truncated, random bytes, a foreign dict, a bare state dict,
another project's Lightning checkpoint, pickled code) goes through every door (``gan-zoo fit --ckpt_path``,
``gan-zoo sample | evaluate | translate``, ``load_variant``, ``Variant.load_from_checkpoint``). Only a valid
archive whose objects ``weights_only=True`` refused mentions ``weights_only=False``."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_trainer
from zoo import GAN, WGANGP
from zoo.checkpoints import CheckpointError, load_variant, read_checkpoint
from zoo.commands.cli import main
from zoo.models.base import AdversarialModule


class Payload:
    """Unpickling this under weights_only=False would run code of the file's choosing."""

    def __reduce__(self):
        return (print, ("payload executed",))


@pytest.fixture(scope="module")
def good(fashion_dir, tmp_path_factory) -> Path:
    from datamodules import FashionMNISTData

    root = tmp_path_factory.mktemp("good")
    trainer = tiny_trainer(root, max_steps=2)
    trainer.fit(GAN(latent_dim=8, width=8), FashionMNISTData(data_dir=str(fashion_dir), batch_size=16))
    trainer.save_checkpoint(root / "good.ckpt")
    return root / "good.ckpt"


def write_bad(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.ckpt"
    data = torch.load(good, weights_only=True)
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "random":
        path.write_bytes(
            torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0)).byte().numpy().tobytes()
        )
    elif kind == "foreign_dict":
        torch.save({"weights": torch.zeros(3), "epoch": 3}, path)
    elif kind == "bare_state_dict":
        torch.save(data["state_dict"], path)
    elif kind == "other_project":
        torch.save(
            {"state_dict": {"encoder.weight": torch.zeros(2)}, "hyper_parameters": {"hidden": 4}, "epoch": 1}, path
        )
    elif kind == "pickled_code":
        data["extra"] = Payload()
        torch.save(data, path, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    return path


KINDS = {  # kind: what the message says
    "missing": "does not exist",
    "directory": "is a directory",
    "empty": r"is empty \(0 bytes\)",
    "truncated": "truncated, corrupt or not a PyTorch checkpoint",
    "random": "truncated, corrupt or not a PyTorch checkpoint",
    "foreign_dict": r"not a Lightning checkpoint \(no 'state_dict'\): it holds a dict with keys 'weights', 'epoch'",
    "bare_state_dict": r"not a Lightning checkpoint .*a bare state dict of \d+ tensors",
    "other_project": "not one written by lightning-gan-zoo: it records no variant",
    "pickled_code": r"Python objects that weights_only=True refuses \(it references builtins.print\).*trust its source",
}


def through(door: str, path: Path, tmp_path: Path, fashion_dir: Path) -> None:
    if door == "load_variant":
        load_variant(path)
    elif door == "GAN.load_from_checkpoint":
        GAN.load_from_checkpoint(path)
    elif door == "AdversarialModule.load_from_checkpoint":
        AdversarialModule.load_from_checkpoint(path)
    elif door == "sample":
        main(["sample", "--ckpt", str(path), "--out", str(tmp_path / "grid.png")])
    elif door == "evaluate":
        main(["evaluate", "--ckpt", str(path), "--out", str(tmp_path / "e.json"), "--no-cache"])
    elif door == "translate":
        main(["translate", "--ckpt", str(path), "--input", str(tmp_path), "--out", str(tmp_path / "t")])
    elif door == "fit":
        args = ["fit", "--model", "GAN", "--data", "FashionMNISTData", "--data.data_dir", str(fashion_dir)]
        main([*args, "--trainer.default_root_dir", str(tmp_path / "run"), "--ckpt_path", str(path)])


DOORS = ["load_variant", "GAN.load_from_checkpoint", "AdversarialModule.load_from_checkpoint"]
DOORS += ["sample", "evaluate", "translate", "fit"]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_bad_file_gets_one_clear_error_at_every_door(kind, door, good, tmp_path, fashion_dir, capsys):
    path = write_bad(kind, good, tmp_path)
    cli = door in ("sample", "evaluate", "translate", "fit")
    expected = (SystemExit,) if cli else (CheckpointError, FileNotFoundError)
    with pytest.raises(expected) as caught:
        through(door, path, tmp_path, fashion_dir)
    message = str(caught.value)
    assert str(path) in message, message
    assert re.search(KINDS[kind], message), message
    if kind != "pickled_code":
        assert "weights_only=False" not in message, message  # a broken file is not fixed by trusting it
    if cli:
        assert message.startswith(f"gan-zoo {door}: error: ") and "Traceback" not in message
    captured = capsys.readouterr()
    assert "payload executed" not in captured.out + captured.err
    assert not (tmp_path / "run").exists() and not (tmp_path / "t").exists()  # refused before doing anything


def test_load_from_checkpoint_keeps_weights_only_by_default_and_refuses_another_variant(good):
    with pytest.raises(ValueError, match=rf"checkpoint {good} holds a GAN, not a WGANGP"):
        WGANGP.load_from_checkpoint(good)
    model = AdversarialModule.load_from_checkpoint(good)  # the base class loads whichever variant the file holds
    assert type(model) is GAN and model.hparams.latent_dim == 8
    assert type(GAN.load_from_checkpoint(good, map_location="cpu")) is GAN


def test_the_good_checkpoint_loads_everywhere(good, tmp_path):
    assert read_checkpoint(good)["variant"] == "GAN"
    assert load_variant(good).hparams.width == 8
    main(["sample", "--ckpt", str(good), "--out", str(tmp_path / "g.png"), "--num", "4"])
    assert (tmp_path / "g.png").stat().st_size > 0
