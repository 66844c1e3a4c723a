"""The zoo's training step with glibc's default allocator settings and with ``zoo.allocator.keep_freed_memory``.

    python -m benchmarks.allocator_bench [--nets lucic,dcgan28] [--steps 60] [--repeats 3]

Each measurement is a fresh process (``mallopt`` changes a process for good, so "default" must start clean, with
``GAN_ZOO_KEEP_FREED_MEMORY=0`` and no ``MALLOC_*_`` variables), the two settings interleaved repeat by repeat. A
process times ``benchmarks.throughput.zoo_timer`` (``Trainer.fit(GAN(...))`` on Fashion-MNIST from memory, batch 64,
fp32, GAN (non-saturating), the net family's settings from ``benchmarks.throughput.NETS``) and its ``StepTimer``
counts the minor page faults of the timed steps (``getrusage``). Writes ``benchmarks/results/allocator.{json,md}``;
the Markdown is rendered from the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.protocol import protocol, protocol_line

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
MODES = ("default", "keep_freed_memory")

#: one measurement, run in a fresh interpreter: argv = nets, steps, warmup, mode
CHILD = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
nets, steps, warmup, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if mode == "keep_freed_memory":
    from zoo.allocator import keep_freed_memory
    keep_freed_memory()
import lightning as L
from benchmarks.throughput import NETS, zoo_timer
from datamodules import FashionMNISTData
from zoo import GAN

L.seed_everything(0, verbose=False)
data = FashionMNISTData(batch_size=64)
data.setup("fit")
timer = zoo_timer(GAN(image_shape=data.image_shape, **NETS[nets]), data, steps, warmup, "32-true")
print(json.dumps({"ms_per_step": 1000 * (timer.end - timer.start) / timer.batches,
                  "faults_per_step": timer.faults / timer.batches}))
"""


def measure(nets: str, steps: int, warmup: int, mode: str) -> dict[str, float]:
    """One fresh process's ms/step and minor page faults/step."""
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    env.update(PYTHONPATH=str(ROOT), GAN_ZOO_KEEP_FREED_MEMORY="0")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, nets, str(steps), str(warmup), mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"allocator_bench child ({nets}, {mode}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "best_ms_per_step": min(r["ms_per_step"] for r in runs),
        "median_ms_per_step": statistics.median(r["ms_per_step"] for r in runs),
        "median_faults_per_step": statistics.median(r["faults_per_step"] for r in runs),
    }


def render(result: dict[str, Any]) -> str:
    """Markdown for an allocator result (every number from the JSON)."""
    from benchmarks.throughput import NET_LABELS

    proto = result["protocol"]
    lines = [
        "# CPU allocator: glibc defaults vs `zoo.allocator.keep_freed_memory()`",
        "",
        f"GAN (non-saturating), batch 64, fp32, `Trainer.fit` on Fashion-MNIST from memory; each number is one fresh "
        f"process timing {result['timed_steps']} steps after {result['warmup_steps']} warm-up, {result['repeats']} "
        "repeats per setting, the settings interleaved. CPU capability "
        f"{proto['hardware']['cpu_capability']}, torch threads {result['torch_threads']}. Page faults: minor faults "
        "of the timed steps (`getrusage`). The weights trained are the same with either setting "
        "(`tests/zoo/test_allocator.py`).",
        "",
        "| nets | setting | best ms/step | median ms/step | median page faults/step | speed-up (best) | "
        "speed-up (median) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for nets, row in result["nets"].items():
        base = row["default"]
        for mode in MODES:
            s = row[mode]
            lines.append(
                f"| {NET_LABELS[nets]} | {mode} | {s['best_ms_per_step']:.1f} | {s['median_ms_per_step']:.1f} | "
                f"{s['median_faults_per_step']:,.0f} | {base['best_ms_per_step'] / s['best_ms_per_step']:.2f}x | "
                f"{base['median_ms_per_step'] / s['median_ms_per_step']:.2f}x |"
            )
    lines += [
        "",
        protocol_line(proto),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.allocator_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--nets", default="lucic,dcgan28", help="comma-separated, from benchmarks.throughput.NETS")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "allocator.json"))
    args = parser.parse_args(argv)
    import torch

    wall = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "allocator",
        "timed_steps": args.steps,
        "warmup_steps": args.warmup,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "runs": {},
        "nets": {},
    }
    for nets in args.nets.split(","):
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for repeat in range(args.repeats):
            for mode in MODES:
                runs[mode].append(measure(nets, args.steps, args.warmup, mode))
            times = ", ".join(f"{mode} {r[-1]['ms_per_step']:.1f} ms" for mode, r in runs.items())
            print(f"{nets} repeat {repeat}: {times}", flush=True)
        result["runs"][nets] = runs
        result["nets"][nets] = {mode: summarize(runs[mode]) for mode in MODES}
    result["protocol"] = protocol(wall_time_s=round(time.perf_counter() - wall, 1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(result))
    print(render(result))


if __name__ == "__main__":
    main()
