"""What every diagnostic that retrains one table cell shares (``began_probe``, ``bn_gradient_probe``).

Such a probe retrains one cell of a table spec exactly as ``benchmarks.run_table`` does (same resolved configuration
and seed), optionally with model options changed (``--set name=value``, named by ``--label``) and the budget cut to
``--d-steps``; it writes ``<results>/<probe>/<cell>[-<label>].json`` and renders ``<results>/<probe>.md`` from all of
them. This module holds the command-line options, the configuration change and the result files' handling.
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.run_table import RESULTS
from benchmarks.table_spec import resolve_named_cell


def parse_setting(text: str) -> tuple[str, Any]:
    """``name=value`` with a YAML-like value (``false``, ``0.5``, ``none``...) for the model's ``init_args``."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"--set takes name=value (a model option), got {text!r}; e.g. --set clip_k=false")
    import yaml

    return name.strip(), yaml.safe_load(value)


def add_cell_arguments(parser: argparse.ArgumentParser, cell_example: str, set_example: str) -> None:
    """The options every retraining probe takes: spec, cell, option changes, label, budget cut, results root."""
    parser.add_argument("spec", help="table spec holding the cell, e.g. benchmarks/tables/fashion_lucic.yaml")
    parser.add_argument("--cell", required=True, help=f"cell id, e.g. {cell_example}")
    parser.add_argument(
        "--set", action="append", default=[], help=f"model option name=value (repeatable), e.g. {set_example}"
    )
    parser.add_argument("--label", default="", help="suffix of the result file (when options are changed)")
    parser.add_argument("--d-steps", type=int, default=None, help="cut the budget to this many D updates")
    parser.add_argument("--results", default=str(RESULTS), help="results root (default benchmarks/results)")
    parser.add_argument("--render-only", action="store_true", help="only re-render the Markdown")


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` options as a dict; a changed cell must be named (``--label``) so it does not pass for the cell."""
    settings = dict(parse_setting(s) for s in args.set)
    if settings and not args.label:
        raise SystemExit("--set changes the cell: name the run with --label (e.g. --label unclipped).")
    return settings


def retrained_configuration(
    spec_path: str, cell_id: str, settings: dict[str, Any], d_steps: int | None, results_root: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec, resolved configuration) of the cell with ``settings`` applied to the model and the budget cut to
    ``d_steps`` D updates (never raised above the cell's own budget)."""
    spec, resolved = resolve_named_cell(spec_path, cell_id, results_root)
    resolved = copy.deepcopy(resolved)
    resolved["model"]["init_args"].update(settings)
    budget = int(resolved["budget"]["d_steps"])
    if d_steps is not None:
        resolved["budget"] = {"d_steps": min(budget, d_steps)}
    return spec, resolved


def run_heading(result: dict[str, Any]) -> list[str]:
    """The Markdown heading of one probe run: the cell, what was changed, budget, git SHA, hardware, wall time."""
    hw = result["protocol"].get("hardware", {})
    changed = ", ".join(f"{k}={v}" for k, v in result["settings"].items()) or "none (the cell as the table runs it)"
    return [
        f"## {result['table']} / {result['cell']} — options changed: {changed}",
        "",
        f"{result['resolved']['budget']['d_steps']} D updates; git `{result['protocol'].get('git_sha')}`; "
        f"{hw.get('cpu_model')}, {hw.get('cpu_capability')}, {hw.get('torch_threads')} threads; "
        f"{result['wall_time_s']:.0f} s.",
    ]


def write_and_render(
    args: argparse.Namespace, probe: str, result: dict[str, Any] | None, render: Callable[[Path], str]
) -> Path:
    """Write ``result`` (unless None: ``--render-only``) to ``<results>/<probe>/<cell>[-<label>].json`` and render
    ``<results>/<probe>.md`` from every run there; returns the Markdown's path."""
    root = Path(args.results)
    out_dir = root / probe
    if result is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        name = f"{args.cell}-{args.label}" if args.label else args.cell
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    markdown = root / f"{probe}.md"
    markdown.write_text(render(out_dir) + "\n")
    print(f"rendered {markdown}")
    return markdown


__all__ = [
    "add_cell_arguments",
    "parse_setting",
    "retrained_configuration",
    "run_heading",
    "settings_from",
    "write_and_render",
]
