"""``benchmarks.retrained_cell``: a probe's retrained configuration is the table cell's, with the named option changes
and the budget cut (never raised); a changed cell must carry a label; results land where the renderer reads them."""

from __future__ import annotations

import argparse
import json

import pytest

from benchmarks.retrained_cell import (
    add_cell_arguments,
    parse_setting,
    retrained_configuration,
    settings_from,
    write_and_render,
)
from benchmarks.table_spec import resolve_named_cell

SPEC = "benchmarks/tables/fashion_lucic.yaml"


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_cell_arguments(parser, cell_example="gan_ns-s2", set_example="d_norm=none")
    return parser.parse_args([SPEC, "--cell", "gan_ns-s2", *argv])


def test_the_configuration_is_the_cells_with_options_changed_and_the_budget_cut(tmp_path):
    _, table = resolve_named_cell(SPEC, "gan_ns-s2", tmp_path)
    spec, probe = retrained_configuration(SPEC, "gan_ns-s2", {"d_norm": "none"}, 2500, tmp_path)
    assert spec["name"] == "fashion_lucic"
    assert probe["budget"] == {"d_steps": 2500} and table["budget"]["d_steps"] == 15625
    assert probe["model"]["init_args"]["d_norm"] == "none"
    assert "d_norm" not in table["model"]["init_args"]  # the table's own configuration is not touched
    same = {k: v for k, v in probe["model"]["init_args"].items() if k != "d_norm"}
    assert same == table["model"]["init_args"] and probe["seed"] == table["seed"] == 2
    _, longer = retrained_configuration(SPEC, "gan_ns-s2", {}, 10**6, tmp_path)
    assert longer["budget"] == {"d_steps": 15625}  # a cut never raises the cell's budget
    _, whole = retrained_configuration(SPEC, "gan_ns-s2", {}, None, tmp_path)
    assert whole == table


def test_a_changed_cell_needs_a_label_and_values_parse_as_yaml():
    assert settings_from(parsed()) == {}
    assert settings_from(parsed("--set", "d_norm=none", "--label", "x")) == {"d_norm": "none"}
    with pytest.raises(SystemExit, match="--label"):
        settings_from(parsed("--set", "d_norm=none"))
    assert parse_setting("clip_k=false") == ("clip_k", False)
    with pytest.raises(SystemExit, match="name=value"):
        parse_setting("clip_k")


def test_results_are_written_per_run_and_rendered_from_all_of_them(tmp_path):
    args = parsed("--results", str(tmp_path), "--label", "changed")
    seen = []

    def render(directory):
        seen.append(sorted(p.name for p in directory.glob("*.json")))
        return "# rendered"

    markdown = write_and_render(args, "some_probe", {"value": 1}, render)
    assert json.loads((tmp_path / "some_probe" / "gan_ns-s2-changed.json").read_text()) == {"value": 1}
    assert markdown == tmp_path / "some_probe.md" and markdown.read_text() == "# rendered\n"
    write_and_render(parsed("--results", str(tmp_path), "--render-only"), "some_probe", None, render)
    assert seen == [["gan_ns-s2-changed.json"], ["gan_ns-s2-changed.json"]]
