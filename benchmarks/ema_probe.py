"""Why does the generator EMA score what it scores? Separate the averaged weights from the batch-norm statistics.

    PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.ema_probe benchmarks/tables/fashion_tricks.yaml \\
        --cell gan_ns_ema-s0

``zoo.ema`` copies the generator's batch-norm buffers into the EMA (as StyleGAN2-ADA's ``G_ema``): the averaged
weights (Yazıcı et al. 2019, eq. 2) are used in eval mode with running statistics collected by the *raw* generator.
When the weights move fast, those statistics no longer fit the average. The probe retrains one cell of a table
exactly as ``benchmarks.run_table`` does and scores, with the cell's evaluation block (FID and KID only):

* ``raw``: the trained generator (the cell's ``fid``);
* ``ema_copied_bn``: the EMA with the copied running statistics (the cell's ``ema_fid``);
* ``ema_batch_bn``: the EMA normalising each batch of the training batch size by its own statistics;
* ``ema_recomputed_bn``: the EMA with running statistics recomputed for its own weights
  (``torch.optim.swa_utils.update_bn``-style: cumulative averages over ``--bn-batches`` batches of fresh z);
* ``raw_batch_bn``: the raw generator with batch statistics (the effect of the BN mode alone).

If the recomputed statistics close the gap, the statistics are the cause; if not, the average itself (its lag
behind a generator that still improves) is. z for the recomputation comes from a local ``torch.Generator``.

With ``--decays 0.99,0.995`` the same run also keeps one more average per listed decay (``ExtraAverages``: the
model's own update rule and warm-up, only beta differs), each scored with recomputed statistics
(``ema<decay>_recomputed_bn``): the averaging horizon, about 1 / (1 - beta) generator updates, is the one thing that
changes. If a shorter horizon beats the cell's decay, the average's lag behind an improving generator costs FID;
if every horizon ties the raw generator, averaging buys nothing at this budget. The extra average at the cell's own
decay must equal the model's EMA exactly (checked: ``extra_average_matches_model``).

Writes ``<results>/ema_probe/<cell>.json`` and ``<results>/ema_probe.md``.
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
from torch import nn

from benchmarks.run_table import RESULTS, train_cell
from benchmarks.snapshot_fid import BatchStatisticsGenerator, evaluation_block, score
from benchmarks.table_spec import load_spec, resolve_named_cell
from zoo import ema

BN_SEED = ema.RECOMPUTE_SEED  # z of the statistics recomputation (independent of the evaluation's z seed)
MODES = ("raw", "ema_copied_bn", "ema_batch_bn", "ema_recomputed_bn", "raw_batch_bn")


def recompute_batch_norm(generator: nn.Module, model: Any, batches: int, batch_size: int) -> nn.Module:
    """``zoo.ema.recompute_batch_norm`` over ``batches`` batches of ``batch_size`` fresh z (the training batch size,
    from a local generator seeded with ``BN_SEED``): the copy ``ema_bn="recompute"`` samples from, at the cell's
    batch size."""
    rng = torch.Generator().manual_seed(BN_SEED)
    return ema.recompute_batch_norm(
        generator, lambda net: net(model.sample_z(batch_size, generator=rng).to(model.device)), batches
    )


class ExtraAverages(Callback):
    """More generator EMAs beside the model's own, each with its own decay: made from the generator at fit start
    (theta_EMA^(0) = theta^(0)) and moved after every generator update by ``zoo.ema.update_ema`` with
    ``zoo.ema.ema_beta`` (the cell's ``ema_start`` and ``ema_rampup``), as the model moves ``generator_ema``."""

    def __init__(self, decays: list[float], start: int = 0, rampup: bool = False) -> None:
        super().__init__()
        self.decays, self.start, self.rampup = list(decays), int(start), bool(rampup)
        self.averages: dict[float, nn.Module] = {}
        self.seen = 0

    def on_fit_start(self, trainer: Any, module: Any) -> None:
        self.averages = {decay: ema.make_ema_copy(module.generator) for decay in self.decays}
        self.seen = int(module.g_steps)

    def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
        step = int(module.g_steps)
        if step == self.seen:  # no generator update in this batch
            return
        self.seen = step
        for decay, averaged in self.averages.items():
            ema.update_ema(averaged, module.generator, ema.ema_beta(step, decay, self.start, self.rampup))


def max_abs_difference(a: nn.Module, b: nn.Module) -> float:
    """The largest absolute difference between the parameters and buffers of two nets of one architecture."""
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return max(float((x.double() - y.double()).abs().max()) if x.numel() else 0.0 for x, y in pairs)


def probe_cell(
    spec_path: str, cell_id: str, n_fake: int, bn_batches: int, results_root: Path, decays: list[float] | None = None
) -> dict[str, Any]:
    from benchmarks.protocol import protocol

    spec, resolved = resolve_named_cell(spec_path, cell_id, results_root)
    if resolved["model"]["init_args"].get("ema_decay") is None:
        raise SystemExit(f"{cell_id} trains no generator EMA (model.init_args.ema_decay): nothing to probe.")
    run_protocol = protocol(command=" ".join(["python -m benchmarks.ema_probe", *sys.argv[1:]]))
    init = resolved["model"]["init_args"]
    extra = ExtraAverages(decays or [], int(init.get("ema_start", 0)), bool(init.get("ema_rampup", False)))
    start = time.perf_counter()
    model, data, training = train_cell(resolved, extra_callbacks=[extra] if decays else None)
    model.eval()
    batch = int(data.batch_size)
    raw, ema = model.generator, model.generator_ema
    generators = {
        "raw": (raw, "raw"),
        "ema_copied_bn": (ema, "ema"),
        "ema_batch_bn": (BatchStatisticsGenerator(ema), "ema"),
        "ema_recomputed_bn": (recompute_batch_norm(ema, model, bn_batches, batch), "ema"),
        "raw_batch_bn": (BatchStatisticsGenerator(raw), "raw"),
    }
    block = evaluation_block(resolved["evaluation"])
    block.pop("ema", None)
    scores, evaluation = {}, None
    for mode in MODES:
        generator, weights = generators[mode]
        model.generator_ema = generator if weights == "ema" else ema
        model.generator = generator if weights == "raw" else raw
        sample_batch = batch if "batch_bn" in mode else None
        values, evaluation = score(model, data, {**block, "weights": weights}, n_fake, sample_batch)
        scores[mode] = {k: float(v) for k, v in values.items()}
        print(f"  {cell_id} {mode}: fid={scores[mode]['fid']:.3f} kid={scores[mode]['kid']:.4f}", flush=True)
    horizons: dict[str, dict[str, float]] = {}
    for decay, averaged in extra.averages.items():
        mode = f"ema{decay:g}_recomputed_bn"
        model.generator_ema = recompute_batch_norm(averaged, model, bn_batches, batch)
        values, _ = score(model, data, {**block, "weights": "ema"}, n_fake, None)
        horizons[f"{decay:g}"] = {k: float(v) for k, v in values.items()}
        print(f"  {cell_id} {mode}: fid={horizons[f'{decay:g}']['fid']:.3f}", flush=True)
    model.generator, model.generator_ema = raw, ema
    own = float(init["ema_decay"])
    matches = max_abs_difference(extra.averages[own], ema) if own in extra.averages else None
    table_cell = results_root / spec["name"] / f"{cell_id}.json"
    table = json.loads(table_cell.read_text())["metrics"] if table_cell.is_file() else {}
    return {
        "schema": "ema_probe/1",
        "table": spec["name"],
        "cell": cell_id,
        "resolved": resolved,
        "training": training,
        "n_fake": n_fake,
        "bn_batches": bn_batches,
        "bn_seed": BN_SEED,
        "scores": scores,
        "horizons": horizons,
        "extra_average_matches_model": matches,
        "table_cell": {k: table.get(k) for k in ("fid", "ema_fid")},
        "evaluation": evaluation,
        "protocol": run_protocol,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }


def render(results_dir: Path) -> str:
    lines = [
        "# Generator EMA: averaged weights vs batch-norm statistics",
        "",
        "Made by `python -m benchmarks.ema_probe` (see its docstring) from the JSON files beside this one. Each",
        "cell is retrained as in its table; FID with the cell's evaluation block. `copied`: the EMA with the raw",
        "generator's running statistics (what the table scores); `batch`: each batch's own statistics (batches of",
        "the training batch size); `recomputed`: running statistics recomputed for the EMA's own weights.",
        "",
        "| cell | raw | EMA, copied BN | EMA, batch BN | EMA, recomputed BN | raw, batch BN | table: fid / ema_fid |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        s = r["scores"]
        cells = " | ".join(f"{s[m]['fid']:.3f}" for m in MODES)
        t = r["table_cell"]
        table = " / ".join("–" if t.get(k) is None else f"{t[k]:.3f}" for k in ("fid", "ema_fid"))
        mark = " (*)" if r["resolved"]["model"]["init_args"].get("ema_bn") == "recompute" else ""
        lines.append(f"| {r['cell']}{mark} | {cells} | {table} |")
    lines += [
        "",
        "(*) A cell trained with `ema_bn: recompute`: sampling the EMA recomputes its statistics, so its `copied`",
        "column is the model's own sampling path (recomputed) and equals the `recomputed` column.",
    ]
    lines += ["", "KID in the same order:", ""]
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        hw = r["protocol"].get("hardware", {})
        kids = ", ".join(f"{m} {r['scores'][m]['kid']:.4f}" for m in MODES)
        lines.append(
            f"- {r['cell']}: {kids}. {r['n_fake']} fakes; BN recomputed over {r['bn_batches']} batches; git "
            f"`{r['protocol'].get('git_sha')}`; {hw.get('cpu_model')}, {hw.get('torch_threads')} threads; "
            f"{r['wall_time_s']:.0f} s."
        )
    with_horizons = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    with_horizons = [r for r in with_horizons if r.get("horizons")]
    if with_horizons:
        decays = sorted({d for r in with_horizons for d in r["horizons"]}, key=float)
        lines += [
            "",
            "## Averaging horizon: extra EMAs of the same run, each with recomputed BN statistics (`--decays`)",
            "",
            "Horizon ~ 1 / (1 - decay) generator updates. The extra average at the cell's own decay equals the model's",
            "EMA (largest parameter difference in the last column).",
            "",
            "| cell | raw | "
            + " | ".join(f"EMA {d} (~{1 / (1 - float(d)):.0f} updates)" for d in decays)
            + " | own-decay check |",
            "|---|---:|" + "---:|" * len(decays) + "---:|",
        ]
        for r in with_horizons:
            h = r["horizons"]
            cells = " | ".join(f"{h[d]['fid']:.3f}" if d in h else "–" for d in decays)
            check = r.get("extra_average_matches_model")
            lines.append(
                f"| {r['cell']} | {r['scores']['raw']['fid']:.3f} | {cells} | "
                + ("–" if check is None else f"{check:.1e}")
                + " |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ema_probe", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec holding the cell, e.g. benchmarks/tables/fashion_tricks.yaml")
    parser.add_argument("--cell", required=True, help="cell id, e.g. gan_ns_ema-s0")
    parser.add_argument("--n-fake", type=int, default=None, help="fakes per score (default: the cell's n_fake)")
    parser.add_argument("--bn-batches", type=int, default=100, help="batches for the recomputed statistics")
    parser.add_argument("--decays", default="", help="extra EMA decays to keep and score, e.g. 0.99,0.995,0.999")
    parser.add_argument("--results", default=str(RESULTS), help="results root (default benchmarks/results)")
    parser.add_argument("--render-only", action="store_true", help="only re-render the Markdown")
    args = parser.parse_args(argv)
    root = Path(args.results)
    out_dir = root / "ema_probe"
    if not args.render_only:
        spec = load_spec(args.spec)
        n_fake = args.n_fake or int(spec["evaluation"]["n_fake"])
        decays = [float(d) for d in args.decays.split(",") if d.strip()]
        result = probe_cell(args.spec, args.cell, n_fake, args.bn_batches, root, decays)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{args.cell}.json").write_text(json.dumps(result, indent=1) + "\n")
    (root / "ema_probe.md").write_text(render(out_dir))
    print(f"rendered {root / 'ema_probe.md'}")


if __name__ == "__main__":
    main()
