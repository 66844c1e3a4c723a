"""Why does a BEGAN cell collapse? Trace its equilibrium control k along training, and its samples' diversity.

    PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.began_probe benchmarks/tables/fashion_lucic.yaml \\
        --cell began-s0 --d-steps 3906 [--set clip_k=false --label unclipped]

BEGAN (Berthelot et al. 2017, Section 3.4) trains D on L_D = L(x) - k_t L(G(z)): only k_t makes D push the fakes'
reconstruction error up. While k_t = 0, D is a plain autoencoder of the real data and G minimizes L(G(z)), the
error of an autoencoder fitted to real images: nothing in either loss asks G for diversity, and the images that
are easiest to reconstruct win. k_t moves by lambda_k (gamma L(x) - L(G(z))) per update; the paper keeps it in
[0, 1], compare_gan (Lucic et al. 2018) does not clip it, so there k can go negative and D then lowers the fakes'
error too.

The probe retrains one BEGAN cell of a table exactly as ``benchmarks.run_table`` does (same resolved configuration
and seed), optionally with model options changed (``--set clip_k=false``) and the budget cut to ``--d-steps``, and
records:

* after every ``--every``-th D update: k, L(x), L(G(z_D)) of that D update (``recon_real``, ``recon_fake``), and
  M_global as the model logged them;
* at each D-step count in ``--at``: FID, precision and recall of ``--n-fake`` fakes (fixed z) against as many test
  images in the cell's second feature space (its ``evaluation.also`` block: the fashion-domain extractor for the
  Lucic table). Recall near 0 with fair precision is a collapse onto part of the data. The evaluation runs under
  ``torch.random.fork_rng`` with both nets' modes restored, so training draws what it draws without the probe.

Writes ``<results>/began_probe/<cell>[-<label>].json`` (with the protocol) and ``<results>/began_probe.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from benchmarks.retrained_cell import (
    add_cell_arguments,
    retrained_configuration,
    run_heading,
    settings_from,
    write_and_render,
)
from benchmarks.run_table import import_class, train_cell

DIVERSITY_METRICS = ("fid", "pr")


class BEGANProbe(Callback):
    """A Lightning callback: k and the autoencoder losses every ``every`` D updates, diversity at ``at``."""

    def __init__(self, every: int, at: list[int], score: Any) -> None:
        super().__init__()
        self.every, self.at, self.score = every, sorted(set(at)), score
        self.trace: list[dict[str, float]] = []
        self.scores: list[dict[str, Any]] = []

    def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
        d_steps = int(module.d_steps)
        if d_steps % self.every == 0 and not (self.trace and self.trace[-1]["d_steps"] == d_steps):
            logged = {k.removeprefix("train/"): float(v) for k, v in module.last_losses.items()}
            self.trace.append({"d_steps": d_steps, "g_steps": int(module.g_steps), "k_now": float(module.k), **logged})
        if d_steps in self.at and not any(s["d_steps"] == d_steps for s in self.scores):
            self.scores.append({"d_steps": d_steps, "g_steps": int(module.g_steps), **self.measure(module)})

    def measure(self, module: Any) -> dict[str, float]:
        modes = {name: net.training for name, net in (("g", module.generator), ("d", module.discriminator))}
        try:
            with torch.random.fork_rng(devices=[]):
                return self.score(module)
        finally:
            module.generator.train(modes["g"])
            module.discriminator.train(modes["d"])


def k_summary(trace: list[dict[str, float]]) -> dict[str, float]:
    """How k spent the run: its range, and the share of traced updates at the bounds of [0, 1] or outside."""
    ks = [t["k_now"] for t in trace]
    n = max(1, len(ks))
    return {
        "k_min": min(ks, default=float("nan")),
        "k_max": max(ks, default=float("nan")),
        "k_final": ks[-1] if ks else float("nan"),
        "share_k_le_0": sum(k <= 0.0 for k in ks) / n,
        "share_k_lt_0": sum(k < 0.0 for k in ks) / n,
        "share_k_ge_1": sum(k >= 1.0 for k in ks) / n,
    }


def probe_cell(
    spec_path: str,
    cell_id: str,
    settings: dict[str, Any],
    d_steps: int | None,
    every: int,
    at: list[int],
    n_fake: int,
    results_root: Path,
) -> dict[str, Any]:
    from benchmarks.cell_evaluation import evaluate_images
    from benchmarks.protocol import protocol

    spec, resolved = retrained_configuration(spec_path, cell_id, settings, d_steps, results_root)
    if resolved["variant"] != "BEGAN":
        raise SystemExit(f"{cell_id} is a {resolved['variant']} cell: the probe traces BEGAN's k.")
    budget = int(resolved["budget"]["d_steps"])
    at = sorted({a for a in at if 0 < a <= budget} | {budget})
    evaluation = resolved["evaluation"]
    space = {**evaluation, **evaluation.get("also", {})}
    space.pop("also", None)
    block = {**space, "metrics": list(DIVERSITY_METRICS), "n_fake": n_fake, "n_real": n_fake, "ema": False}
    data = import_class(resolved["data"]["class_path"])(**resolved["data"].get("init_args", {}))
    kept: dict[str, Any] = {}

    def score(module: Any) -> dict[str, float]:
        values, used = evaluate_images(module, data, block)
        kept.setdefault("evaluation", {k: v for k, v in used.items() if k != "timings_s"})
        return values

    probe = BEGANProbe(every, at, score)
    run_protocol = protocol(command=" ".join(["python -m benchmarks.began_probe", *sys.argv[1:]]))
    start = time.perf_counter()
    _, _, training = train_cell(resolved, extra_callbacks=[probe])
    table_cell = results_root / spec["name"] / f"{cell_id}.json"
    table_metrics = json.loads(table_cell.read_text())["metrics"] if table_cell.is_file() else None
    return {
        "schema": "began_probe/1",
        "table": spec["name"],
        "cell": cell_id,
        "settings": settings,
        "resolved": resolved,
        "training": training,
        "probe": {"every_d_steps": every, "at_d_steps": at, **kept},
        "k_summary": k_summary(probe.trace),
        "scores": probe.scores,
        "trace": probe.trace,
        "table_cell_metrics": table_metrics,
        "protocol": run_protocol,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }


def render(results_dir: Path) -> str:
    lines = [
        "# BEGAN: the equilibrium control k and the samples' diversity along training",
        "",
        "Made by `python -m benchmarks.began_probe` (see its docstring): one BEGAN table cell retrained with its",
        "resolved configuration and seed (options changed only where a run says so), its budget cut where it says so.",
        "k after the listed D update; L(x) and L(G(z_D)) of that D update (pixel units of the cell's `pixel_units`);",
        "FID / precision / recall of fixed-z fakes against as many test images in the cell's second feature space.",
        "",
    ]
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        ks = r["k_summary"]
        heading = run_heading(r)
        heading[-1] += f" Extractor `{r['probe'].get('evaluation', {}).get('extractor')}`."
        lines += [
            *heading,
            "",
            f"k over the traced updates: min {ks['k_min']:.4f}, max {ks['k_max']:.4f}, final {ks['k_final']:.4f}; "
            f"share at k <= 0: {ks['share_k_le_0']:.3f} (below 0: {ks['share_k_lt_0']:.3f}); at k >= 1: "
            f"{ks['share_k_ge_1']:.3f}.",
            "",
            "| D steps | G steps | FID | Precision | Recall |",
            "|---:|---:|---:|---:|---:|",
        ]
        for s in r["scores"]:
            lines.append(
                f"| {s['d_steps']} | {s['g_steps']} | {s['fid']:.2f} | {s['precision']:.3f} | {s['recall']:.3f} |"
            )
        lines += ["", "| D steps | k | L(x) | L(G(z_D)) | M_global |", "|---:|---:|---:|---:|---:|"]
        trace = r["trace"]
        stride = max(1, len(trace) // 12)
        for t in trace[stride - 1 :: stride]:
            lines.append(
                f"| {t['d_steps']} | {t['k_now']:.4f} | {t.get('recon_real', float('nan')):.4f} "
                f"| {t.get('recon_fake', float('nan')):.4f} | {t.get('m_global', float('nan')):.4f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.began_probe", description=__doc__.split("\n")[0])
    add_cell_arguments(parser, cell_example="began-s0", set_example="clip_k=false")
    parser.add_argument("--every", type=int, default=25, help="trace k every this many D updates")
    parser.add_argument("--at", default="500,1000,2000,3906", help="D-step counts to score diversity at")
    parser.add_argument("--n-fake", type=int, default=5000, help="fakes (and test images) per diversity score")
    args = parser.parse_args(argv)
    settings = settings_from(args)
    result = None
    if not args.render_only:
        at = [int(a) for a in args.at.split(",") if a.strip()]
        result = probe_cell(
            args.spec, args.cell, settings, args.d_steps, args.every, at, args.n_fake, Path(args.results)
        )
        print(result["k_summary"])
        for s in result["scores"]:
            print(s)
    write_and_render(args, "began_probe", result, render)


if __name__ == "__main__":
    main()
