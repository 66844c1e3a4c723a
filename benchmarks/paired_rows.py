"""Compare pairs of rows of one table seed by seed: is row B's metric within row A's seed noise?

    python -m benchmarks.paired_rows benchmarks/results/fashion_bf16 \
        --pair gan_ns_fp32:gan_ns_bf16 --pair wgan_gp_fp32:wgan_gp_bf16 --metrics fid,kid

For each pair and metric: the mean and sample standard deviation (n - 1) over the seeds each row has, the
difference of the means, the per-seed differences B - A on the seeds both rows have (same seed = same initial
weights, data order and evaluation z), and a verdict: "within seed noise" when |mean_B - mean_A| <= the larger
of the two standard deviations, otherwise "outside seed noise by" the excess (both in the metric's units);
"undecided" with fewer than 2 seeds in a row. Writes ``<results>_pairs.json`` and ``<results>_pairs.md`` beside
the table (numbers from the cells, never typed). Used for issue 19's bf16-vs-fp32 quality check.

``--a-best-snapshot`` replaces each of row A's cells by its best kept generator on the metric (the lowest FID or
KID among the eval-mode scores ``benchmarks.snapshot_fid`` wrote to ``<results>_snapshots/<cell>.json``): row A
early-stopped by an oracle that picks its checkpoint on the test metric itself. This favours A, so a B that still
wins has not won by A's late-training collapse alone (issue 21: DiffAugment against a D that overfits a small set).
The snapshots must be scored with the cell's own number of fakes (FID falls as it grows). Written to
``<results>_pairs_best_snapshot.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.protocol import protocol
from benchmarks.render import load_cells, mean_std


def rows_by_seed(results_dir: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """``{row id: {seed: cell}}`` of the cells in ``results_dir``, read and checked by ``render.load_cells``."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for cell in load_cells(results_dir):
        rows.setdefault(cell["row"], {})[int(cell["seed"])] = cell
    return rows


#: metrics a kept generator is scored on by ``benchmarks.snapshot_fid`` (both lower-is-better)
SNAPSHOT_METRICS = ("fid", "kid")


def best_snapshot_cells(row: dict[int, dict[str, Any]], snapshots_dir: Path, metric: str) -> dict[int, dict[str, Any]]:
    """``row`` with each cell's ``metric`` replaced by its best (lowest) eval-mode snapshot score, with the
    snapshot's name under ``best_snapshot``; refuses metrics the snapshots lack, missing snapshot files, and
    snapshots scored with another number of fakes than the cell."""
    if metric not in SNAPSHOT_METRICS:
        raise SystemExit(
            f"--a-best-snapshot compares {' and '.join(SNAPSHOT_METRICS)} only (kept generators are "
            f"scored on those), not {metric!r}: drop it from --metrics."
        )
    out: dict[int, dict[str, Any]] = {}
    for seed, cell in row.items():
        path = snapshots_dir / f"{cell['cell']}.json"
        if not path.is_file():
            raise SystemExit(
                f"{path} does not exist: run python -m benchmarks.snapshot_fid <spec> --cells "
                f"{cell['cell']} --n-fake {cell['evaluation']['n_fake']} first."
            )
        scored = json.loads(path.read_text())
        if scored["n_fake"] != cell["evaluation"]["n_fake"]:
            raise SystemExit(
                f"{path} scored {scored['n_fake']} fakes, the cell {cell['evaluation']['n_fake']}: FID "
                f"depends on it; rerun snapshot_fid with --n-fake {cell['evaluation']['n_fake']}."
            )
        best = min((r for r in scored["rows"] if r["bn"] == "running"), key=lambda r: r[metric])
        out[seed] = {**cell, "metrics": {**cell["metrics"], metric: best[metric]}, "best_snapshot": best["snapshot"]}
    return out


def summary(values: list[float]) -> dict[str, Any]:
    mean, std = mean_std(values) if values else (None, None)
    return {"n": len(values), "mean": mean, "std": std}


