"""W&B without an account: a short `gan-zoo fit` with the W&B config example in offline mode writes a real run
directory holding the generative metrics, a sample grid and the metrics protocol."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from zoo.commands.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "gan" / "fashion_mnist_wandb.yaml"


def wandb_records(path: Path, block: int = 32768) -> Iterator[bytes]:
    """The protobuf records of a ``run-*.wandb`` file (a LevelDB-style log: 7-byte file header, 32 KiB blocks,
    each record chunk prefixed by crc32 (4), length (2), type (1: full, 2: first, 3: middle, 4: last))."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:  # zero padding up to the end of a block
            pos += left
            continue
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:
            yield chunk
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk


def read_run(path: Path) -> tuple[list[dict], dict]:
    """(history rows, config) of an offline run, as the W&B server would receive them on ``wandb sync``."""
    from wandb.proto import wandb_internal_pb2 as pb

    history, config = [], {}
    for raw in wandb_records(path):
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
        elif kind == "exit":
            config["_exited"] = True
        elif kind == "config":
            config.update({u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in record.config.update})
    return history, config


def test_fit_with_wandb_logger_offline_writes_run_directory(tmp_path, monkeypatch, fashion):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb_cache"))
    config = yaml.safe_load(CONFIG.read_text())
    config["model"]["init_args"].update(latent_dim=8, width=8)
    config["data"]["init_args"]["batch_size"] = 16
    config["trainer"].update(
        max_steps=4, log_every_n_steps=1, default_root_dir=str(tmp_path), enable_progress_bar=False
    )
    config["trainer"]["logger"]["init_args"]["save_dir"] = str(tmp_path)
    metrics_args = config["trainer"]["callbacks"][0]["init_args"]
    metrics_args.update(every_n_steps=1, cache_dir=str(tmp_path / "c"))
    metrics_args["settings"].update(num_fake=96, num_real=96, kid_subset_size=48)
    config["sample_grid"]["every_n_steps"] = 1
    config["checkpoint"]["every_n_train_steps"] = 2
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        main(["fit", "--config", str(path)])
    finally:
        wandb.finish()
        wandb.teardown()  # stops the wandb-core service, which flushes the transaction log to disk
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list(tmp_path.rglob("*"))
    logs = list(runs[0].glob("run-*.wandb"))
    assert len(logs) == 1, "no W&B transaction log"
    history, run_config = read_run(logs[0])
    assert run_config.pop("_exited", False), "the run log is incomplete (no exit record)"
    fids = [row["val/fid"] for row in history if "val/fid" in row]
    results = json.loads((tmp_path / "metrics.json").read_text())
    assert fids == pytest.approx([h["val/fid"] for h in results["generative_metrics"]["history"]])
    assert len(fids) == 2  # g_steps 1 and 2
    assert {"val/kid", "val/is", "val/precision", "val/recall"} <= {k for row in history for k in row}
    assert any("train/d_loss" in row for row in history)
    grids = [row["samples/filenames"][0] for row in history if "samples/filenames" in row]
    assert grids and all((runs[0] / "files" / name).is_file() for name in grids)  # the PNGs are in the run
    protocol = run_config["metrics_protocol"]
    assert protocol["extractor"] == "fashion-domain" and protocol["n_fake"] == 96
    assert protocol["extractor_sha256"] == results["generative_metrics"]["protocol"]["extractor_sha256"]
