"""Throughput of the zoo's training step against a hand loop, a reference-style loop and the machine's peak.

    python -m benchmarks.throughput [--nets dcgan28,lucic] [--precisions auto] [--steps 40] [--repeats 3]
                                    [--compile] [--out benchmarks/results/throughput.json]

For each net family (``dcgan28``: the DCGAN-28 nets of ``GAN()``'s defaults, width 64, z in R^100; ``lucic``:
the InfoGAN-style nets of Lucic et al. 2018, ``configs/gan/fashion_mnist_lucic.yaml``) and precision (fp32, and
bf16-mixed where the device has native bf16, ``zoo.precision.native_bf16``), one process times, in interleaved
repeats, the same GAN (non-saturating) updates at batch 64 on Fashion-MNIST from the same initial weights:

* ``zoo``: ``Trainer.fit(GAN(...), FashionMNISTData)``, timed between training batches (startup excluded);
* ``hand``: the same updates as a plain PyTorch loop (``benchmarks.step_loops.hand_step``);
* ``reference``: the gradient flow common in public implementations (``benchmarks.step_loops.reference_step``:
  the D update backpropagates through G, the G update computes D's weight gradients), with the optimizer those
  construct, ``torch.optim.Adam(params, lr, betas)``: torch's default implementation (a per-tensor loop on CPU),
  where the zoo and the hand loop use the zoo's (fused where the device has the kernel; ``fused_optimizer``).

FLOPs per step are counted with ``torch.utils.flop_counter.FlopCounterMode`` (the zoo's on a real training
batch inside the Trainer; the loops' on one step), and achieved FLOP/s = FLOPs per step x steps/s is reported as
a fraction of the measured peak (``benchmarks.roofline``: the best large ``torch.mm`` in that dtype). For the
first configuration the data paths are timed too: the hand loop fed by torchvision's ``FashionMNIST`` through a
``DataLoader``, and both data paths alone. Writes benchmarks/results/throughput.json and the Markdown rendered
from it. On a GPU the same command measures the GPU (``--compile`` adds compiled-net rows).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch

from benchmarks.protocol import protocol, protocol_line
from benchmarks.roofline import matmul_peak
from benchmarks.step_loops import STEPS, StepTimer, loop_run, step_flops
from datamodules import FashionMNISTData
from datamodules.base import to_unit_range
from datamodules.fashion_mnist import DEBIAN_DIR
from zoo import GAN
from zoo.allocator import keep_freed_memory_unless_opted_out
from zoo.precision import cpu_bf16_units, native_bf16

warnings.filterwarnings("ignore")
RESULTS = Path(__file__).parent / "results"

#: the net families timed, as ``GAN`` keyword arguments (image shape from the data)
NETS: dict[str, dict[str, Any]] = {
    "dcgan28": {"objective": "non_saturating"},
    "lucic": {
        "objective": "non_saturating",
        "nets": "infogan",
        "latent_dim": 64,
        "latent_distribution": "uniform",
        "lr": 5e-5,
        "betas": (0.0, 0.999),
    },
}
NET_LABELS = {
    "dcgan28": "DCGAN-28 (width 64, z 100)",
    "lucic": "InfoGAN-style (Lucic et al., z 64)",
}
PATHS = ("zoo", "zoo_channels_last", "hand", "reference")
DTYPES = {"32-true": torch.float32, "bf16-mixed": torch.bfloat16}


def zoo_run(
    template: GAN, data: FashionMNISTData, steps: int, warmup: int, precision: str, channels_last: bool = False
) -> tuple[float, int]:
    """Images/s of the zoo's step under ``Trainer(precision=...)``, and the FLOPs of one of its steps."""
    timer = zoo_timer(template, data, steps, warmup, precision, channels_last)
    return timer.batches * data.batch_size / (timer.end - timer.start), timer.flops


