"""Exact resume after SIGKILL: a killed-and-resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import write_idx_dataset
from zoo.checkpoints import read_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_run.py"
MAX_STEPS, EVERY = 24, 6  # optimizer steps of all nets; a checkpoint every 6 (GAN: every 3 batches)
# kill points: the batch right after the first checkpoint, mid-way between the 2nd and 3rd, inside the 2nd write
KILLS = {"after_checkpoint": ["--kill-at-step", "7"], "mid_interval": ["--kill-at-step", "15"]}
KILLS["during_save"] = ["--kill-during-save", "2"]
VARIANTS = ["GAN", "WGANGP", "CycleGAN"]  # plain, n_critic = 5 with gradient penalty, image pools + 2 optimizers


def train(tmp: Path, data: Path, root: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(data), "--root", str(tmp / root)]
    cmd += ["--max-steps", str(MAX_STEPS), "--every", str(EVERY), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def kill_and_resume(tmp: Path, data: Path, *options: str) -> tuple[dict, dict]:
    """An uninterrupted run and one SIGKILLed mid-interval (step 15) then resumed, with the same ``options``; the
    saved final ``{"state_dict", "steps"}`` of each (reference, resumed), checked equal key by key."""
    reference = train(tmp, data, "reference", *options, "--out", str(tmp / "reference.pt"))
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = train(tmp, data, "run", *options, "--kill-at-step", "15")
    assert killed.returncode == -signal.SIGKILL
    resumed = train(tmp, data, "run", *options, "--resume", "--out", str(tmp / "final.pt"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected = torch.load(tmp / "reference.pt", weights_only=True)
    final = torch.load(tmp / "final.pt", weights_only=True)
    assert final["steps"] == expected["steps"]
    assert set(final["state_dict"]) == set(expected["state_dict"])
    for key, value in expected["state_dict"].items():
        assert torch.equal(final["state_dict"][key], value), key
    return expected, final


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_idx_dataset(tmp_path_factory.mktemp("killdata"), 96, 16)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("reference")
    out = {}
    for variant in VARIANTS:
        result = train(tmp, data, variant, "--variant", variant, "--out", str(tmp / f"{variant}.pt"))
        assert result.returncode == 0, result.stderr[-3000:]
        out[variant] = torch.load(tmp / f"{variant}.pt", weights_only=True)
    return out


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kill", list(KILLS))
def test_sigkill_then_resume_is_bit_identical(variant, kill, tmp_path, data, reference):
    killed = train(tmp_path, data, "run", "--variant", variant, *KILLS[kill])
    assert killed.returncode == -signal.SIGKILL
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    read_checkpoint(last)  # the surviving checkpoint is complete and loads with weights_only=True
    resumed = train(tmp_path, data, "run", "--variant", variant, "--resume", "--out", str(tmp_path / "final.pt"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = torch.load(tmp_path / "final.pt", weights_only=True)
    assert final["steps"] == reference[variant]["steps"]
    for key, value in reference[variant]["state_dict"].items():
        assert torch.equal(final["state_dict"][key], value), key


def test_sigterm_saves_last_checkpoint_then_resume_is_bit_identical(tmp_path, data, reference):
    """SIGTERM at optimizer step 15 (between the checkpoints of steps 12 and 18): last.ckpt is written at once."""
    terminated = train(tmp_path, data, "run", "--variant", "GAN", "--term-at-step", "15")
    assert "Received SIGTERM" in terminated.stderr
    saved = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert saved["global_step"] == 16  # saved at the batch that reached step 15 and stopped there (not 12, not 24)
    resumed = train(tmp_path, data, "run", "--variant", "GAN", "--resume", "--out", str(tmp_path / "final.pt"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    final = torch.load(tmp_path / "final.pt", weights_only=True)
    for key, value in reference["GAN"]["state_dict"].items():
        assert torch.equal(final["state_dict"][key], value), key
