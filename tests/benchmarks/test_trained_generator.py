"""benchmarks.trained_generator with benchmarks.run_table: a cell trained with ``--train-only`` (as on a borrowed
GPU), moved as checked parts and evaluated elsewhere writes what a cell trained and evaluated in one run writes."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from benchmarks.run_table import resumable, run_table
from benchmarks.trained_generator import (
    GENERATOR_FILE,
    export_cells,
    import_cells,
    load_trained_generator,
)
from tests.benchmarks.test_run_table import quiet, tiny_spec

CELL = "gan_ns-s0"


@pytest.fixture
def spec_path(tmp_path):
    path = tiny_spec(tmp_path / "tiny.yaml", rows=("gan_ns",))
    spec = yaml.safe_load(path.read_text())
    spec["budget"] = {"d_steps": 40}  # no checkpoint_every: --train-only still keeps the checkpoint at the end
    spec["generator_snapshots"] = {"counter": "d_steps", "at": [20, 40]}
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_cell_trained_alone_moved_in_parts_and_evaluated_elsewhere_equals_one_run(tmp_path, spec_path):
    run_table(spec_path, results_root=tmp_path / "whole", log=quiet)
    reference = json.loads((tmp_path / "whole" / "tiny" / f"{CELL}.json").read_text())

    trainer_side = tmp_path / "gpu"
    planned = run_table(spec_path, results_root=trainer_side, log=quiet, train_only=True)
    assert planned[0]["status"] == "trained"
    assert not (trainer_side / "tiny" / f"{CELL}.json").exists()  # nothing evaluated, no cell file
    work = trainer_side / "tiny" / ".work" / CELL
    slim = torch.load(work / GENERATOR_FILE, weights_only=True)
    assert slim["state_dict"] and all(k.startswith("generator") for k in slim["state_dict"])
    assert not any(k in slim for k in ("optimizer_states", "loops", "callbacks"))
    full = torch.load(work / "last.ckpt", weights_only=True)
    for key, tensor in slim["state_dict"].items():
        assert torch.equal(tensor, full["state_dict"][key]), key
    assert slim["adversarial_counters"]["d_steps"] == 40 and slim["training_record"]["d_steps"] == 40

    moved = tmp_path / "out"
    manifest = export_cells(trainer_side, "tiny", [CELL], moved, part_bytes=2_000)
    generator_entry = next(e for e in manifest["files"] if e["name"] == GENERATOR_FILE)
    assert len(generator_entry["parts"]) >= 2 and all(
        (moved / p["name"]).stat().st_size <= 2_000 for p in generator_entry["parts"]
    )
    evaluator_side = tmp_path / "cpu"
    import_cells(moved, evaluator_side)
    assert (evaluator_side / "tiny" / ".work" / CELL / GENERATOR_FILE).read_bytes() == (
        work / GENERATOR_FILE
    ).read_bytes()

    import lightning as L

    def no_training(*args, **kwargs):
        raise AssertionError("a cell with a trained generator must not train again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(L.Trainer, "fit", no_training)
        run_table(spec_path, results_root=evaluator_side, log=quiet)
    result = json.loads((evaluator_side / "tiny" / f"{CELL}.json").read_text())
    assert result["metrics"] == reference["metrics"]
    for counter in ("d_steps", "g_steps", "epochs", "images_seen", "batch_size"):
        assert result["training"][counter] == reference["training"][counter], counter
    assert result["training"]["trained_on"]["hardware"]["cpu_count"] >= 1
    assert result["training"]["train_s"] == slim["training_record"]["train_s"]
    assert "trained_on" not in reference["training"]
    assert not (evaluator_side / "tiny" / ".work").exists()  # finished: the work folder has done its job
    from callbacks.generator_snapshots import load_snapshot

    kept = evaluator_side / "tiny" / ".generators" / CELL
    assert sorted(p.name for p in kept.iterdir()) == ["d_steps40.pt"]  # the final one came along; d_steps20 did not
    here, whole = (
        load_snapshot(d / "d_steps40.pt") for d in (kept, tmp_path / "whole" / "tiny" / ".generators" / CELL)
    )
    assert here["d_steps"] == whole["d_steps"] == 40 and here["g_steps"] == whole["g_steps"]
    for name, tensor in whole["generator"].items():
        assert torch.equal(here["generator"][name], tensor), name


def test_an_altered_or_missing_part_is_refused_and_nothing_is_written(tmp_path, spec_path):
    run_table(spec_path, results_root=tmp_path / "gpu", log=quiet, train_only=True)
    moved = tmp_path / "out"
    manifest = export_cells(tmp_path / "gpu", "tiny", [CELL], moved, part_bytes=2_000)
    part = moved / manifest["files"][0]["parts"][1]["name"]
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=part.name):
        import_cells(moved, tmp_path / "cpu")
    part.unlink()
    with pytest.raises(ValueError, match="missing or altered"):
        import_cells(moved, tmp_path / "cpu")
    assert not (tmp_path / "cpu").exists()


def test_a_generator_trained_for_another_configuration_is_not_used(tmp_path, spec_path):
    run_table(spec_path, results_root=tmp_path / "gpu", log=quiet, train_only=True)
    import lightning as L

    def no_training(*args, **kwargs):
        raise AssertionError("a cell whose generator is trained must not train again")

    with pytest.MonkeyPatch.context() as patch:  # a second call on a warm device: nothing to train
        patch.setattr(L.Trainer, "fit", no_training)
        run_table(spec_path, results_root=tmp_path / "gpu", log=quiet, train_only=True)
    work = tmp_path / "gpu" / "tiny" / ".work" / CELL
    resolved = json.loads((work / "resolved.json").read_text())
    assert resumable(work, resolved, GENERATOR_FILE) == work / GENERATOR_FILE
    assert resumable(work, {**resolved, "budget": {"d_steps": 41}}, GENERATOR_FILE) is None


def test_a_generator_file_that_lacks_generator_weights_is_refused(tmp_path, spec_path):
    from zoo import get_variant

    run_table(spec_path, results_root=tmp_path / "gpu", log=quiet, train_only=True)
    work = tmp_path / "gpu" / "tiny" / ".work" / CELL
    slim = torch.load(work / GENERATOR_FILE, weights_only=True)
    resolved = json.loads((work / "resolved.json").read_text())
    dropped = next(iter(slim["state_dict"]))
    del slim["state_dict"][dropped]
    model = get_variant(resolved["variant"])(**resolved["model"]["init_args"])
    with pytest.raises(RuntimeError, match="delete it and train the cell again"):
        load_trained_generator(model, slim)


def test_a_full_run_records_where_and_how_it_trained(tmp_path, spec_path):
    run_table(spec_path, results_root=tmp_path, log=quiet, train_accelerator="cpu", deterministic=True)
    result = json.loads((tmp_path / "tiny" / f"{CELL}.json").read_text())
    assert result["training"]["trainer_overrides"] == {"accelerator": "cpu", "deterministic": True}
    assert result["resolved"]["trainer"] == {"accelerator": "cpu"}  # the cell's configuration is unchanged


def device_script(mode: str, tmp_path, spec_path, **env_extra):
    """Run ``benchmarks/gpu_cells.sh <mode>`` with ACCELERATOR=cpu (the device's flow, without a GPU)."""
    import os
    import subprocess
    import sys

    from benchmarks.table_spec import ROOT

    env = {
        **os.environ,
        "SPEC": str(spec_path),
        "CELLS": CELL,
        "OUT": str(tmp_path / "out"),
        "RES": str(tmp_path / "device"),
        "PY": sys.executable,
        "ACCELERATOR": "cpu",
        "DETERMINISTIC": "true",
        "ZOO_GIT_SHA": "0" * 40,
        "WHEELS": str(tmp_path / "no_wheels"),  # the device's extras are not for this Python
        "CARRIED_DATA": str(tmp_path / "no_data"),
        **env_extra,
    }
    script = str(ROOT / "benchmarks" / "gpu_cells.sh")
    done = subprocess.run(["bash", script, mode], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_device_script_trains_exports_and_the_import_evaluates_to_the_same_numbers(tmp_path, spec_path):
    """``gpu_cells.sh train`` trains the cells and returns the parts; a second call on the same (warm) machine does
    not train again; here the imported cell evaluates to the numbers of a cell run in one go."""
    run_table(spec_path, results_root=tmp_path / "whole", log=quiet)
    reference = json.loads((tmp_path / "whole" / "tiny" / f"{CELL}.json").read_text())
    stdout = device_script("train", tmp_path, spec_path, EXPORT=CELL)
    assert f"trained: {CELL}; exported: {CELL}" in stdout
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"manifest.json", "cells.log", f"{CELL}.resolved.json.part00", f"{CELL}.generator.ckpt.part00"} <= names
    assert "d_steps 40/40" in (tmp_path / "device" / f"tiny.{CELL}.log").read_text()
    import_cells(tmp_path / "out", tmp_path / "cpu")
    run_table(spec_path, results_root=tmp_path / "cpu", log=quiet)
    result = json.loads((tmp_path / "cpu" / "tiny" / f"{CELL}.json").read_text())
    assert result["metrics"] == reference["metrics"]
    assert result["training"]["trained_on"]["git_sha"].startswith("0" * 40)
    assert result["training"]["trainer_overrides"] == {"accelerator": "cpu", "deterministic": True}


def test_the_device_script_runs_whole_cells_and_returns_them_in_one_tar(tmp_path, spec_path):
    import tarfile

    run_table(spec_path, results_root=tmp_path / "whole", log=quiet)
    reference = json.loads((tmp_path / "whole" / "tiny" / f"{CELL}.json").read_text())
    stdout = device_script("run", tmp_path, spec_path, CELLS="")  # no CELLS: the cells missing from the results
    assert "1 cells to run" in stdout and f"finished: tiny/{CELL}.json" in stdout
    with tarfile.open(tmp_path / "out" / "tiny.tar") as tar:
        assert tar.getnames() == [f"tiny/{CELL}.json"]  # a toy cell has no sample grid
        tar.extractall(tmp_path / "here", filter="data")
    result = json.loads((tmp_path / "here" / "tiny" / f"{CELL}.json").read_text())
    assert result["metrics"] == reference["metrics"]
    assert result["protocol"]["git_sha"].startswith("0" * 40)