def zoo_timer(
    template: GAN, data: FashionMNISTData, steps: int, warmup: int, precision: str, channels_last: bool = False
) -> StepTimer:
    """``Trainer.fit`` of a copy of ``template`` for ``warmup + steps`` batches; returns its ``StepTimer``."""
    model = copy.deepcopy(template)
    model.hparams["channels_last"] = channels_last
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        precision=precision,
        max_epochs=1,
        limit_train_batches=steps + warmup,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(model, data)
    return timer


def loop_nets(template: GAN, device: torch.device, torch_default_optimizer: bool = False):
    """A fresh copy of the template's nets and optimizers on ``device``, and its noise sampler; the nets are
    compiled when the template asks for it, as the zoo's ``setup()`` does, so compiled rows compare like with like.
    ``torch_default_optimizer``: the optimizers public implementations build (torch's default implementation, not
    the zoo's fused one)."""
    model = copy.deepcopy(template).to(device)
    if torch_default_optimizer:
        model.hparams["fused_optimizer"] = False
    if template.hparams.get("compile"):
        model._compile_networks()
    opt_g, opt_d = model.configure_optimizers()
    return (model.generator, model.discriminator, opt_g, opt_d), (lambda n: model.sample_z(n).to(device))


def time_configuration(
    name: str, precision: str, compile_nets: bool, data: FashionMNISTData, memory, args, device
) -> dict[str, Any]:
    """Interleaved repeats of the three paths for one net family and precision."""
    template = GAN(image_shape=data.image_shape, compile=compile_nets, **NETS[name])
    runs: dict[str, list[float]] = {path: [] for path in PATHS}
    flops: dict[str, int] = {}
    for repeat in range(args.repeats):
        for path in ("zoo", "zoo_channels_last"):
            images_per_s, flops[path] = zoo_run(
                template, data, args.steps, args.warmup, precision, channels_last=path == "zoo_channels_last"
            )
            runs[path].append(images_per_s)
        for path, step in STEPS.items():
            nets, noise = loop_nets(template, device, torch_default_optimizer=path == "reference")
            if repeat == 0:
                flops[path] = step_flops(step, nets, noise, next(memory), device, precision)
            runs[path].append(loop_run(step, nets, noise, memory, args.steps, args.warmup, device, precision))
        print(f"{name} {precision} repeat {repeat}: " + ", ".join(f"{k} {v[-1]:.0f} img/s" for k, v in runs.items()))
    return {
        "nets": name,
        "precision": precision,
        "compile": compile_nets,
        "images_per_s": runs,
        "flops_per_step": flops,
    }


def derive(config: dict[str, Any], peaks: dict[str, dict[str, Any]], batch_size: int) -> None:
    """Summaries of a configuration's repeats, in place. The estimate is the *best* repeat: on a shared machine
    noise only ever slows a run down (another tenant, a migrated vCPU), so the fastest repeat is the closest to
    what the code can do, and the median is kept beside it. Ratios and achieved FLOP/s use the best repeats; the
    paired ratio (the median over repeats of that repeat's zoo / reference, timed back to back) is kept beside it,
    since it cancels slow phases of the machine that span a repeat;
    achieved FLOP/s = the path's FLOPs per step x its steps/s, as a fraction of the measured peak."""
    runs = config["images_per_s"]
    config["median_images_per_s"] = {path: statistics.median(v) for path, v in runs.items()}
    best = config["best_images_per_s"] = {path: max(v) for path, v in runs.items()}
    config["zoo_over_reference"] = best["zoo"] / best["reference"]
    config["zoo_channels_last_over_reference"] = best["zoo_channels_last"] / best["reference"]
    config["zoo_over_hand"] = best["zoo"] / best["hand"]
    for path in ("zoo", "zoo_channels_last"):  # paired: each repeat's ratio, then their median
        paired = [a / b for a, b in zip(runs[path], runs["reference"])]
        config[f"{path}_over_reference_paired"] = statistics.median(paired)
    peak = peaks[config["precision"]]["flops_per_s"]
    config["achieved_flops_per_s"] = {path: config["flops_per_step"][path] * best[path] / batch_size for path in PATHS}
    config["fraction_of_peak"] = {path: v / peak for path, v in config["achieved_flops_per_s"].items()}


