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


def write_snapshots(folder, cell: str, n_fake: int, fids: list[float], batch_fid: float) -> None:
    """A ``benchmarks.snapshot_fid`` result for ``cell``: eval-mode FIDs at 1k, 2k, ... steps, then the last
    snapshot with batch statistics (which --a-best-snapshot must ignore)."""
    rows = [
        {"snapshot": f"g_steps{1000 * (i + 1)}.pt", "bn": "running", "fid": fid, "kid": fid / 100}
        for i, fid in enumerate(fids)
    ]
    rows.append({"snapshot": rows[-1]["snapshot"], "bn": "batch", "fid": batch_fid, "kid": batch_fid / 100})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{cell}.json").write_text(json.dumps({"cell": cell, "n_fake": n_fake, "rows": rows}))


@pytest.fixture
def collapsing_table(tmp_path):
    """Row a collapses late on two seeds (final 10, 20 after 3, 2), row b ends at 1.5 and 1.6; a's batch-statistics
    score (0.5) is lower than anything, to catch a best-of that does not keep to eval-mode scores."""
    folder = tmp_path / "tbl"
    finals = {"a": (10.0, 20.0), "b": (1.5, 1.6)}
    write_cells(
        folder,
        [
            make_cell(row, i, "GAN", (seed, finals[row][seed], 0.01, 5.0, 0.6, 0.4))
            for seed in (0, 1)
            for i, row in enumerate("ab")
        ],
    )
    snapshots = tmp_path / "tbl_snapshots"
    write_snapshots(snapshots, "a-s0", 100, [4.0, 3.0, 10.0], 0.5)
    write_snapshots(snapshots, "a-s1", 100, [2.0, 5.0, 20.0], 0.5)
    return tmp_path, folder, snapshots


def test_a_best_snapshot_compares_b_with_a_early_stopped_by_an_oracle(collapsing_table):
    tmp_path, folder, _ = collapsing_table
    final = main([str(folder), "--pair", "a:b", "--metrics", "fid"])["comparisons"][0]
    assert final["a"]["mean"] == pytest.approx(15.0)  # without the option: the cells' own (final) FIDs
    c = main([str(folder), "--pair", "a:b", "--metrics", "fid,kid", "--a-best-snapshot"])["comparisons"][0]
    assert c["a"]["mean"] == pytest.approx(2.5) and c["a"]["std"] == pytest.approx(0.5**0.5)  # best: 3.0 and 2.0
    assert c["a"]["best_snapshots"] == {"0": "g_steps2000.pt", "1": "g_steps1000.pt"}
    assert c["per_seed_difference"] == pytest.approx({"0": 1.5 - 3.0, "1": 1.6 - 2.0})
    assert c["verdict"] == "outside seed noise"
    md = (tmp_path / "tbl_pairs_best_snapshot.md").read_text()
    assert "a (best snapshot: g_steps2000.pt, g_steps1000.pt)" in md and "oracle early stopping" in md
    assert json.loads((tmp_path / "tbl_pairs_best_snapshot.json").read_text())["comparisons"][1]["metric"] == "kid"
    assert json.loads((tmp_path / "tbl_pairs.json").read_text())["comparisons"][0]["a"]["mean"] == pytest.approx(15.0)


def test_a_best_snapshot_refuses_what_it_cannot_compare(collapsing_table):
    tmp_path, folder, snapshots = collapsing_table
    with pytest.raises(SystemExit, match="fid and kid only.*'recall'"):
        main([str(folder), "--pair", "a:b", "--metrics", "recall", "--a-best-snapshot"])
    write_snapshots(snapshots, "a-s1", 50, [2.0], 0.5)
    with pytest.raises(SystemExit, match="scored 50 fakes, the cell 100.*--n-fake 100"):
        main([str(folder), "--pair", "a:b", "--metrics", "fid", "--a-best-snapshot"])
    (snapshots / "a-s1.json").unlink()
    with pytest.raises(SystemExit, match="a-s1.json does not exist: run python -m benchmarks.snapshot_fid"):
        main([str(folder), "--pair", "a:b", "--metrics", "fid", "--a-best-snapshot"])
