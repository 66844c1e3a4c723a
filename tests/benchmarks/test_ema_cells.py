"""Table cells that score the generator EMA beside the trained generator (``evaluation.ema: true``), and the
``fashion_tricks`` spec."""

from __future__ import annotations

import lightning as L
import pytest

from benchmarks.cell_evaluation import evaluate_cell
from benchmarks.cell_schema import EMA_PREFIX, METRICS
from benchmarks.table_spec import ROOT, load_spec, plan
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model

EVALUATION = {
    "kind": "images",
    "extractor": "fashion-domain",
    "metrics": ["fid", "pr"],
    "n_fake": 32,
    "n_real": 32,
    "split": "test",
    "seed": 0,
    "cache": False,
}


def test_a_cell_scores_both_weights_and_records_which(tmp_path, fashion_dir):
    L.seed_everything(0, verbose=False)
    model = tiny_model("GAN", ema_decay=0.5)
    data = tiny_data("GAN", fashion_dir)
    tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=4, max_epochs=1).fit(model, data)
    metrics, protocol = evaluate_cell(model, data, {**EVALUATION, "ema": True})
    assert set(metrics) == {"fid", "precision", "recall", "ema_fid", "ema_precision", "ema_recall"}
    assert all(name in METRICS for name in metrics)  # the renderer knows every column's direction
    assert protocol["generator_weights"] == "raw" and protocol["ema"]["generator_weights"] == "ema"
    assert metrics["fid"] != metrics[f"{EMA_PREFIX}fid"]
    plain_metrics, plain_protocol = evaluate_cell(model, data, {**EVALUATION, "weights": "raw"})
    assert plain_metrics == {k: v for k, v in metrics.items() if not k.startswith(EMA_PREFIX)}
    plain = tiny_model("GAN", image_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="keeps no generator EMA"):
        evaluate_cell(plain, data, {**EVALUATION, "ema": True})


def test_the_fashion_tricks_spec_resolves(tmp_path):
    spec = load_spec(ROOT / "benchmarks" / "tables" / "fashion_tricks.yaml")
    cells = {c["cell"]: c["resolved"] for c in plan(spec, tmp_path, None)}
    assert len(cells) == 11 * 3
    for row in ("gan_ns_ema", "gan_ns_ema_rbn", "wgan_gp_ema"):
        resolved = cells[f"{row}-s1"]
        assert resolved["model"]["init_args"]["ema_decay"] == 0.999 and resolved["evaluation"]["ema"] is True
    # the recomputed-statistics row trains exactly as gan_ns_ema; only how its EMA samples differs
    copied, recomputed = (cells[f"{row}-s1"]["model"]["init_args"] for row in ("gan_ns_ema", "gan_ns_ema_rbn"))
    assert recomputed.pop("ema_bn") == "recompute" and "ema_bn" not in copied and recomputed == copied
    # the decay-0.99 row: the same training again, a shorter average
    shorter = dict(cells["gan_ns_ema99_rbn-s1"]["model"]["init_args"])
    assert shorter.pop("ema_decay") == 0.99 and shorter.pop("ema_bn") == "recompute"
    assert shorter == {k: v for k, v in copied.items() if k != "ema_decay"}
    assert cells["wgan_gp_ema-s0"]["budget"] == {"g_steps": 1000}
    for n in (100, 1000, 5000):
        plain, augmented = cells[f"gan_ns_sub{n}-s2"], cells[f"gan_ns_sub{n}_da-s2"]
        assert plain["data"]["init_args"]["subset"] == augmented["data"]["init_args"]["subset"] == n
        assert "diffaugment" not in plain["model"]["init_args"]
        assert augmented["model"]["init_args"]["diffaugment"] == "color,translation,cutout"
        assert "ema" not in plain["evaluation"]
    milder = cells["gan_ns_sub1000_da_translation-s0"]
    assert milder["model"]["init_args"]["diffaugment"] == "translation"
    assert milder["data"] == cells["gan_ns_sub1000-s0"]["data"]
