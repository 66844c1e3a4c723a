"""benchmarks.cell_schema: the one declaration of a cell JSON, used by the runner (write) and the renderer (check)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cell_schema import FIELDS, REQUIRED, SCHEMA_VERSION, CellError, cell_record, check_cell
from tests.benchmarks.fixtures import fixture_cells

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def test_a_record_follows_the_schema_order_and_leaves_out_absent_optional_fields():
    cell = fixture_cells()[0]
    assert cell["schema"] == SCHEMA_VERSION
    assert list(cell) == [name for name in FIELDS if name in cell]
    assert "samples" not in cell and "training" not in cell
    fields = {k: v for k, v in cell.items() if k != "schema"}
    with_grid = cell_record(**fields, samples={"file": "gan-s0.png"}, finished_at="2025-01-01T00:00:00+00:00")
    assert list(with_grid) == [name for name in FIELDS if name in with_grid]
    assert list(with_grid)[-3:] == ["protocol", "wall_time_s", "finished_at"]


def test_a_record_refuses_unknown_and_missing_fields():
    fields = {k: v for k, v in fixture_cells()[0].items() if k != "schema"}
    with pytest.raises(ValueError, match="not fields of a cell JSON: \\['sharpness'\\]"):
        cell_record(**fields, sharpness=1.0)
    del fields["protocol"]
    with pytest.raises(ValueError, match="needs \\['protocol'\\]"):
        cell_record(**fields)


def test_required_fields_come_from_the_declaration():
    assert REQUIRED[:3] == ("table", "table.name", "table.spec")
    assert "protocol.git_sha" in REQUIRED and "wall_time_s.total" in REQUIRED
    assert not {"schema", "row_index", "training", "samples", "finished_at"} & set(REQUIRED)
    cell = fixture_cells()[0]
    del cell["evaluation"]
    with pytest.raises(CellError, match="missing required field 'evaluation'"):
        check_cell(cell, "x.json")


TABLES = RESULTS.parent / "tables"


def committed_cells() -> list[Path]:
    """Cell JSONs: files in a results folder named after a table spec (other folders hold derived analyses)."""
    return sorted(path for path in RESULTS.glob("*/*.json") if (TABLES / f"{path.parent.name}.yaml").is_file())


def test_derived_analyses_beside_the_tables_are_not_taken_for_cells():
    names = {path.parent.name for path in committed_cells()}
    assert "ring" in names and "fashion_lucic" in names
    assert not any(name.endswith("_snapshots") for name in names)


def test_every_committed_cell_matches_the_schema():
    paths = committed_cells()
    assert paths, f"no committed cells under {RESULTS}"
    for path in paths:
        cell = json.loads(path.read_text())
        check_cell(cell, path.name)
        assert list(cell) == [name for name in FIELDS if name in cell], path
