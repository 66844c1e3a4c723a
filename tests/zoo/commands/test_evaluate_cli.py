"""``gan-zoo evaluate``: numbers and protocol printed and written as JSON, reproducible, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from tests.zoo.metrics.helpers import tiny_gan
from zoo import GAN
from zoo.commands.cli import main
from zoo.metrics.extractors import FASHION_DOMAIN_SHA256


@pytest.fixture()
def checkpoint(tmp_path):
    """A checkpoint as ZooCheckpoint writes it (variant name, hyperparameters, state dict)."""
    model = tiny_gan()
    path = tmp_path / "last.ckpt"
    torch.save({"variant": "GAN", "hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, path)
    return path


def run(checkpoint, tmp_path, *extra):
    out = tmp_path / "eval.json"
    args = ["evaluate", "--ckpt", str(checkpoint), "--num-fake", "96", "--num-real", "96", "--kid-subset-size", "48"]
    main([*args, "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--batch-size", "48", *extra])
    return json.loads(out.read_text())


def test_evaluate_prints_and_writes_metrics_with_protocol(checkpoint, tmp_path, capsys, fashion):
    result = run(checkpoint, tmp_path, "--metrics", "fid,kid,is,pr", "--seed", "3")
    printed = capsys.readouterr().out
    assert json.loads(printed[: printed.rindex("}") + 1]) == result
    assert set(result["metrics"]) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    protocol = result["protocol"]
    assert protocol["extractor"] == "fashion-domain"
    assert protocol["extractor_sha256"] == FASHION_DOMAIN_SHA256
    assert (protocol["n_real"], protocol["n_fake"], protocol["split"], protocol["seed"]) == (96, 96, "test", 3)
    assert {"torch", "torchmetrics", "torch_fidelity", "lightning", "python"} <= set(protocol["versions"])
    assert protocol["variant"] == "GAN" and len(protocol["checkpoint_sha256"]) == 64
    assert protocol["command"].startswith("gan-zoo evaluate --ckpt")
    again = run(checkpoint, tmp_path, "--metrics", "fid,kid,is,pr", "--seed", "3")
    assert again["metrics"] == result["metrics"]  # seeded, and the cached real features give the same numbers
    assert again["protocol"]["real_stats_cached"]


def test_evaluate_subset_of_metrics_and_bad_arguments(checkpoint, tmp_path, fashion):
    result = run(checkpoint, tmp_path, "--metrics", "fid", "--split", "train")
    assert set(result["metrics"]) == {"fid"} and result["protocol"]["split"] == "train"
    with pytest.raises(SystemExit, match="unknown metric 'lpips'"):
        run(checkpoint, tmp_path, "--metrics", "fid,lpips")
    with pytest.raises(SystemExit, match="unknown --data"):
        run(checkpoint, tmp_path, "--data", "NoSuchData")
    with pytest.raises(SystemExit, match="does not exist"):
        main(["evaluate", "--ckpt", str(tmp_path / "missing.ckpt")])


def test_evaluate_scores_the_ema_with_the_batch_norm_statistics_asked_for(tmp_path, fashion):
    """``--ema-bn recompute`` rescores a checkpoint's EMA with statistics recomputed for the averaged weights; the
    protocol says which statistics were used, and the default is the checkpoint's own ``ema_bn``."""
    torch.manual_seed(0)
    model = GAN(image_shape=(1, 28, 28), latent_dim=16, width=8, ema_decay=0.5, ema_bn_batches=2)
    with torch.no_grad():  # an EMA whose weights differ from the generator's, with the generator's statistics
        for p in model.generator_ema.parameters():
            p.mul_(0.5)
    path = tmp_path / "ema.ckpt"
    torch.save({"variant": "GAN", "hyper_parameters": dict(model.hparams), "state_dict": model.state_dict()}, path)
    copied = run(path, tmp_path, "--metrics", "fid")
    recomputed = run(path, tmp_path, "--metrics", "fid", "--ema-bn", "recompute")
    assert copied["protocol"]["generator_weights"] == "ema" and copied["protocol"]["ema_batch_norm"] == "copy"
    assert recomputed["protocol"]["ema_batch_norm"] == "recompute"
    assert recomputed["metrics"]["fid"] != copied["metrics"]["fid"]
    with pytest.raises(SystemExit):
        run(path, tmp_path, "--metrics", "fid", "--ema-bn", "update")
