"""DDP on CPU (gloo, 2 ranks), run as subprocess scripts (the popen launcher must not run inside pytest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ddp_run.py"


def run(out: Path, *args: str) -> list[dict]:
    cmd = [sys.executable, str(SCRIPT), "--out", str(out), "--global-z", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [torch.load(p, weights_only=True) for p in sorted(out.glob("rank*.pt"))]


VARIANTS = {"GAN": (6, 6), "WGANGP": (6, 1)}  # (d_steps, g_steps) after 6 batches; WGAN-GP: n_critic = 5


_CACHE: dict[str, dict] = {}


def two_rank_runs(variant: str, root: Path) -> dict:
    if variant not in _CACHE:
        two_ranks = ["--variant", variant, "--devices", "2", "--batch-size", "16", "--strategy"]
        _CACHE[variant] = {
            "variant": variant,
            "gan_ddp": run(root / f"{variant}-gan_ddp", *two_ranks, "gan_ddp"),
            "fallback": run(root / f"{variant}-fallback", *two_ranks, "ddp_find_unused_parameters_true"),
        }
    return _CACHE[variant]


@pytest.fixture(scope="module")
def ddp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ddp")


@pytest.fixture(scope="module", params=list(VARIANTS))
def runs(request, ddp_root) -> dict:
    return two_rank_runs(request.param, ddp_root)


def test_ranks_end_with_identical_parameters(runs):
    rank0, rank1 = runs["gan_ddp"]
    assert rank0["steps"] == rank1["steps"] == VARIANTS[runs["variant"]]
    for key, value in rank0["state_dict"].items():
        assert torch.equal(value, rank1["state_dict"][key]), key


def test_ranks_see_disjoint_data(runs):
    rank0, rank1 = runs["gan_ddp"]
    assert len(rank0["seen"]) == len(rank1["seen"]) == 6 * 16
    assert not set(rank0["seen"].tolist()) & set(rank1["seen"].tolist())


def test_each_net_has_its_own_wrapper_without_unused_parameter_scan(runs):
    wrappers = runs["gan_ddp"][0]["wrappers"]
    assert set(wrappers) == {"generator", "discriminator"}
    assert all(w == {"type": "DistributedDataParallel", "find_unused_parameters": False} for w in wrappers.values())


def test_same_parameters_as_the_fallback_strategy(runs):
    ours, fallback = runs["gan_ddp"][0]["state_dict"], runs["fallback"][0]["state_dict"]
    for key, value in ours.items():
        torch.testing.assert_close(value, fallback[key], rtol=0, atol=1e-6, msg=key)


def test_gan_equals_one_process_with_the_summed_batch(ddp_root):
    """GAN has no per-rank randomness besides z (made global by --global-z); WGAN-GP's interpolation weights are
    drawn per rank, so this comparison is made for GAN."""
    runs = two_rank_runs("GAN", ddp_root)
    single = run(ddp_root / "GAN-single", "--variant", "GAN", "--devices", "1", "--batch-size", "32")[0]
    ours = runs["gan_ddp"][0]
    assert set(ours["seen"].tolist()) | set(runs["gan_ddp"][1]["seen"].tolist()) == set(single["seen"].tolist())
    for key, value in ours["state_dict"].items():
        torch.testing.assert_close(value, single["state_dict"][key], rtol=1e-4, atol=1e-5, msg=key)


def test_generator_ema_is_rank_identical_and_equals_one_process(ddp_root):
    """The EMA (Yazici et al. 2019) is updated on every rank from the all-reduced generator, outside DDP: after
    per-net DDP the two ranks' averages are equal, differ from the generator (so the average is really kept), and
    match a one-process run with the summed batch."""
    ema = ["--variant", "GAN", "--ema-decay", "0.5"]
    rank0, rank1 = run(ddp_root / "GAN-ema", *ema, "--devices", "2", "--batch-size", "16", "--strategy", "gan_ddp")
    single = run(ddp_root / "GAN-ema-single", *ema, "--devices", "1", "--batch-size", "32")[0]
    ema_keys = [k for k in rank0["state_dict"] if k.startswith("generator_ema.")]
    assert ema_keys, "no generator_ema.* weights in the state dict"
    for key in ema_keys:
        assert torch.equal(rank0["state_dict"][key], rank1["state_dict"][key]), key
        torch.testing.assert_close(rank0["state_dict"][key], single["state_dict"][key], rtol=1e-4, atol=1e-5, msg=key)
    differs = [
        not torch.equal(rank0["state_dict"][k], rank0["state_dict"]["generator." + k.removeprefix("generator_ema.")])
        for k in ema_keys
        if k.endswith("weight")
    ]
    assert any(differs), "the EMA equals the generator: it is not averaging"
