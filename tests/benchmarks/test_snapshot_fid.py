"""``benchmarks.snapshot_fid`` scores a cell's kept generators with the cell's own evaluation: its last snapshot
scores exactly the cell's FID, and the batch-statistics generator normalises each batch by its own moments."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from torch import nn

from benchmarks.run_table import import_class, run_table
from benchmarks.snapshot_fid import BatchStatisticsGenerator, run, snapshot_files
from tests.benchmarks.fixtures import tiny_image_spec


def quiet(*args):
    pass


def test_batch_statistics_generator_normalises_each_batch_by_its_own_moments():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 2)
        net[1].bias.uniform_(-1, 1)
        net[1].running_mean.fill_(5.0)  # far from any batch's mean: running and batch statistics disagree
    net.eval()
    z = torch.randn(16, 3)
    wrapped = BatchStatisticsGenerator(net).eval()
    with torch.no_grad():
        h = net[0](z)
        expected = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + net[1].eps) * net[1].weight + net[1].bias
        torch.testing.assert_close(wrapped(z), expected)
        assert not torch.allclose(net(z), expected, atol=1e-2)  # the eval-mode net uses its running statistics
    assert torch.equal(net[1].running_mean, torch.full((4,), 5.0))  # the original is left as it was
    assert not net.training and not wrapped.training


def test_snapshots_are_scored_in_step_order_and_the_last_reproduces_the_cell(tmp_path):
    spec = tiny_image_spec(
        "snap", {"g_steps": 10}, ["fid", "kid"], generator_snapshots={"counter": "g_steps", "at": [10, 2]}
    )
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump(spec))
    run_table(path, results_root=tmp_path, log=quiet, samples=False)
    cell = json.loads((tmp_path / "snap" / "gan-s0.json").read_text())
    folder = tmp_path / "snap" / ".generators" / "gan-s0"
    assert [p.name for p in snapshot_files(folder)] == ["g_steps2.pt", "g_steps10.pt"]  # by step, not by name
    (result,) = run(path, None, n_fake=100, results_root=tmp_path, log=quiet)
    assert [(r["snapshot"], r["bn"]) for r in result["rows"]] == [
        ("g_steps2.pt", "running"),
        ("g_steps10.pt", "running"),
        ("g_steps10.pt", "batch"),
    ]
    last = result["rows"][1]
    assert last["fid"] == pytest.approx(cell["metrics"]["fid"], rel=1e-6)  # same generator, z, reals, extractor
    assert result["rows"][0]["fid"] != last["fid"] and result["rows"][2]["fid"] != last["fid"]
    data = import_class(cell["resolved"]["data"]["class_path"])(**cell["resolved"]["data"].get("init_args", {}))
    assert result["rows"][2]["sample_batch"] == data.batch_size  # batch statistics over training-size batches
    assert result["rows"][1]["sample_batch"] == 500  # the cell's own evaluation batches
    assert result["summary"]["last_fid"] == last["fid"]
    assert result["summary"]["best_of_snapshots_fid"] == min(r["fid"] for r in result["rows"][:2])
    assert result["evaluation"]["extractor"] == "fashion-domain" and result["protocol"]["git_sha"]
    table = (tmp_path / "snap_snapshots.md").read_text()
    assert "| gan-s0 | g_steps2.pt | 2 | 2 | running | 100 |" in table


def test_a_cell_without_snapshots_is_skipped_and_a_folder_without_any_is_an_error(tmp_path):
    from benchmarks.snapshot_fid import score_cell

    spec = tmp_path / "none.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "none",
                "seeds": [0],
                "budget": {"g_steps": 1},
                "evaluation": {"kind": "images", "extractor": "fashion-domain", "n_fake": 10, "n_real": 10},
                "variants": [{"id": "gan", "variant": "GAN", "config": "configs/gan/fashion_mnist_demo.yaml"}],
            }
        )
    )
    skipped = []
    assert run(spec, None, n_fake=10, results_root=tmp_path, log=skipped.append) == []
    assert skipped == ["gan-s0: no snapshots kept, skipped"]
    with pytest.raises(FileNotFoundError, match="generator_snapshots"):
        score_cell({"cell": "x", "resolved": {"evaluation": {}}}, tmp_path, 10)


def test_also_scores_with_the_second_extractor_on_the_same_real_set_and_z():
    import pytest

    from benchmarks.snapshot_fid import evaluation_block

    evaluation = {
        "extractor": "inception-v3-compat",
        "metrics": ["fid", "kid", "pr"],
        "n_real": 10000,
        "split": "test",
        "seed": 0,
        "also": {"extractor": "fashion-domain", "metrics": ["fid", "kid", "is", "pr"]},
    }
    assert evaluation_block(evaluation) == {k: v for k, v in evaluation.items() if k != "also"}
    second = evaluation_block(evaluation, also=True)
    assert second["extractor"] == "fashion-domain" and "also" not in second
    assert (second["n_real"], second["split"], second["seed"]) == (10000, "test", 0)
    with pytest.raises(ValueError, match="no second extractor"):
        evaluation_block({"extractor": "fashion-domain"}, also=True)
