"""Throughput: the zoo's Lightning training step vs a hand-written PyTorch loop vs a DataLoader data path.

    python -m benchmarks.throughput [--variant GAN] [--steps 60] [--repeats 3] [--batch-size 64]

One process, interleaved repeats, same nets (same init), optimizers and batch size:
  (a) ``zoo``: ``Trainer.fit(variant, FashionMNISTData)``, timed between training batches (startup excluded);
  (b) ``hand``: a plain PyTorch loop doing the same D and G updates, fed from the in-memory tensor;
  (c) ``dataloader``: the hand loop fed by torchvision's ``FashionMNIST`` + ``ToTensor``/``Normalize`` through a
      ``DataLoader`` (workers, pinned memory) instead of the in-memory path;
plus the data paths alone (no training). Prints images/s and ratios; writes benchmarks/results/throughput.json
and the Markdown rendered from it (throughput.md).
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

import lightning as L
import torch
import torch.nn.functional as F

from benchmarks.protocol import protocol
from datamodules import FashionMNISTData
from datamodules.base import to_unit_range
from datamodules.fashion_mnist import DEBIAN_DIR
from zoo import GAN

warnings.filterwarnings("ignore")
RESULTS = Path(__file__).parent / "results"


class StepTimer(L.Callback):
    """Wall time of training batches ``skip`` .. end (excludes startup and warm-up)."""

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.start = 0.0
        self.end = 0.0
        self.batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.skip:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.end = time.perf_counter()
        self.batches = batch_idx + 1 - self.skip


def zoo_run(template: GAN, data: FashionMNISTData, steps: int, warmup: int) -> float:
    model = copy.deepcopy(template)
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="auto",
        devices=1,
        max_epochs=1,
        limit_train_batches=steps + warmup,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(model, data)
    return timer.batches * data.batch_size / (timer.end - timer.start)


def hand_step(G, D, opt_g, opt_d, real: torch.Tensor, latent_dim: int) -> None:
    """One D update then one G update, as ``zoo.GAN`` (non-saturating) does them."""
    n = len(real)
    opt_d.zero_grad(set_to_none=True)
    with torch.no_grad():
        fake = G(torch.randn(n, latent_dim, device=real.device))
    (F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()).backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_g.zero_grad(set_to_none=True)
    F.softplus(-D(G(torch.randn(n, latent_dim, device=real.device)))).mean().backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)


def hand_run(template: GAN, batches, steps: int, warmup: int, device: torch.device) -> float:
    model = copy.deepcopy(template).to(device)
    G, D = model.generator, model.discriminator
    opt_g, opt_d = (o for o in model.configure_optimizers())
    it = iter(batches)
    start = 0.0
    count = 0
    for i in range(steps + warmup):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        real = next(it)
        hand_step(G, D, opt_g, opt_d, real, model.hparams.latent_dim)
        count += len(real) if i >= warmup else 0
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count / (time.perf_counter() - start)


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


def render(result: dict) -> str:
    """Markdown for a throughput result (the numbers come from the JSON, never typed)."""
    med, runs, proto = result["median_images_per_s"], result["images_per_s"], result["protocol"]
    labels = {
        "zoo": "zoo training step under Lightning (in-memory data)",
        "hand": "hand-written PyTorch loop (in-memory data)",
        "dataloader": "hand-written loop fed by torchvision FashionMNIST + DataLoader",
        "data_in_memory": "data path alone: in-memory batches",
        "data_dataloader": "data path alone: torchvision + DataLoader",
    }
    lines = [
        f"# Throughput: {result['variant']}, batch {result['batch_size']}, device {result['device']}",
        "",
        "| path | median images/s | repeats |",
        "|---|---:|---|",
    ]
    lines += [f"| {labels[k]} | {med[k]:,.0f} | {', '.join(f'{v:,.0f}' for v in runs[k])} |" for k in labels]
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in result["ratios"].items()]
    lines += [
        "",
        f"Protocol: {result['timed_steps']} timed steps after {result['warmup_steps']} warm-up, "
        f"{result['repeats']} interleaved repeats, {result['dataloader_workers']} DataLoader workers; "
        f"command `{proto['command']}`; git `{proto['git_sha']}`; hardware {proto['hardware']}; "
        f"versions {proto['versions']}; wall {proto['wall_time_s']} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", default=DEBIAN_DIR)
    parser.add_argument("--out", default=str(RESULTS / "throughput.json"))
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    L.seed_everything(0, verbose=False)
    data = FashionMNISTData(data_dir=args.data_dir, batch_size=args.batch_size)
    data.setup("fit")
    template = GAN(image_shape=data.image_shape)  # DCGAN-28, width 64, z in R^100, Adam 2e-4
    tv_root = torchvision_root(args.data_dir)
    memory = in_memory_batches(data, device)
    loader = torchvision_batches(tv_root, args.batch_size, args.workers, device)
    runs: dict[str, list[float]] = {
        "zoo": [],
        "hand": [],
        "dataloader": [],
        "data_in_memory": [],
        "data_dataloader": [],
    }
    wall = time.perf_counter()
    for repeat in range(args.repeats):
        runs["zoo"].append(zoo_run(template, data, args.steps, args.warmup))
        runs["hand"].append(hand_run(template, memory, args.steps, args.warmup, device))
        runs["dataloader"].append(hand_run(template, loader, args.steps, args.warmup, device))
        runs["data_in_memory"].append(data_only(memory, args.steps * 4))
        runs["data_dataloader"].append(data_only(loader, args.steps * 4))
        print(f"repeat {repeat}: " + ", ".join(f"{k} {v[-1]:.0f} img/s" for k, v in runs.items()), flush=True)
    median = {k: statistics.median(v) for k, v in runs.items()}
    ratios = {
        "zoo_step_time_over_hand": median["hand"] / median["zoo"],
        "in_memory_over_dataloader_training": median["hand"] / median["dataloader"],
        "in_memory_over_dataloader_data_only": median["data_in_memory"] / median["data_dataloader"],
    }
    result = {
        "benchmark": "throughput",
        "variant": "GAN (non-saturating), DCGAN-28 nets, width 64, latent 100",
        "dataset": "Fashion-MNIST train (Debian dataset-fashion-mnist)",
        "batch_size": args.batch_size,
        "timed_steps": args.steps,
        "warmup_steps": args.warmup,
        "repeats": args.repeats,
        "dataloader_workers": args.workers,
        "device": str(device),
        "images_per_s": runs,
        "median_images_per_s": median,
        "ratios": ratios,
        "protocol": protocol(wall_time_s=round(time.perf_counter() - wall, 1)),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out).with_suffix(".md").write_text(render(result))
    print(json.dumps({"median_images_per_s": median, "ratios": ratios}, indent=2))
    shutil.rmtree(tv_root, ignore_errors=True)


if __name__ == "__main__":
    main()