def bf16_speedups(configurations: list[dict[str, Any]]) -> dict[str, float]:
    """Best zoo images/s in bf16-mixed over fp32, per net family (uncompiled)."""
    zoo = {(c["nets"], c["precision"]): c["best_images_per_s"]["zoo"] for c in configurations if not c["compile"]}
    return {
        nets: zoo[(nets, "bf16-mixed")] / zoo[(nets, "32-true")]
        for nets, precision in zoo
        if precision == "32-true" and (nets, "bf16-mixed") in zoo
    }


def in_memory_batches(data: FashionMNISTData, device: torch.device):
    while True:
        for images, _ in data.train_dataloader():
            yield to_unit_range(images.to(device, non_blocking=True))


def torchvision_batches(root: Path, batch_size: int, workers: int, device: torch.device):
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST

    dataset = FashionMNIST(
        str(root),
        train=True,
        download=False,
        transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]),
    )
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )
    while True:
        for images, _ in loader:
            yield images.to(device, non_blocking=True)


def data_only(batches, steps: int) -> float:
    next(batches)
    start = time.perf_counter()
    n = sum(len(next(batches)) for _ in range(steps))
    return n / (time.perf_counter() - start)


def torchvision_root(data_dir: str) -> Path:
    """torchvision's FashionMNIST layout (root/FashionMNIST/raw/*-ubyte) made from the Debian .gz files."""
    root = Path(tempfile.mkdtemp(prefix="fmnist-tv-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in Path(data_dir).glob("*-ubyte.gz"):
        with gzip.open(gz, "rb") as src, open(raw / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def precisions_for(device: torch.device, requested: str) -> list[str]:
    """``auto``: fp32, plus bf16-mixed where the device has native bf16."""
    if requested != "auto":
        return requested.split(",")
    return ["32-true"] + (["bf16-mixed"] if native_bf16(device) else [])


def optimizer_implementations(data: FashionMNISTData, device: torch.device) -> dict[str, str]:
    """Which Adam implementation each path's optimizers use (read off the optimizers the paths build)."""
    template = GAN(image_shape=data.image_shape, **NETS["dcgan28"])

    def implementation(torch_default: bool) -> str:
        (_, _, opt_g, _), _ = loop_nets(template, device, torch_default_optimizer=torch_default)
        if opt_g.param_groups[0].get("fused"):
            return "fused"
        return f"torch default ({'foreach' if device.type == 'cuda' else 'per-tensor loop'})"

    zoo = implementation(False)
    return {"zoo": zoo, "zoo_channels_last": zoo, "hand": zoo, "reference": implementation(True)}


def paired(config: dict, path: str) -> str:
    """The paired zoo / reference ratio of ``path`` for a table cell, or n/a for results made before it existed."""
    value = config.get(f"{path}_over_reference_paired")
    return "n/a" if value is None else f"{value:.2f}x"


def optimizer_sentence(optimizers: dict[str, str] | None) -> str:
    """Which Adam each path used; results made before the zoo's fused optimizer all used torch's default."""
    if not optimizers:
        return " Every path used torch's default Adam (results made before the zoo's `fused_optimizer`)."
    return (
        f" Adam: {optimizers['zoo']} in the zoo and hand loop; {optimizers['reference']} in the reference-style "
        "loop, the `torch.optim.Adam(params, lr, betas)` public implementations build."
    )


def render(result: dict) -> str:
    """Markdown for a throughput result (the numbers come from the JSON, never typed)."""
    proto, peaks = result["protocol"], result["peak"]
    lines = [
        f"# Throughput: GAN (non-saturating), batch {result['batch_size']}, {result['device_name']}",
        "",
        f"CPU capability {proto['hardware']['cpu_capability']}, bf16 units {result['bf16_units']}, "
        f"torch threads {proto['hardware']['torch_threads']}. Images/s: the best of {result['repeats']} "
        f"interleaved repeats of {result['timed_steps']} steps (after {result['warmup_steps']} warm-up), median in "
        "parentheses (noise on a shared machine only slows a repeat down; ratios and FLOP/s use the best; in "
        "parentheses after a ratio, the paired estimate: the median over repeats of each repeat's own ratio); one "
        "step = one D and one G update. FLOPs counted by `torch.utils.flop_counter` (matmuls and convolutions, "
        "forward and backward)." + optimizer_sentence(result.get("optimizers")),
        "",
        "| nets | precision | compile | zoo img/s | zoo, channels_last img/s | hand img/s | reference-style img/s | "
        "zoo / reference (paired) | zoo channels_last / reference (paired) | GFLOP/step zoo | GFLOP/step reference | "
        "zoo GFLOP/s | zoo fraction of peak | zoo channels_last fraction of peak |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in result["configurations"]:
        f = c["flops_per_step"]
        m = {path: f"{c['best_images_per_s'][path]:,.0f} ({c['median_images_per_s'][path]:,.0f})" for path in PATHS}
        lines.append(
            f"| {NET_LABELS[c['nets']]} | {c['precision']} | {'yes' if c['compile'] else 'no'} | {m['zoo']} | "
            f"{m['zoo_channels_last']} | {m['hand']} | {m['reference']} | "
            f"{c['zoo_over_reference']:.2f}x ({paired(c, 'zoo')}) | "
            f"{c['zoo_channels_last_over_reference']:.2f}x ({paired(c, 'zoo_channels_last')}) | {f['zoo'] / 1e9:.2f} | "
            f"{f['reference'] / 1e9:.2f} | {c['achieved_flops_per_s']['zoo'] / 1e9:.1f} | "
            f"{c['fraction_of_peak']['zoo']:.1%} | {c['fraction_of_peak']['zoo_channels_last']:.1%} |"
        )
    lines += ["", "| measured peak (best `torch.mm`) | n | GFLOP/s |", "|---|---:|---:|"]
    lines += [f"| {p} ({v['dtype']}) | {v['n']} | {v['flops_per_s'] / 1e9:.1f} |" for p, v in peaks.items()]
    if result["bf16_speedup"]:
        lines += ["", "| nets | bf16-mixed speed-up of the zoo step over fp32 |", "|---|---:|"]
        lines += [f"| {NET_LABELS[k]} | {v:.2f}x |" for k, v in result["bf16_speedup"].items()]
    lines.append("")
    for path, layout in (("zoo", "default layout"), ("zoo_channels_last", "channels_last")):
        configurations = result["configurations"]
        ratios = [c[f"{path}_over_reference"] for c in configurations]
        pairs = [c[f"{path}_over_reference_paired"] for c in configurations if f"{path}_over_reference_paired" in c]
        lines.append(
            f"Bar, zoo step ({layout}) >= 1.2x the reference-style loop at equal nets and precision: "
            f"{'met' if min(ratios) >= 1.2 else 'NOT met'} (lowest {min(ratios):.2f}x"
            + (f"; paired, lowest {min(pairs):.2f}x" if pairs else "")
            + ").  "
        )
    if result.get("data_paths"):
        d = result["data_paths"]
        lines += [
            "",
            f"## Data paths ({NET_LABELS[d['nets']]}, {d['precision']}, {d['dataloader_workers']} DataLoader workers)",
            "",
            "| path | median images/s |",
            "|---|---:|",
            f"| hand loop fed by torchvision FashionMNIST + DataLoader | {d['median']['dataloader']:,.0f} |",
            f"| data path alone: in-memory batches | {d['median']['data_in_memory']:,.0f} |",
            f"| data path alone: torchvision + DataLoader | {d['median']['data_dataloader']:,.0f} |",
        ]
    lines += [
        "",
        protocol_line(proto),
        "",
    ]
    return "\n".join(lines)


def time_data_paths(data, memory, args, device, precision: str) -> dict[str, Any]:
    """The hand loop fed by torchvision + DataLoader, and both data paths alone (first configuration only)."""
    tv_root = torchvision_root(args.data_dir)
    loader = torchvision_batches(tv_root, args.batch_size, args.workers, device)
    template = GAN(image_shape=data.image_shape, **NETS["dcgan28"])
    runs: dict[str, list[float]] = {"dataloader": [], "data_in_memory": [], "data_dataloader": []}
    for _ in range(args.repeats):
        nets, noise = loop_nets(template, device)
        runs["dataloader"].append(
            loop_run(STEPS["hand"], nets, noise, loader, args.steps, args.warmup, device, precision)
        )
        runs["data_in_memory"].append(data_only(memory, args.steps * 4))
        runs["data_dataloader"].append(data_only(loader, args.steps * 4))
    shutil.rmtree(tv_root, ignore_errors=True)
    return {
        "nets": "dcgan28",
        "precision": precision,
        "dataloader_workers": args.workers,
        "images_per_s": runs,
        "median": {k: statistics.median(v) for k, v in runs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nets", default="dcgan28,lucic", help=f"comma-separated, from {', '.join(NETS)}")
    parser.add_argument("--precisions", default="auto", help="auto, or comma-separated from 32-true, bf16-mixed")
    parser.add_argument("--compile", action="store_true", help="also time every configuration with compiled nets")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-data-paths", action="store_true", help="skip the DataLoader comparison")
    parser.add_argument("--data-dir", default=DEBIAN_DIR)
    parser.add_argument("--out", default=str(RESULTS / "throughput.json"))
    parser.add_argument("--rerender", action="store_true", help="recompute summaries and Markdown of --out only")
    args = parser.parse_args()
    if args.rerender:
        return rerender(Path(args.out))
    keep_freed_memory_unless_opted_out()  # every path alike: a process-wide allocator setting (zoo/allocator.py)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    L.seed_everything(0, verbose=False)
    data = FashionMNISTData(data_dir=args.data_dir, batch_size=args.batch_size)
    data.setup("fit")
    memory = in_memory_batches(data, device)
    precisions = precisions_for(device, args.precisions)
    wall = time.perf_counter()
    peaks = {p: matmul_peak(DTYPES[p], device) for p in precisions}
    configurations = [
        time_configuration(name, precision, compiled, data, memory, args, device)
        for name in args.nets.split(",")
        for precision in precisions
        for compiled in ((False, True) if args.compile else (False,))
    ]
    for config in configurations:
        derive(config, peaks, args.batch_size)
    result = {
        "benchmark": "throughput",
        "variant": "GAN (non-saturating)",
        "dataset": "Fashion-MNIST train (Debian dataset-fashion-mnist), served from memory",
        "batch_size": args.batch_size,
        "timed_steps": args.steps,
        "warmup_steps": args.warmup,
        "repeats": args.repeats,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU ({device})",
        "bf16_units": cpu_bf16_units() if device.type == "cpu" else {"native": native_bf16(device)},
        "peak": peaks,
        "optimizers": optimizer_implementations(data, device),
        "configurations": configurations,
        "bf16_speedup": bf16_speedups(configurations),
        "data_paths": None if args.no_data_paths else time_data_paths(data, memory, args, device, "32-true"),
        "protocol": protocol(wall_time_s=round(time.perf_counter() - wall, 1)),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(render(result))
    print(render(result))


def rerender(path: Path) -> None:
    """Recompute the summaries of a result from its raw repeats (after a change of estimator) and render it."""
    result = json.loads(path.read_text())
    for config in result["configurations"]:
        derive(config, result["peak"], result["batch_size"])
    result["bf16_speedup"] = bf16_speedups(result["configurations"])
    path.write_text(json.dumps(result, indent=2) + "\n")
    path.with_suffix(".md").write_text(render(result))
    print(render(result))


if __name__ == "__main__":
    main()
