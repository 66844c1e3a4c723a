"""Score a table cell's kept generators: how much do checkpoint choice and batch-norm mode move its FID?

    python -m benchmarks.snapshot_fid benchmarks/tables/fashion_lucic.yaml --cells gan_mm-s0 [--n-fake 5000]

Lucic et al. (2018, google/compare_gan v1) score each run at 4 checkpoints and keep the best FID; a zoo cell
reports the end of training. ``benchmarks.run_table`` keeps the generator at the steps a spec's
``generator_snapshots`` names (``callbacks.GeneratorSnapshots``, under ``<results>/<table>/.generators/<cell>``);
this script scores each of them with the cell's own evaluation block (extractor, split, real set, z seed), and
scores the last one once more with its batch norms normalising by each batch's statistics (``bn: batch``, batches
of the training batch size) instead of the running statistics a generator uses in eval mode (``bn: running``,
what every table cell and compare_gan's ``is_training=False`` samples use): a large gap says the running
statistics, not the weights, cost FID.

Only FID and KID are computed; KID is unbiased in the number of samples, FID is not (it falls as ``n_fake``
grows), so compare FIDs only at one ``n_fake``: the ``running`` FID of the last snapshot at this ``n_fake`` is the
reference the others are read against (it equals the cell's own FID when ``n_fake`` is the cell's). Results go to
``<results>/<table>_snapshots/<cell>.json`` (with the full protocol) and ``<results>/<table>_snapshots.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from benchmarks.run_table import RESULTS, import_class, snapshots_dir
from benchmarks.table_spec import load_spec, plan

METRICS = ("fid", "kid")


class BatchStatisticsGenerator(nn.Module):
    """A copy of ``generator`` whose batch norms use each batch's own mean and variance even in eval mode
    (``torch.nn.BatchNorm*`` in training mode; their running statistics then change, on this copy only)."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.inner = copy.deepcopy(generator)
        self.train(False)

    def train(self, mode: bool = True) -> BatchStatisticsGenerator:
        super().train(mode)
        for module in self.inner.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.train(True)
        return self

    def forward(self, z: Any) -> Any:
        return self.inner(z)


def load_cell_model(resolved: dict[str, Any], snapshot: Path) -> tuple[Any, Any, dict[str, Any]]:
    """The cell's model (built as ``run_table`` builds it) with the snapshot's generator, its datamodule, and the
    snapshot's step counters."""
    from callbacks.generator_snapshots import load_snapshot
    from zoo import get_variant

    model = get_variant(resolved["variant"])(**resolved["model"]["init_args"])
    data = import_class(resolved["data"]["class_path"])(**resolved["data"].get("init_args", {}))
    model.build_networks(data.image_shape)
    kept = load_snapshot(snapshot)
    model.generator.load_state_dict(kept["generator"])
    return model.eval(), data, {"d_steps": int(kept["d_steps"]), "g_steps": int(kept["g_steps"])}


def snapshot_files(folder: Path) -> list[Path]:
    """A cell's snapshots in step order (``d_steps3906.pt`` < ``d_steps15625.pt``)."""
    steps = {p: re.fullmatch(r"[dg]_steps(\d+)", p.stem) for p in folder.glob("*.pt")}
    return sorted((p for p, match in steps.items() if match), key=lambda p: int(steps[p].group(1)))


def protocol_batch(evaluation: dict[str, Any]) -> int:
    return int(evaluation.get("batch_size", 500))  # benchmarks.cell_evaluation.evaluate_images' default


def evaluation_block(evaluation: dict[str, Any], also: bool = False) -> dict[str, Any]:
    """The cell's evaluation block without its second extractor, or (``also``) with the second one in its place
    (its ``extractor`` and settings over the first's: the same split, real set and z seed)."""
    block = {k: v for k, v in evaluation.items() if k != "also"}
    if also:
        if "also" not in evaluation:
            raise ValueError("this table's evaluation has no second extractor ('also'): drop --also.")
        block.update(evaluation["also"])
    return block


def score(
    model: Any, data: Any, evaluation: dict[str, Any], n_fake: int, batch_size: int | None = None
) -> tuple[dict, dict]:
    """FID and KID of ``model``'s fakes under an evaluation block (``evaluation_block``)."""
    from benchmarks.cell_evaluation import evaluate_images

    block = dict(evaluation)
    block.update(n_fake=n_fake, metrics=list(METRICS))
    if batch_size is not None:
        block["batch_size"] = batch_size
    return evaluate_images(model, data, block)


