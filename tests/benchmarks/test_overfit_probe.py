"""``benchmarks.overfit_probe``: the probe retrains a table cell bit-identically (its final FID equals the table
cell's), traces r_v every ``every`` D updates on the cell's training subset, and renders what it wrote."""

from __future__ import annotations

import json

import yaml

from benchmarks.overfit_probe import main
from benchmarks.run_table import run_table
from tests.benchmarks.fixtures import tiny_image_spec
from tests.benchmarks.test_run_table import quiet


def test_the_probe_traces_the_run_the_table_reports(tmp_path):
    spec = tiny_image_spec("tiny", {"g_steps": 12}, ["fid"])
    spec["overrides"].update({"data.init_args.subset": 100, "data.init_args.batch_size": 16})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    results = tmp_path / "results"
    run_table(path, results_root=results, render=False, log=quiet)
    main([str(path), "--cell", "gan-s0", "--every", "5", "--n", "1000", "--results", str(results)])
    probe = json.loads((results / "overfit_probe" / "tiny--gan-s0.json").read_text())
    table = json.loads((results / "tiny" / "gan-s0.json").read_text())
    assert probe["reproduces_table_cell"] is True and probe["metrics"] == table["metrics"]
    assert [t["d_steps"] for t in probe["trace"]] == [5, 10, 12]  # and once more when training ends
    assert probe["probe"] == {"every_d_steps": 5, "n_per_set": 100, "batch_size": 16}  # n cut to the subset
    assert probe["protocol"]["git_sha"] and all(-1.0 <= t["r_t"] <= 1.0 for t in probe["trace"])
    text = (results / "overfit_probe.md").read_text()
    assert "| tiny / gan-s0 | 12 | 100 |" in text and "| yes |" in text


def test_a_probe_that_does_not_reproduce_its_cell_says_whether_the_hardware_differed(tmp_path):
    from benchmarks.overfit_probe import reproduction

    (tmp_path / "t").mkdir()
    cell = {"protocol": {"hardware": {"torch_threads": 2, "cpu_capability": "AVX512", "cpu_model": "AMD EPYC"}}}
    (tmp_path / "t" / "c-s0.json").write_text(json.dumps(cell))
    probe = {"table": "t", "cell": "c-s0", "reproduces_table_cell": False}
    probe["protocol"] = {"hardware": {"torch_threads": 1, "cpu_capability": "AVX512", "cpu_model": "AMD EPYC"}}
    assert reproduction(probe, tmp_path) == "no: table cell vs probe torch_threads 2 vs 1"
    probe["protocol"]["hardware"]["torch_threads"] = 2  # same kernels, same threads, different numbers: a bug
    assert reproduction(probe, tmp_path) == "**NO, on the same hardware**"
    assert reproduction({**probe, "reproduces_table_cell": True}, tmp_path) == "yes"
    assert reproduction({**probe, "reproduces_table_cell": None}, tmp_path) == "table cell not run"