def compare(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]], metric: str) -> dict[str, Any]:
    """Row B against row A on ``metric`` (see the module docstring for the verdict)."""
    sa = summary([a[s]["metrics"][metric] for s in sorted(a)])
    sb = summary([b[s]["metrics"][metric] for s in sorted(b)])
    shared = sorted(set(a) & set(b))
    out: dict[str, Any] = {
        "a": {**sa, "seeds": sorted(a)},
        "b": {**sb, "seeds": sorted(b)},
        "per_seed_difference": {str(s): b[s]["metrics"][metric] - a[s]["metrics"][metric] for s in shared},
    }
    if sa["mean"] is None or sb["mean"] is None:
        return {**out, "difference": None, "verdict": "undecided", "excess": None}
    difference = sb["mean"] - sa["mean"]
    out["difference"] = difference
    if sa["std"] is None or sb["std"] is None:
        return {**out, "verdict": "undecided", "excess": None}
    noise = max(sa["std"], sb["std"])
    out["noise"] = noise
    out["excess"] = max(0.0, abs(difference) - noise)
    out["verdict"] = "within seed noise" if abs(difference) <= noise else "outside seed noise"
    return out


def fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render(result: dict[str, Any]) -> str:
    lines = [
        f"# Paired rows of `{result['table']}`: is row B within row A's seed noise?",
        "",
        "Verdict: within seed noise when |mean B - mean A| <= max(std A, std B) (sample std over seeds, n - 1); "
        "undecided with fewer than 2 seeds in a row. Per-seed differences B - A use the seeds both rows have "
        "(same initial weights, data order and evaluation z).",
        *(
            [
                "Row A at its best kept generator per seed on each metric (`--a-best-snapshot`: oracle early stopping "
                "on the test metric, which favours A; snapshots from `benchmarks.snapshot_fid` at the cell's n_fake)."
            ]
            if any("best_snapshots" in c["a"] for c in result["comparisons"])
            else []
        ),
        "",
        "| A | B | metric | A mean ± std (seeds) | B mean ± std (seeds) | B - A | per-seed B - A | verdict |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for c in result["comparisons"]:
        d = 4 if c["metric"] == "kid" else 3
        a, b = c["a"], c["b"]
        row_a = c["row_a"] + (
            " (best snapshot: " + ", ".join(a["best_snapshots"].values()) + ")" if "best_snapshots" in a else ""
        )
        per_seed = ", ".join(f"s{s}: {v:+.{d}f}" for s, v in c["per_seed_difference"].items()) or "none"
        verdict = c["verdict"] + (f" (by {c['excess']:.{d}f})" if c["verdict"] == "outside seed noise" else "")
        lines.append(
            f"| {row_a} | {c['row_b']} | {c['metric']} | {fmt(a['mean'], d)} ± {fmt(a['std'], d)} ({a['n']}) | "
            f"{fmt(b['mean'], d)} ± {fmt(b['std'], d)} ({b['n']}) | {fmt(c['difference'], d)} | {per_seed} | "
            f"{verdict} |"
        )
    proto = result["protocol"]
    lines += ["", f"Command `{proto['command']}`; git `{proto['git_sha']}`.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a table's results folder, e.g. benchmarks/results/fashion_bf16")
    parser.add_argument("--pair", action="append", required=True, metavar="A:B", help="row ids, A the baseline")
    parser.add_argument("--metrics", default="fid,kid")
    parser.add_argument(
        "--a-best-snapshot",
        action="store_true",
        help="row A at its best kept generator per seed (oracle early stopping; see above)",
    )
    args = parser.parse_args(argv)
    if args.a_best_snapshot:
        from benchmarks.snapshot_fid import scores_dir  # imports torch: only when asked for

        snapshots = scores_dir(args.results.parent, args.results.name)
    rows = rows_by_seed(args.results)
    comparisons = []
    for pair in args.pair:
        row_a, _, row_b = pair.partition(":")
        missing = [r for r in (row_a, row_b) if r not in rows]
        if missing:
            raise SystemExit(
                f"{args.results} has no finished cells of row(s) {', '.join(missing)}: run the table first."
            )
        for metric in args.metrics.split(","):
            a = best_snapshot_cells(rows[row_a], snapshots, metric) if args.a_best_snapshot else rows[row_a]
            comparison = {"row_a": row_a, "row_b": row_b, "metric": metric, **compare(a, rows[row_b], metric)}
            if args.a_best_snapshot:
                comparison["a"]["best_snapshots"] = {str(s): a[s]["best_snapshot"] for s in sorted(a)}
            comparisons.append(comparison)
    result = {"table": args.results.name, "comparisons": comparisons, "protocol": protocol()}
    suffix = "_pairs_best_snapshot" if args.a_best_snapshot else "_pairs"
    out = args.results.parent / f"{args.results.name}{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(result))
    print(render(result))
    return result


if __name__ == "__main__":
    main()
