"""GenerativeMetrics in training: schedule, logging, metrics.json, reproducibility, and DDP (ddp_spawn)."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from callbacks import TrainingSummary
from callbacks.metrics import GenerativeMetrics
from tests.conftest import tiny_trainer
from tests.zoo.metrics.helpers import SyntheticImages, tiny_gan
from zoo import GAN
from zoo.metrics.evaluation import evaluate_generator, shard
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.settings import MetricSettings

SMALL = MetricSettings(num_fake=128, num_real=128, kid_subsets=10, kid_subset_size=64, batch_size=64)


def test_shards_are_contiguous_and_cover_everything():
    for n, world in ((10, 3), (7, 2), (128, 2), (1, 2)):
        parts = [shard(n, r, world) for r in range(world)]
        assert parts[0][0] == 0 and parts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))


def test_callback_evaluates_on_schedule_logs_and_writes_metrics_json(tmp_path, fashion):
    callback = GenerativeMetrics(SMALL, every_n_steps=2, cache_dir=str(tmp_path / "cache"))
    trainer = tiny_trainer(
        tmp_path,
        max_steps=6,  # 3 D + 3 G updates: evaluations at g_steps 2 and 3 (end of training)
        callbacks=[callback, TrainingSummary()],
        logger=CSVLogger(tmp_path, name="csv"),
        log_every_n_steps=1,
    )
    model = tiny_gan()
    trainer.fit(model, fashion)
    assert [h["g_steps"] for h in callback.history] == [2, 3]
    expected = {"val/fid", "val/kid", "val/kid_std", "val/is", "val/is_std", "val/precision", "val/recall"}
    assert expected <= set(callback.history[-1])
    assert callback.protocol["extractor"] == "fashion-domain"
    assert callback.protocol["real_stats_cached"]  # the second evaluation reused the first one's real features
    # metrics.json: TrainingSummary's summary plus our latest values, protocol and history
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["g_steps"] == 3
    assert data["metrics"]["val/fid"] == pytest.approx(callback.history[-1]["val/fid"])
    assert data["generative_metrics"]["protocol"]["n_fake"] == 128
    assert data["generative_metrics"]["protocol"]["extractor_sha256"] == callback.protocol["extractor_sha256"]
    assert len(data["generative_metrics"]["history"]) == 2
    # and through the logger
    with open(next((tmp_path / "csv").rglob("metrics.csv"))) as f:
        rows = list(csv.DictReader(f))
    fids = [float(r["val/fid"]) for r in rows if r.get("val/fid")]
    assert fids == pytest.approx([h["val/fid"] for h in callback.history])


def test_every_n_epochs_schedule(tmp_path, fashion):
    fid_only = dataclasses.replace(SMALL, metrics=("fid",))
    callback = GenerativeMetrics(fid_only, every_n_epochs=1, cache_dir=str(tmp_path), at_train_end=False)
    trainer = tiny_trainer(tmp_path, max_epochs=2, limit_train_batches=2)
    trainer.callbacks.append(callback)
    trainer.fit(tiny_gan(), fashion)
    assert [h["epoch"] for h in callback.history] == [0, 1]
    assert [h["g_steps"] for h in callback.history] == [2, 4]


def test_history_records_the_ema_and_its_batch_norm_statistics(tmp_path, fashion):
    fid_only = dataclasses.replace(SMALL, metrics=("fid",))
    callback = GenerativeMetrics(fid_only, every_n_steps=1, cache_dir=str(tmp_path), at_train_end=False)
    torch.manual_seed(0)
    model = GAN(image_shape=(1, 28, 28), latent_dim=16, width=8, ema_decay=0.5, ema_bn="recompute", ema_bn_batches=2)
    tiny_trainer(tmp_path, max_steps=4, callbacks=[callback]).fit(model, fashion)
    assert [(h["generator_weights"], h["ema_batch_norm"]) for h in callback.history] == [("ema", "recompute")] * 2
    assert callback.protocol["ema_batch_norm"] == "recompute"


def test_evaluation_is_reproducible_and_tracks_the_model(tmp_path, fashion, domain):
    cache = RealStatsCache(tmp_path)
    model = tiny_gan()
    first, _ = evaluate_generator(model, fashion, SMALL, extractor=domain, cache=cache)
    second, _ = evaluate_generator(model, fashion, SMALL, extractor=domain, cache=cache)
    assert first == second
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(0.05 * torch.randn_like(p))
    changed, _ = evaluate_generator(model, fashion, SMALL, extractor=domain, cache=cache)
    assert changed["fid"] != first["fid"]


def test_ddp_spawn_two_ranks_equal_one_process(tmp_path, domain):
    callback = GenerativeMetrics(SMALL, cache_dir=str(tmp_path / "cache"), json_path=str(tmp_path / "ddp.json"))
    model = tiny_gan()
    # the zoo's per-net DDP strategy, spawned (it also ends the process group in the workers; see zoo/strategies.py)
    strategy = "gan_ddp_spawn"
    trainer = tiny_trainer(tmp_path, max_steps=2, strategy=strategy, devices=2, callbacks=[callback])
    trainer.fit(model, SyntheticImages())
    # ddp_spawn runs the callback in the workers; rank 0 wrote the file, the trained weights came back to us
    ddp = json.loads((tmp_path / "ddp.json").read_text())["generative_metrics"]
    assert ddp["protocol"]["world_size"] == 2
    cache = RealStatsCache(tmp_path / "cache")
    single, protocol = evaluate_generator(model, SyntheticImages(), SMALL, extractor=domain, cache=cache)
    assert protocol["world_size"] == 1
    for key, value in single.items():
        assert ddp["latest"][f"val/{key}"] == pytest.approx(value, rel=1e-6, abs=1e-9), key
