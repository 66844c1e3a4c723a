"""``gan-zoo sample --labels``: rows of the labels asked for from a conditional checkpoint; clear errors for labels
on an unconditional one and for labels out of range (stub models stand for the loaded checkpoints)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tests.zoo.metrics.class_stubs import LEVELS, SHAPE, K, StubConditional, StubUnconditional
from zoo.commands import sample as sample_module
from zoo.commands.cli import main

CELL = SHAPE[1] + 2  # make_grid pads every image by 2 pixels


@pytest.fixture()
def checkpoints(tmp_path, monkeypatch):
    """``--ckpt <name>.ckpt`` loads the stub called ``name``."""
    models = {"cgan": StubConditional(), "infogan": StubConditional("code", num_continuous=1)}
    models["gan"] = StubUnconditional()
    monkeypatch.setattr(sample_module, "load_variant", lambda path: models[str(path).rsplit("/", 1)[-1][:-5]])
    return tmp_path


def read_rows(path, rows: int, columns: int) -> torch.Tensor:
    """The class each grid cell shows (nearest brightness level), as (rows, columns)."""
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float64) / 255 * 2 - 1
    assert pixels.shape == (rows * CELL + 2, columns * CELL + 2)
    classes = torch.empty(rows, columns, dtype=torch.long)
    for r in range(rows):
        for c in range(columns):
            cell = pixels[2 + r * CELL : r * CELL + CELL, 2 + c * CELL : c * CELL + CELL]
            classes[r, c] = int((LEVELS - float(cell.mean())).abs().argmin())
    return classes


def test_sample_labels_draws_one_row_per_label(checkpoints, capsys):
    out = checkpoints / "rows.png"
    main(["sample", "--ckpt", str(checkpoints / "cgan.ckpt"), "--out", str(out), "--labels", "0,3,1", "--num", "5"])
    assert torch.equal(read_rows(out, 3, 5), torch.tensor([[0] * 5, [3] * 5, [1] * 5]))
    assert "wrote 3 x 5 samples (labels 0, 3, 1) of StubConditional" in capsys.readouterr().out


def test_a_conditional_checkpoint_without_labels_draws_every_label(checkpoints):
    out = checkpoints / "all.png"
    main(["sample", "--ckpt", str(checkpoints / "cgan.ckpt"), "--out", str(out)])
    assert torch.equal(read_rows(out, K, 8), torch.arange(K)[:, None].expand(K, 8))  # 8 a label by default


def test_an_infogan_checkpoint_gets_its_code_sweep_for_the_labels_asked_for(checkpoints):
    out = checkpoints / "sweep.png"
    main(["sample", "--ckpt", str(checkpoints / "infogan.ckpt"), "--out", str(out), "--labels", "2", "--num", "3"])
    pixels = np.asarray(Image.open(out).convert("L"), dtype=np.float64) / 255 * 2 - 1
    means = [pixels[2:CELL, 2 + c * CELL : c * CELL + CELL].mean() for c in range(3)]
    assert means[0] < means[1] < means[2]  # the continuous code sweeps -2, 0, 2 (the stub brightens with it)
    assert means[1] == pytest.approx(float(LEVELS[2]), abs=0.05)


def test_labels_on_an_unconditional_checkpoint_are_refused(checkpoints):
    out = checkpoints / "no.png"
    with pytest.raises(
        SystemExit, match="gan-zoo sample: error: labels \\[0, 3\\] were given, but .* is unconditional"
    ):
        main(["sample", "--ckpt", str(checkpoints / "gan.ckpt"), "--out", str(out), "--labels", "0,3"])
    assert not out.exists()


def test_labels_out_of_range_are_refused(checkpoints):
    out = checkpoints / "no.png"
    with pytest.raises(
        SystemExit, match=r"gan-zoo sample: error: .*labels must lie in \[0, 3\] \(4 classes\), got \[7\]"
    ):
        main(["sample", "--ckpt", str(checkpoints / "cgan.ckpt"), "--out", str(out), "--labels", "0,7"])
    assert not out.exists()


@pytest.mark.parametrize("labels", ["a,b", ",", "1.5"])
def test_labels_must_be_whole_numbers(checkpoints, capsys, labels):
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "sample",
                "--ckpt",
                str(checkpoints / "cgan.ckpt"),
                "--out",
                str(checkpoints / "g.png"),
                "--labels",
                labels,
            ]
        )
    assert caught.value.code == 2
    assert "--labels must be comma-separated class indices, e.g. 0,3,7" in capsys.readouterr().err


def test_an_unconditional_checkpoint_still_draws_num_samples(checkpoints):
    out = checkpoints / "plain.png"
    main(["sample", "--ckpt", str(checkpoints / "gan.ckpt"), "--out", str(out), "--num", "12"])
    assert Image.open(out).size == (8 * CELL + 2, 2 * CELL + 2)  # 12 samples, 8 a row