def score_cell(cell: dict[str, Any], snapshots: Path, n_fake: int, log=print, also: bool = False) -> dict[str, Any]:
    """Every snapshot with running statistics, and the last one with batch statistics too."""
    resolved = cell["resolved"]
    evaluation = evaluation_block(resolved["evaluation"], also)
    files = snapshot_files(snapshots)
    if not files:
        raise FileNotFoundError(
            f"no generator snapshots in {snapshots}: the cell must be trained by benchmarks.run_table with the "
            "spec's generator_snapshots set (they are kept from that run on, not made afterwards)."
        )
    rows, protocol = [], None
    plan_rows = [(path, "running") for path in files] + [(files[-1], "batch")]
    for path, bn in plan_rows:
        model, data, steps = load_cell_model(resolved, path)
        if bn == "batch":
            model.generator = BatchStatisticsGenerator(model.generator)
        start = time.perf_counter()
        # batch statistics: batches of the training batch size; running statistics: the cell's own batches
        batch = int(data.batch_size) if bn == "batch" else None
        values, protocol = score(model, data, evaluation, n_fake, batch)
        row = {
            "snapshot": path.name,
            **steps,
            "bn": bn,
            "sample_batch": batch or protocol_batch(evaluation),
            **{k: float(v) for k, v in values.items()},
        }
        row["wall_s"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        log(f"  {cell['cell']} {path.name} bn={bn}: fid={row['fid']:.2f} kid={row['kid']:.4f} ({row['wall_s']:.0f}s)")
    last = next(r for r in rows if r["snapshot"] == files[-1].name and r["bn"] == "running")
    best = min((r for r in rows if r["bn"] == "running"), key=lambda r: r["fid"])
    return {
        "cell": cell["cell"],
        "n_fake": n_fake,
        "rows": rows,
        "summary": {
            "last_fid": last["fid"],
            "best_of_snapshots_fid": best["fid"],
            "best_snapshot": best["snapshot"],
            "batch_statistics_fid": rows[-1]["fid"],
        },
        "evaluation": protocol,
    }


def render(results: list[dict[str, Any]], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Generated by `python -m benchmarks.snapshot_fid` from the JSON files beside this one; do not edit.",
        "FID falls as the number of fakes grows: compare rows of one cell (one `n_fake`), not across `n_fake`.",
        "`bn running`: eval-mode batch norm (running statistics, as every table cell); `bn batch`: each batch's own",
        "statistics, batches of the training batch size.",
        "",
        "| cell | snapshot | D steps | G steps | bn | n_fake | FID | KID |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for r in result["rows"]:
            lines.append(
                f"| {result['cell']} | {r['snapshot']} | {r['d_steps']} | {r['g_steps']} | {r['bn']} | "
                f"{result['n_fake']} | {r['fid']:.2f} | {r['kid']:.4f} |"
            )
    lines += ["", "| cell | last (running) | best of snapshots | last with batch statistics |", "|---|---|---|---|"]
    for result in results:
        s = result["summary"]
        lines.append(
            f"| {result['cell']} | {s['last_fid']:.2f} | {s['best_of_snapshots_fid']:.2f} ({s['best_snapshot']}) | "
            f"{s['batch_statistics_fid']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def probe_kept_cells(
    spec: dict[str, Any],
    root: Path,
    patterns: list[str] | None,
    out_dir: Path,
    probe: Callable[[dict[str, Any], Path], dict[str, Any]],
    command: str,
    log=print,
) -> list[dict[str, Any]]:
    """``probe(cell, snapshots_folder)`` for every cell of ``spec`` that kept generators, each result written with
    the run's protocol and wall time to ``out_dir/<cell>.json`` (atomically); returns every result in ``out_dir``."""
    from benchmarks.protocol import protocol

    run_protocol = protocol(command=command)
    for cell in plan(spec, root / spec["name"], patterns):
        folder = snapshots_dir(cell["path"])
        if not folder.is_dir():
            log(f"{cell['cell']}: no snapshots kept, skipped")
            continue
        start = time.perf_counter()
        result = probe(cell, folder)
        result.update(protocol=run_protocol, wall_time_s=round(time.perf_counter() - start, 1))
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f"{cell['cell']}.json.tmp"
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(out_dir / f"{cell['cell']}.json")
    return [json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))] if out_dir.is_dir() else []


def scores_dir(results_root: Path, table: str) -> Path:
    """Where this script writes a table's snapshot scores (its primary extractor's): ``<results>/<table>_snapshots``."""
    return results_root / f"{table}_snapshots"


def run(
    spec_path: str | Path,
    patterns: list[str] | None,
    n_fake: int,
    results_root: str | Path | None = None,
    log=print,
    also: bool = False,
) -> list[dict[str, Any]]:
    spec = load_spec(spec_path)
    root = Path(results_root) if results_root is not None else RESULTS
    out_dir = scores_dir(root, spec["name"])
    extractor = evaluation_block(spec["evaluation"], also)["extractor"]
    if also:  # a second extractor's scores go to their own files
        out_dir = out_dir.with_name(out_dir.name + "_" + extractor.replace("-", "_"))
    name = out_dir.name
    command = " ".join(["python -m benchmarks.snapshot_fid", *map(str, sys.argv[1:])])
    probe = lambda cell, folder: score_cell(cell, folder, n_fake, log, also)  # noqa: E731
    results = probe_kept_cells(spec, root, patterns, out_dir, probe, command, log)
    if results:
        title = f"{spec.get('title', spec['name'])}. Kept generators scored with {extractor}"
        (root / f"{name}.md").write_text(render(results, title))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.snapshot_fid", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec whose cells kept generator snapshots, e.g. fashion_lucic.yaml")
    parser.add_argument("--cells", help="comma-separated glob patterns on cell ids")
    parser.add_argument("--n-fake", type=int, default=10000, help="fakes per score (default 10000)")
    parser.add_argument("--results", default=None, help="results root (default benchmarks/results)")
    parser.add_argument(
        "--also",
        action="store_true",
        help="score with the evaluation's second extractor ('also', e.g. fashion-domain: seconds per snapshot)",
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    patterns = [p for p in args.cells.split(",") if p] if args.cells else None
    run(args.spec, patterns, args.n_fake, args.results, also=args.also)


if __name__ == "__main__":
    sys.exit(main())
