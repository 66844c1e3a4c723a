"""``benchmarks.paired_rows``: the within-seed-noise verdict computed from the cells (issue 19's bf16 check)."""

from __future__ import annotations

import json

import pytest

from benchmarks.paired_rows import compare, main
from tests.benchmarks.fixtures import make_cell, write_cells


def cells(values: dict[int, float]) -> dict[int, dict]:
    return {seed: {"metrics": {"fid": v}} for seed, v in values.items()}


def test_within_noise_when_the_mean_difference_is_at_most_the_larger_std():
    a = cells({0: 10.0, 1: 12.0, 2: 14.0})  # mean 12, std 2
    out = compare(a, cells({0: 13.0, 1: 14.0, 2: 15.0}), "fid")  # mean 14, std 1
    assert out["difference"] == pytest.approx(2.0) and out["noise"] == pytest.approx(2.0)
    assert out["verdict"] == "within seed noise" and out["excess"] == 0.0
    assert out["per_seed_difference"] == {"0": 3.0, "1": 2.0, "2": 1.0}


def test_outside_noise_reports_the_excess():
    out = compare(cells({0: 10.0, 1: 12.0, 2: 14.0}), cells({0: 17.0, 1: 17.5, 2: 18.0}), "fid")
    assert out["verdict"] == "outside seed noise"
    assert out["excess"] == pytest.approx(17.5 - 12.0 - 2.0)


def test_one_seed_is_undecided():
    out = compare(cells({0: 10.0}), cells({0: 11.0, 1: 12.0}), "fid")
    assert out["verdict"] == "undecided" and out["difference"] == pytest.approx(1.5)


def test_main_writes_json_and_markdown_beside_the_table(tmp_path):
    folder = tmp_path / "tbl"
    pairs = [(1.0, 1.1), (2.0, 2.1), (3.0, 2.9)]
    write_cells(
        folder,
        [
            make_cell(row, i, "GAN", (seed, fid, 0.01, 5.0, 0.6, 0.4))
            for seed, fids in enumerate(pairs)
            for i, (row, fid) in enumerate(zip("ab", fids))
        ],
    )
    result = main([str(folder), "--pair", "a:b", "--metrics", "fid"])
    assert result["comparisons"][0]["verdict"] == "within seed noise"
    assert json.loads((tmp_path / "tbl_pairs.json").read_text())["comparisons"][0]["metric"] == "fid"
    assert "within seed noise" in (tmp_path / "tbl_pairs.md").read_text()
    with pytest.raises(SystemExit, match="no finished cells of row"):
        main([str(folder), "--pair", "a:missing", "--metrics", "fid"])
