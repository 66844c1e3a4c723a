"""Why does the default NS GAN of the Lucic table sit on a plateau? Trace the gradient G gets through D's batch norm.

    PYTHONPATH=. OMP_NUM_THREADS=1 python -m benchmarks.bn_gradient_probe benchmarks/tables/fashion_lucic.yaml \\
        --cell gan_ns-s2 --d-steps 3906 [--set d_norm=none --label d_without_bn]

The default NS GAN cells (compare_gan's defaults: Adam(5e-5, beta1 0), batch norm in D; Lucic et al. 2018) spend
much of their 15,625 D updates with near-constant samples (``fashion_lucic.md``). compare_gan, and the zoo with it,
runs D on the real and on the fake batch in separate calls, so D's batch norm normalizes the fakes with the fake
batch's own statistics (Ioffe & Szegedy 2015, Algorithm 1). Its backward pass removes from each sample's gradient
the batch mean of the gradients (and the part along the normalized activations): when the fakes are nearly
identical, their gradients are too, and little of the gradient reaches G. A G whose samples are alike then gets
almost no signal to make them differ.

The probe retrains one cell of a table exactly as ``benchmarks.run_table`` does (same resolved configuration and
seed), optionally with model options changed (``--set d_norm=none``) and the budget cut to ``--d-steps``. After
every ``--every``-th D update it measures, on copies of both nets (training is not touched: no BN statistics, no
draws from the global RNG), for a fixed z batch of the training batch size (G in training mode, as in a G update):

* ``fake_std``: the pixel standard deviation across the fake batch, averaged over pixels ([-1, 1] units), and
  ``real_std`` the same for the training batch of that step: how alike the samples are;
* the non-saturating G loss -log sigmoid(D(G(z))) and the norm of its gradient with respect to G's parameters,
  with D evaluated three ways: ``separate`` (training mode, the fakes alone in the batch: what a G update uses),
  ``joint`` (training mode, one batch of the step's reals and the fakes; the fakes' rows), ``running`` (D in
  inference mode: its running statistics). ``separate`` much smaller than the other two while ``fake_std`` is
  small is the mechanism above; the ratio near 1 once samples differ. (``running`` is a weak reference early on:
  with compare_gan's BN decay 0.999 the running statistics still hold much of their initial values for the
  first thousands of updates.)
* ``d_real``, ``d_fake``: mean sigmoid(D) of the step's reals and of the fakes (training mode, separate batches).

Writes ``<results>/bn_gradient_probe/<cell>[-<label>].json`` (with the protocol) and
``<results>/bn_gradient_probe.md``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from benchmarks.retrained_cell import (
    add_cell_arguments,
    retrained_configuration,
    run_heading,
    settings_from,
    write_and_render,
)
from benchmarks.run_table import train_cell
from zoo.sampling import fixed_z

#: how D is evaluated for the G gradient (see the module docstring)
D_MODES = ("separate", "joint", "running")
#: seed of the probe's own fixed z batch (a private generator: the training RNG is never drawn from)
PROBE_Z_SEED = 1234


def pixel_std(images: torch.Tensor) -> float:
    """Standard deviation across the batch of every pixel, averaged over pixels: 0 for identical samples."""
    return float(images.detach().float().std(dim=0).mean())


def grad_norm(loss: torch.Tensor, params: list[torch.Tensor]) -> float:
    """L2 norm of d loss / d params over all of ``params`` (the graph is kept for the next mode)."""
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)))


def measure(module: Any, real: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
    """The quantities of the module docstring on deep copies of G and D (the module is left as it was)."""
    generator = copy.deepcopy(module.generator).train()
    params = [p for p in generator.parameters() if p.requires_grad]
    real = real.detach()
    fake = generator(z)
    out: dict[str, float] = {"fake_std": pixel_std(fake), "real_std": pixel_std(real)}
    for mode in D_MODES:
        # a fresh copy per mode: a training-mode forward moves BN's running statistics, which ``running`` reads
        discriminator = copy.deepcopy(module.discriminator).train(mode != "running")
        logits = discriminator(torch.cat([real, fake]))[len(real) :] if mode == "joint" else discriminator(fake)
        loss = F.softplus(-logits).mean()  # -log sigmoid(D(G(z))): the non-saturating G loss
        out[f"g_loss_{mode}"] = float(loss.detach())
        out[f"g_grad_{mode}"] = grad_norm(loss, params)
        if mode == "separate":
            out["d_fake"] = float(torch.sigmoid(logits.detach()).mean())
            with torch.no_grad():
                out["d_real"] = float(torch.sigmoid(discriminator(real)).mean())
    return out


class BNGradientProbe(Callback):
    """A Lightning callback: ``measure`` after every ``every``-th D update, on the step's real batch and a fixed batch
    of ``n`` z (the module's own prior, drawn once from a generator seeded with ``seed``: never the training RNG)."""

    def __init__(self, every: int, n: int, seed: int = PROBE_Z_SEED) -> None:
        super().__init__()
        self.every, self.n, self.seed = every, n, seed
        self.z: torch.Tensor | None = None
        self.trace: list[dict[str, float]] = []

    def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        d_steps = int(module.d_steps)
        if d_steps % self.every or (self.trace and self.trace[-1]["d_steps"] == d_steps):
            return
        if self.z is None:
            self.z = fixed_z(module, self.n, self.seed)
        with torch.random.fork_rng(devices=[]):
            values = measure(module, module.real_from_batch(batch), self.z)
        self.trace.append({"d_steps": d_steps, "g_steps": int(module.g_steps), **values})


def require_non_saturating_gan(cell_id: str, resolved: dict[str, Any]) -> None:
    """The probe measures the non-saturating G loss: refuse a cell trained with another objective."""
    objective = resolved["model"]["init_args"].get("objective", "non_saturating")
    if resolved["variant"] != "GAN" or objective != "non_saturating":
        raise SystemExit(
            f"{cell_id} is a {resolved['variant']} cell (objective {objective!r}): the probe measures the "
            "non-saturating G loss, so it takes GAN cells with objective non_saturating (e.g. gan_ns-s2)."
        )


def probe_cell(
    spec_path: str, cell_id: str, settings: dict[str, Any], d_steps: int | None, every: int, results_root: Path
) -> dict[str, Any]:
    from benchmarks.protocol import protocol

    spec, resolved = retrained_configuration(spec_path, cell_id, settings, d_steps, results_root)
    require_non_saturating_gan(cell_id, resolved)
    batch_size = int(resolved["data"].get("init_args", {}).get("batch_size", 64))
    probe = BNGradientProbe(every, batch_size)
    run_protocol = protocol(command=" ".join(["python -m benchmarks.bn_gradient_probe", *sys.argv[1:]]))
    start = time.perf_counter()
    _, _, training = train_cell(resolved, extra_callbacks=[probe])
    return {
        "schema": "bn_gradient_probe/1",
        "table": spec["name"],
        "cell": cell_id,
        "settings": settings,
        "resolved": resolved,
        "training": training,
        "probe": {"every_d_steps": every, "z_seed": PROBE_Z_SEED, "batch_size": batch_size, "d_modes": D_MODES},
        "trace": probe.trace,
        "protocol": run_protocol,
        "wall_time_s": round(time.perf_counter() - start, 3),
    }


def render(results_dir: Path) -> str:
    lines = [
        "# Default NS GAN: the gradient G gets through D's batch norm, along training",
        "",
        "Made by `python -m benchmarks.bn_gradient_probe` (see its docstring): one table cell retrained with its",
        "resolved configuration and seed (options changed only where a run says so), its budget cut where it says so.",
        "`fake std`: pixel std across a fixed-z fake batch ([-1, 1] units; the real batch's beside it). `|grad G|`:",
        "norm of the non-saturating G loss's gradient with respect to G's parameters, D in training mode on the fakes",
        "alone (`separate`, what a G update uses), on reals and fakes in one batch (`joint`), or in inference mode",
        "(`running`). `D(x)`, `D(G(z))`: mean sigmoid of D on the step's reals and on the fakes.",
        "",
    ]
    for path in sorted(results_dir.glob("*.json")):
        r = json.loads(path.read_text())
        lines += [
            *run_heading(r),
            "",
            "| D steps | fake std | real std | D(x) | D(G(z)) | \\|grad G\\| separate | joint | running "
            "| separate / joint |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        trace = r["trace"]
        stride = max(1, len(trace) // 16)
        shown = trace[stride - 1 :: stride]
        if trace and (not shown or shown[-1] is not trace[-1]):
            shown.append(trace[-1])
        for t in shown:
            ratio = t["g_grad_separate"] / t["g_grad_joint"] if t["g_grad_joint"] > 0 else float("nan")
            lines.append(
                f"| {t['d_steps']} | {t['fake_std']:.4f} | {t['real_std']:.4f} | {t['d_real']:.3f} | "
                f"{t['d_fake']:.3f} | {t['g_grad_separate']:.3g} | {t['g_grad_joint']:.3g} | "
                f"{t['g_grad_running']:.3g} | {ratio:.3g} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bn_gradient_probe", description=__doc__.split("\n")[0])
    add_cell_arguments(parser, cell_example="gan_ns-s2", set_example="d_norm=none")
    parser.add_argument("--every", type=int, default=100, help="measure every this many D updates")
    args = parser.parse_args(argv)
    settings = settings_from(args)
    result = None
    if not args.render_only:
        result = probe_cell(args.spec, args.cell, settings, args.d_steps, args.every, Path(args.results))
        for t in result["trace"][-3:]:
            print(t)
    write_and_render(args, "bn_gradient_probe", result, render)


if __name__ == "__main__":
    main()
