"""Resume with the generator EMA and DiffAugment on: a killed-and-resumed run ends bit-identical to an uninterrupted
one (the EMA is a child net saved in every checkpoint; DiffAugment's random parameters come from the RNG streams the
checkpoint restores)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import write_idx_dataset
from tests.zoo.test_kill_resume import kill_and_resume
from zoo.checkpoints import read_checkpoint

OPTIONS = json.dumps({"ema_decay": 0.9, "ema_rampup": True, "diffaugment": "color,translation,cutout"})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_idx_dataset(tmp_path_factory.mktemp("emadata"), 96, 16)


def test_kill_then_resume_with_ema_and_diffaugment_is_bit_identical(tmp_path, data):
    expected, _ = kill_and_resume(tmp_path, data, "--variant", "GAN", "--model-kwargs", OPTIONS)
    assert any(key.startswith("generator_ema.") for key in expected["state_dict"])
    # the EMA moved away from the generator: the comparison covers a real average, not a copy
    ema = {k[len("generator_ema.") :]: v for k, v in expected["state_dict"].items() if k.startswith("generator_ema.")}
    assert any(not torch.equal(v, expected["state_dict"][f"generator.{k}"]) for k, v in ema.items())
    saved = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")  # weights_only=True
    assert any(key.startswith("generator_ema.") for key in saved["state_dict"])


def test_kill_then_resume_with_recomputed_ema_statistics_and_grids_is_bit_identical(tmp_path, data):
    """``ema_bn="recompute"`` draws grids from a copy with z from a local generator: neither the saved EMA nor the
    training RNG streams move, so a run that draws grids every 2 generator updates still resumes bit-identically."""
    kwargs = json.dumps({"ema_decay": 0.9, "ema_bn": "recompute", "ema_bn_batches": 2})
    kill_and_resume(tmp_path, data, "--variant", "GAN", "--model-kwargs", kwargs, "--grid-every", "2")
    assert len(list((tmp_path / "reference" / "samples").glob("step_*.png"))) >= 3
