"""benchmarks.run_table (with benchmarks.table_spec) on a tiny spec (MLP on the ring, 50 generator steps): resume,
re-run, determinism."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
import yaml

import benchmarks.run_table as run_table_module
from benchmarks.run_table import run_table
from benchmarks.table_spec import load_spec, plan, resolve_cell
from tests.benchmarks.fixtures import tiny_image_spec


def tiny_spec(path, budget=50, rows=("gan_ns", "gan_mm"), seeds=(0,)):
    objectives = {"gan_ns": "non_saturating", "gan_mm": "minimax"}
    spec = {
        "name": "tiny",
        "title": "Tiny",
        "seeds": list(seeds),
        "accelerator": "cpu",
        "budget": {"g_steps": budget},
        "overrides": {
            "model.init_args.width": 16,
            "data.init_args.num_samples": 2000,
            "data.init_args.batch_size": 64,
        },
        # a loose rule (25 std = 0.5) so that 50 steps already give a non-trivial high-quality fraction
        "evaluation": {"kind": "toy", "n_samples": 500, "threshold": 25.0, "min_samples": 1, "seed": 1},
        "variants": [
            {
                "id": row,
                "label": row,
                "variant": "GAN",
                "config": "configs/gan/ring.yaml",
                "overrides": {"model.init_args.objective": objectives[row]},
            }
            for row in rows
        ],
    }
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture
def counted(monkeypatch):
    """Counts the cells actually trained."""
    ran = []
    original = run_table_module.run_cell

    def run_cell(cell, *args):
        ran.append(cell["cell"])
        return original(cell, *args)

    monkeypatch.setattr(run_table_module, "run_cell", run_cell)
    return ran


def quiet(*args):
    pass


def test_runner_writes_manifest_skips_finished_cells_and_reruns_changed_ones(tmp_path, counted):
    spec = tiny_spec(tmp_path / "tiny.yaml")
    results = tmp_path / "results"
    run_table(spec, results_root=results, log=quiet)
    assert counted == ["gan_ns-s0", "gan_mm-s0"]
    cell = json.loads((results / "tiny" / "gan_mm-s0.json").read_text())
    assert cell["resolved"]["model"]["init_args"]["objective"] == "minimax"
    assert cell["training"]["g_steps"] == 50 and cell["training"]["d_steps"] == 50
    assert cell["images_seen"] == {"d_real": 3200, "d_fake": 3200, "g": 3200}
    assert cell["evaluation"]["n_samples"] == 500 and cell["evaluation"]["threshold_std"] == 25.0
    assert set(cell["metrics"]) == {"modes_covered", "high_quality_fraction"}
    for key in ("command", "git_sha", "versions", "hardware"):
        assert key in cell["protocol"]
    assert (results / "tiny.md").is_file()

    # same spec: nothing runs, the files are untouched
    before = {p.name: p.read_text() for p in (results / "tiny").glob("*.json")}
    run_table(spec, results_root=results, log=quiet)
    assert counted == ["gan_ns-s0", "gan_mm-s0"]
    assert before == {p.name: p.read_text() for p in (results / "tiny").glob("*.json")}

    # one row's budget changes: only that cell is stale and re-runs, with the new budget in its manifest
    data = yaml.safe_load(spec.read_text())
    data["variants"][1]["budget"] = {"g_steps": 60}
    spec.write_text(yaml.safe_dump(data))
    statuses = {c["cell"]: c["status"] for c in plan(load_spec(spec), results / "tiny", None)}
    assert statuses == {"gan_ns-s0": "done", "gan_mm-s0": "stale"}
    run_table(spec, results_root=results, log=quiet)
    assert counted == ["gan_ns-s0", "gan_mm-s0", "gan_mm-s0"]
    rerun = json.loads((results / "tiny" / "gan_mm-s0.json").read_text())
    assert rerun["training"]["g_steps"] == 60 and rerun["resolved"]["budget"] == {"g_steps": 60}


def test_cells_pattern_and_dry_run_run_only_what_they_say(tmp_path, counted):
    spec = tiny_spec(tmp_path / "tiny.yaml", seeds=(0, 1))
    results = tmp_path / "results"
    planned = run_table(spec, cells=["gan_mm-*"], dry_run=True, results_root=results, log=quiet)
    assert [c["cell"] for c in planned] == ["gan_mm-s0", "gan_mm-s1"]
    assert counted == [] and not (results / "tiny").exists()


def test_same_seed_gives_identical_metrics(tmp_path):
    spec = tiny_spec(tmp_path / "tiny.yaml", rows=("gan_ns",))
    run_table(spec, results_root=tmp_path / "a", render=False, log=quiet)
    run_table(spec, results_root=tmp_path / "b", render=False, log=quiet)
    a = json.loads((tmp_path / "a" / "tiny" / "gan_ns-s0.json").read_text())
    b = json.loads((tmp_path / "b" / "tiny" / "gan_ns-s0.json").read_text())
    assert 0.0 < a["metrics"]["high_quality_fraction"] < 1.0  # not a trivially saturated number
    assert a["metrics"] == b["metrics"]
    assert a["training"]["images_seen"] == b["training"]["images_seen"]


def test_a_variant_name_that_does_not_match_its_config_is_refused(tmp_path):
    spec = load_spec(tiny_spec(tmp_path / "tiny.yaml"))
    entry = {**spec["variants"][0], "variant": "WGAN"}
    with pytest.raises(ValueError, match="does not match the config's model class_path 'zoo.GAN'"):
        resolve_cell(spec, entry, 0)


def test_an_image_cell_records_the_extractor_hash_and_sample_counts(tmp_path, monkeypatch):
    trained = []
    original_train_cell = run_table_module.train_cell

    def train_cell(resolved, *args, **kwargs):
        model, data, record = original_train_cell(resolved, *args, **kwargs)
        trained.append(model)
        return model, data, record

    monkeypatch.setattr(run_table_module, "train_cell", train_cell)
    spec = tiny_image_spec("tiny_fashion", {"g_steps": 3}, ["fid", "pr"])
    path = tmp_path / "tiny_fashion.yaml"
    path.write_text(yaml.safe_dump(spec))
    run_table(path, results_root=tmp_path, log=quiet)
    cell = json.loads((tmp_path / "tiny_fashion" / "gan-s0.json").read_text())
    grid_path = tmp_path / "tiny_fashion" / "gan-s0.png"
    from zoo.metrics.extractors import FASHION_DOMAIN_SHA256

    assert cell["evaluation"]["extractor"] == "fashion-domain"
    assert cell["evaluation"]["extractor_sha256"] == FASHION_DOMAIN_SHA256
    assert (cell["evaluation"]["n_fake"], cell["evaluation"]["n_real"], cell["evaluation"]["split"]) == (
        100,
        120,
        "test",
    )
    assert set(cell["metrics"]) == {"fid", "precision", "recall"}
    assert cell["images_seen"] == {"d_real": 192, "d_fake": 192, "g": 192}
    assert "`fashion-domain`" in (tmp_path / "tiny_fashion.md").read_text()
    # the sample grid: the trained generator on the fixed z of the evaluation seed, 8x8 tiles of 28x28 with
    # 2-pixel padding, recorded with its hash, linked from the table
    import numpy as np
    import torch
    from PIL import Image

    from callbacks.sample_grid import SampleGrid

    def png_pixels(seed):  # the grid of the trained model on seed's z, quantized as save_image writes it
        grid = SampleGrid(num_samples=64, seed=seed).grid(trained[0].cpu())
        return grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()

    saved = np.asarray(Image.open(grid_path).convert("RGB"))
    assert saved.shape == (8 * 30 + 2, 8 * 30 + 2, 3)
    np.testing.assert_array_equal(saved, png_pixels(0))
    assert not np.array_equal(saved, png_pixels(1))
    assert cell["samples"] == {
        "file": "gan-s0.png",
        "generator_weights": "raw",  # no generator EMA in this model
        "num_samples": 64,
        "seed": 0,
        "sha256": hashlib.sha256(grid_path.read_bytes()).hexdigest(),
    }
    assert "[0](tiny_fashion/gan-s0.png)" in (tmp_path / "tiny_fashion.md").read_text()
    # --no-samples: no grid, no record
    run_table(path, results_root=tmp_path / "plain", log=quiet, samples=False)
    assert not (tmp_path / "plain" / "tiny_fashion" / "gan-s0.png").exists()
    assert "samples" not in json.loads((tmp_path / "plain" / "tiny_fashion" / "gan-s0.json").read_text())


def test_an_interrupted_cell_resumes_from_its_own_checkpoint_and_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    """A cell killed mid-training leaves ``.work/<cell>/last.ckpt``; the next run resumes it (d_steps budget) and
    writes the same numbers as a cell that ran in one go; the finished cell's work folder is removed, its
    generator snapshots (taken before and after the kill) are kept and equal the uninterrupted run's."""
    spec_path = tiny_spec(tmp_path / "tiny.yaml", rows=("gan_ns",))
    spec = yaml.safe_load(spec_path.read_text())
    spec["budget"] = {"d_steps": 40}
    spec["checkpoint_every_n_train_steps"] = 10  # optimizer steps of both nets: every 5 D updates
    spec["generator_snapshots"] = {"counter": "d_steps", "at": [10, 30, 40]}
    spec_path.write_text(yaml.safe_dump(spec))
    whole = run_table(spec_path, results_root=tmp_path / "whole", log=quiet)
    assert whole[0]["status"] == "ran"
    reference = json.loads((tmp_path / "whole" / "tiny" / "gan_ns-s0.json").read_text())
    assert reference["training"]["d_steps"] == 40 and reference["training"]["resumed_from_step"] is None
    assert not (tmp_path / "whole" / "tiny" / ".work").exists()

    class SimulatedKillError(RuntimeError):
        pass

    import lightning as L

    class KillAt(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            if pl_module.d_steps == 23:  # between checkpoints: steps 21-23 are redone after the resume
                raise SimulatedKillError

    original = run_table_module.make_stopper
    monkeypatch.setattr(run_table_module, "make_stopper", lambda counter, steps: KillAt())  # dies at d_steps 23
    with pytest.raises(SimulatedKillError):
        run_table(spec_path, results_root=tmp_path / "parts", log=quiet)
    work = tmp_path / "parts" / "tiny" / ".work" / "gan_ns-s0"
    assert (work / "last.ckpt").is_file() and not (tmp_path / "parts" / "tiny" / "gan_ns-s0.json").exists()
    monkeypatch.setattr(run_table_module, "make_stopper", original)
    run_table(spec_path, results_root=tmp_path / "parts", log=quiet)
    resumed = json.loads((tmp_path / "parts" / "tiny" / "gan_ns-s0.json").read_text())
    assert resumed["training"]["resumed_from_step"] == 40  # 20 D + 20 G optimizer steps
    assert resumed["training"]["d_steps"] == 40 and resumed["training"]["g_steps"] == 40
    assert resumed["metrics"] == reference["metrics"]
    assert not work.exists()
    from callbacks.generator_snapshots import load_snapshot

    for step in (10, 30, 40):
        kept = load_snapshot(tmp_path / "parts" / "tiny" / ".generators" / "gan_ns-s0" / f"d_steps{step}.pt")
        alone = load_snapshot(tmp_path / "whole" / "tiny" / ".generators" / "gan_ns-s0" / f"d_steps{step}.pt")
        assert kept["d_steps"] == alone["d_steps"] == step and kept["g_steps"] == step  # NS GAN: 1 D step per G step
        assert kept["generator"].keys() == alone["generator"].keys()
        for name, tensor in kept["generator"].items():
            assert torch.equal(tensor, alone["generator"][name]), (step, name)
    early, late = (
        load_snapshot(tmp_path / "whole" / "tiny" / ".generators" / "gan_ns-s0" / f"d_steps{s}.pt") for s in (10, 40)
    )
    assert any(not torch.equal(early["generator"][k], late["generator"][k]) for k in early["generator"])


def test_a_cell_stopped_during_evaluation_keeps_its_training(tmp_path, monkeypatch):
    """Training ended (its final checkpoint saved), then the run died while evaluating: the next run takes the
    trained model from the checkpoint without a single further step and writes what an uninterrupted run writes."""
    spec_path = tiny_spec(tmp_path / "tiny.yaml", rows=("gan_ns",))
    spec = yaml.safe_load(spec_path.read_text())
    spec["budget"] = {"d_steps": 40}
    spec["checkpoint_every_n_train_steps"] = 1000  # no checkpoint during training: only the one at its end
    spec_path.write_text(yaml.safe_dump(spec))
    run_table(spec_path, results_root=tmp_path / "whole", log=quiet)
    reference = json.loads((tmp_path / "whole" / "tiny" / "gan_ns-s0.json").read_text())

    class SimulatedKillError(RuntimeError):
        pass

    def dies(*args, **kwargs):
        raise SimulatedKillError

    original = run_table_module.evaluate_cell
    monkeypatch.setattr(run_table_module, "evaluate_cell", dies)
    with pytest.raises(SimulatedKillError):
        run_table(spec_path, results_root=tmp_path / "parts", log=quiet)
    assert (tmp_path / "parts" / "tiny" / ".work" / "gan_ns-s0" / "last.ckpt").is_file()
    monkeypatch.setattr(run_table_module, "evaluate_cell", original)
    run_table(spec_path, results_root=tmp_path / "parts", log=quiet)
    resumed = json.loads((tmp_path / "parts" / "tiny" / "gan_ns-s0.json").read_text())
    assert resumed["training"]["resumed_from_step"] == 80  # the end of training: 40 D + 40 G optimizer steps
    for counter in ("d_steps", "g_steps", "epochs", "images_seen"):
        assert resumed["training"][counter] == reference["training"][counter], counter
    assert resumed["metrics"] == reference["metrics"]
