"""benchmarks.allocator_bench: the summary and Markdown follow from the raw runs, and a short run end to end writes
both settings' numbers."""

from __future__ import annotations

import json

import pytest

from benchmarks import allocator_bench
from benchmarks.allocator_bench import MODES, render, summarize


def test_summary_and_markdown_follow_from_the_runs():
    runs = {
        "default": [{"ms_per_step": 250.0, "faults_per_step": 20000}, {"ms_per_step": 200.0, "faults_per_step": 18000}],
        "keep_freed_memory": [
            {"ms_per_step": 160.0, "faults_per_step": 4},
            {"ms_per_step": 170.0, "faults_per_step": 2},
        ],
    }
    summary = {mode: summarize(runs[mode]) for mode in MODES}
    assert summary["default"] == {
        "best_ms_per_step": 200.0,
        "median_ms_per_step": 225.0,
        "median_faults_per_step": 19000,
    }
    result = {
        "timed_steps": 60,
        "warmup_steps": 5,
        "repeats": 2,
        "torch_threads": 2,
        "nets": {"lucic": summary},
        "protocol": {
            "command": "c",
            "git_sha": "s",
            "hardware": {"cpu_capability": "AVX2"},
            "versions": {},
            "wall_time_s": 1,
        },
    }
    markdown = render(result)
    # best 200 / 160 = 1.25x, median 225 / 165 = 1.36x; the default row is its own baseline
    assert "| keep_freed_memory | 160.0 | 165.0 | 3 | 1.25x | 1.36x |" in markdown
    assert "| default | 200.0 | 225.0 | 19,000 | 1.00x | 1.00x |" in markdown


def test_a_short_run_end_to_end(tmp_path):
    out = tmp_path / "allocator.json"
    allocator_bench.main(["--nets", "dcgan28", "--steps", "2", "--warmup", "1", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert set(result["runs"]["dcgan28"]) == set(MODES)
    for mode in MODES:
        (run,) = result["runs"]["dcgan28"][mode]
        assert run["ms_per_step"] > 0 and run["faults_per_step"] >= 0
    assert out.with_suffix(".md").read_text() == render(result)


def test_a_failing_child_is_reported(monkeypatch):
    monkeypatch.setattr(allocator_bench, "CHILD", "raise SystemExit('boom')")
    with pytest.raises(RuntimeError, match="boom"):
        allocator_bench.measure("dcgan28", 1, 1, "default")
