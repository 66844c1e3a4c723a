"""Does the discriminator of a data-limited cell overfit its training images? Karras et al. 2020's r_v and r_t.

    PYTHONPATH=. OMP_NUM_THREADS=1 python -m benchmarks.overfit_probe benchmarks/tables/fashion_tricks.yaml \\
        --cell gan_ns_sub100-s0 [--every 100] [--n 1000]

DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020) cure one failure: on a small training set the
discriminator learns the set's images instead of the distribution, its feedback to G degrades, and FID rises
late in training. Karras et al. 2020 (Section 3, eq. 1) measure it with r_v = (E[D_train] - E[D_validation]) /
(E[D_train] - E[D_generated]) (0: held-out real images scored like training images; 1: scored like fakes) and
r_t = E[sign(D_train)]. Where D does not overfit, augmentation has nothing to cure and costs what it costs.

The probe retrains one table cell exactly as ``benchmarks.run_table`` does (same resolved configuration and
seed) with ``callbacks.DiscriminatorOverfitting`` attached (it leaves training bit-identical), then scores the
trained generator with the cell's own evaluation block. The final metrics must equal the table cell's (when it
has been run): the JSON records both, so the trace belongs to the run the table reports.

Writes ``<results>/overfit_probe/<table>--<cell>.json`` (with the protocol) and ``<results>/overfit_probe.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.run_table import RESULTS, train_cell
from benchmarks.table_spec import resolve_named_cell

#: what makes two CPU runs of one configuration differ in their floats
REPRODUCTION_KEYS = ("torch_threads", "cpu_capability", "cpu_model")


def probe_cell(spec_path: str, cell_id: str, every: int, n: int, results_root: Path) -> dict[str, Any]:
    from benchmarks.cell_evaluation import evaluate_cell
    from benchmarks.protocol import protocol
    from callbacks.discriminator_overfitting import DiscriminatorOverfitting

    spec, resolved = resolve_named_cell(spec_path, cell_id, results_root)
    # n is cut to the training set's size, the batch size is the datamodule's (the callback's defaults)
    callback = DiscriminatorOverfitting(every=every, n=n, seed=0)
    run_protocol = protocol(command=" ".join(["python -m benchmarks.overfit_probe", *sys.argv[1:]]))
    start = time.perf_counter()
    model, data, training = train_cell(resolved, extra_callbacks=[callback])
    metrics, evaluation = evaluate_cell(model, data, resolved["evaluation"])
    table_cell = results_root / spec["name"] / f"{cell_id}.json"
    table_metrics = json.loads(table_cell.read_text())["metrics"] if table_cell.is_file() else None
    metrics = {k: float(v) for k, v in metrics.items()}
    return {
        "schema": "overfit_probe/1",
        "table": spec["name"],
        "cell": cell_id,
        "resolved": resolved,
        "training": training,
        "probe": {"every_d_steps": every, "n_per_set": len(callback.train_images), "batch_size": callback.batch_size},
        "trace": callback.history,
        "metrics": metrics,
        "evaluation": {k: v for k, v in evaluation.items() if k != "timings_s"},
        "table_cell_metrics": table_metrics,
        "reproduces_table_cell": None
        if table_metrics is None
        else all(table_metrics.get(k) == v for k, v in metrics.items()),
        "protocol": run_protocol,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }


def reproduction(result: dict[str, Any], results_root: Path) -> str:
    """Whether the probe's retrained cell scored exactly what the table cell did; when not, whether the two ran
    with different thread counts or CPU kernels (float sums then round differently and the runs drift apart)."""
    if result["reproduces_table_cell"] is None:
        return "table cell not run"
    if result["reproduces_table_cell"]:
        return "yes"
    cell = results_root / result["table"] / f"{result['cell']}.json"
    table_hw = json.loads(cell.read_text())["protocol"].get("hardware", {}) if cell.is_file() else {}
    probe_hw = result["protocol"].get("hardware", {})
    differ = [
        f"{k} {table_hw.get(k)} vs {probe_hw.get(k)}" for k in REPRODUCTION_KEYS if table_hw.get(k) != probe_hw.get(k)
    ]
    return f"no: table cell vs probe {', '.join(differ)}" if differ else "**NO, on the same hardware**"


def render(results_dir: Path) -> str:
    lines = [
        "# Does the discriminator overfit? Karras et al. 2020's r_v and r_t along training",
        "",
        "Made by `python -m benchmarks.overfit_probe` (see its docstring): one table cell retrained with its",
        "resolved configuration and seed, `callbacks.DiscriminatorOverfitting` attached.",
        "r_v = (E[D_train] - E[D_held-out]) / (E[D_train] - E[D_fake]): 0 when D scores held-out real images like its",
        "training images, 1 when it scores them like fakes. r_t = E[sign(D_train)] (ADA holds it at 0.6). D's logits",
        "on n training images (the subset), n test images and n fakes of fixed z, scored by copies of the nets in",
        "training mode (batch statistics; DiffAugment's T with the same draws for every set). 'Reproduces' compares",
        "the probe's final metrics with the table cell's (they match only on the same CPU kernels and thread count).",
        "",
        "| table / cell | D steps | n per set | final r_v | final r_t | r_t held-out | FID | reproduces | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    for r in results:
        last = r["trace"][-1]
        lines.append(
            f"| {r['table']} / {r['cell']} | {last['d_steps']} | {r['probe']['n_per_set']} | {last['r_v']:.3f} "
            f"| {last['r_t']:.3f} | {last['r_t_held_out']:.3f} | {r['metrics'].get('fid', float('nan')):.3f} "
            f"| {reproduction(r, results_dir.parent)} | {r['wall_time_s']:.0f} s |"
        )
    for r in results:
        hw = r["protocol"].get("hardware", {})
        lines += [
            "",
            f"## {r['table']} / {r['cell']}",
            "",
            f"git `{r['protocol'].get('git_sha')}`; {hw.get('cpu_model')}, {hw.get('cpu_capability')}, "
            f"{hw.get('torch_threads')} threads; extractor `{r['evaluation'].get('extractor')}`.",
            "",
            "| D steps | G steps | E[D_train] | E[D_held-out] | E[D_fake] | r_v | r_t | r_t held-out |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        trace = r["trace"]
        stride = max(1, len(trace) // 10)
        shown = trace[stride - 1 :: stride]
        if shown[-1] is not trace[-1]:
            shown.append(trace[-1])
        for t in shown:
            lines.append(
                f"| {t['d_steps']} | {t['g_steps']} | {t['d_train']:.3f} | {t['d_held_out']:.3f} | {t['d_fake']:.3f} "
                f"| {t['r_v']:.3f} | {t['r_t']:.3f} | {t['r_t_held_out']:.3f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overfit_probe", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec holding the cell, e.g. benchmarks/tables/fashion_tricks.yaml")
    parser.add_argument("--cell", help="cell id, e.g. gan_ns_sub100-s0")
    parser.add_argument("--every", type=int, default=100, help="measure every this many D updates")
    parser.add_argument("--n", type=int, default=1000, help="images per set (at most the training subset's size)")
    parser.add_argument("--results", default=str(RESULTS), help="results root (default benchmarks/results)")
    parser.add_argument("--render-only", action="store_true", help="only re-render the Markdown")
    args = parser.parse_args(argv)
    root = Path(args.results)
    out_dir = root / "overfit_probe"
    if not args.render_only:
        if not args.cell:
            raise SystemExit("--cell is required (e.g. --cell gan_ns_sub100-s0), or pass --render-only.")
        result = probe_cell(args.spec, args.cell, args.every, args.n, root)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{result['table']}--{args.cell}.json").write_text(json.dumps(result, indent=1) + "\n")
        print({k: round(v, 4) for k, v in result["trace"][-1].items()}, result["metrics"].get("fid"))
    (root / "overfit_probe.md").write_text(render(out_dir) + "\n")
    print(f"rendered {root / 'overfit_probe.md'}")


if __name__ == "__main__":
    main()
