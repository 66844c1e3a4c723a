"""Every committed table spec loads, and every one of its cells resolves (config found, registry name matching the
config's class, one budget key): a broken spec fails here, not hours into a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.table_spec import cell_id, load_spec, resolve_cell
from zoo import list_variants

TABLES = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "tables").glob("*.yaml"))


@pytest.mark.parametrize("path", TABLES, ids=[p.stem for p in TABLES])
def test_every_cell_of_every_table_resolves(path):
    spec = load_spec(path)
    assert spec["name"] == path.stem
    ids = set()
    for entry in spec["variants"]:
        assert entry["variant"] in list_variants()
        for seed in spec["seeds"]:
            resolved = resolve_cell(spec, entry, seed)
            assert resolved["seed"] == seed and resolved["data"]["init_args"]["seed"] == seed
            ids.add(cell_id(entry, seed))
    assert len(ids) == len(spec["variants"]) * len(spec["seeds"])


def test_the_bf16_table_differs_from_fp32_only_in_precision():
    spec = load_spec(Path(__file__).resolve().parents[2] / "benchmarks" / "tables" / "fashion_bf16.yaml")
    rows = {entry["id"]: resolve_cell(spec, entry, 0) for entry in spec["variants"]}
    for name in ("gan_ns", "wgan_gp"):
        fp32, bf16 = rows[f"{name}_fp32"], rows[f"{name}_bf16"]
        assert "precision" not in fp32["trainer"] and bf16["trainer"]["precision"] == "bf16-mixed"
        assert {k: v for k, v in bf16.items() if k not in ("trainer", "overrides")} == {
            k: v for k, v in fp32.items() if k not in ("trainer", "overrides")
        }
