"""Benchmark: time FID + KID + IS for 10k fake vs 10k real Fashion-MNIST images with the domain extractor.

    python -m benchmarks.metrics_bench            # (make bench) writes benchmarks/results/metrics_bench.{json,md}
    python -m benchmarks.metrics_bench --inception 1000   # only the Inception-on-CPU section (needs make inception)

The real test-split statistics are cached (``zoo.metrics.real_stats``): one cold run fills the cache, then
``--repeats`` warm runs with different seeds are timed; the target is < 20 s per warm run on 2 CPU cores.
Timed: drawing 10k samples from a DCGAN generator (latent 64, width 32; untrained, which does not change
the cost), extracting their features, and computing FID, KID (100 subsets of 1000) and IS (10 splits).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.inception_speed import inception_speed, render_inception_speed
from benchmarks.protocol import git_sha, hardware
from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from zoo import GAN
from zoo.allocator import keep_freed_memory_unless_opted_out
from zoo.metrics.evaluation import evaluate_generator
from zoo.metrics.extractors import build_extractor
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.settings import MetricSettings

RESULTS = Path(__file__).resolve().parent / "results"


def render(result: dict) -> str:
    if "timing_s" not in result:  # only the Inception section was run (``--inception N`` into a new file)
        return render_inception_only(result["inception_cpu"])
    p, t = result["protocol"], result["timing_s"]
    lines = [
        "# Metrics benchmark: FID + KID + IS, 10k fake vs 10k real (fashion-domain extractor)",
        "",
        f"Command: `{result['command']}`; {result['hardware']['cpu_count']} CPU cores, torch threads "
        f"{result['hardware']['torch_threads']}; extractor {p['extractor']} ({p['extractor_sha256'][:12]}...).",
        "",
        "| run | wall time (s) | real features (s) | generate + extract (s) | compute (s) |",
        "|---|---|---|---|---|",
        f"| cold (fills the cache) | {t['cold']:.2f} | {result['cold_breakdown']['real_s']:.2f} | "
        f"{result['cold_breakdown']['fake_s']:.2f} | {result['cold_breakdown']['compute_s']:.2f} |",
        f"| warm, mean ± std over {len(t['warm'])} seeds | {t['warm_mean']:.2f} ± {t['warm_std']:.2f} | "
        f"{result['warm_breakdown']['real_s']:.2f} | {result['warm_breakdown']['fake_s']:.2f} | "
        f"{result['warm_breakdown']['compute_s']:.2f} |",
        "",
        f"Target: warm run under 20 s: {'met' if t['warm_mean'] < 20 else 'NOT met'}.",
        "",
    ]
    if "inception_cpu" in result:
        lines += render_inception_speed(result["inception_cpu"])
    return "\n".join(lines)


def render_inception_only(section: dict) -> str:
    """The page of a result that holds only the Inception-speed section (e.g. a second machine's)."""
    hw = section["hardware"]
    lines = [
        f"# Inception-v3 extraction speed, CPU: {hw['cpu_model']}",
        "",
        f"Command: `{section['command']}`; git {section['git_sha']}; wall time {section['wall_time_s']} s; "
        f"load average (1 min) {section['load_average_1m']}; bf16 units {hw['cpu_bf16_units']}.",
        "",
        *render_inception_speed(section),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.metrics_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--num", type=int, default=10000, help="fake and real sample count")
    parser.add_argument("--repeats", type=int, default=3, help="timed warm runs (seeds 0..repeats-1)")
    parser.add_argument("--data-dir", default=DEBIAN_DIR)
    parser.add_argument("--cache-dir", default=None, help="real-statistics cache (default: a fresh temp dir)")
    parser.add_argument("--out", default=str(RESULTS / "metrics_bench.json"))
    parser.add_argument(
        "--inception", type=int, default=0, metavar="N", help="only time Inception plain vs folded on N + N images"
    )
    args = parser.parse_args(argv)
    keep_freed_memory_unless_opted_out()  # a process-wide allocator setting (zoo/allocator.py)
    if args.inception:
        return inception_section(args)
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="gan-zoo-bench-")
    torch.manual_seed(0)
    data = FashionMNISTData(data_dir=args.data_dir)
    model = GAN(image_shape=(1, 28, 28), latent_dim=64, width=32).eval()
    extractor = build_extractor("fashion-domain")
    cache = RealStatsCache(cache_dir)

    def timed(seed: int) -> tuple[float, dict, dict]:
        settings = MetricSettings(("fid", "kid", "is"), num_fake=args.num, num_real=args.num, split="test", seed=seed)
        start = time.perf_counter()
        values, protocol = evaluate_generator(model, data, settings, extractor=extractor, cache=cache)
        return time.perf_counter() - start, values, protocol

    cold, _, cold_protocol = timed(0)
    print(f"cold run (computes and caches the real statistics): {cold:.2f} s {cold_protocol['timings_s']}")
    warm, protocols, values = [], [], []
    for seed in range(args.repeats):
        seconds, v, protocol = timed(seed)
        assert protocol["real_stats_cached"], "the warm run did not hit the real-statistics cache"
        warm.append(seconds)
        protocols.append(protocol)
        values.append(v)
        print(f"warm run, seed {seed}: {seconds:.2f} s {protocol['timings_s']} {v}")
    breakdown = {k: statistics.mean(p["timings_s"][k] for p in protocols) for k in ("real_s", "fake_s", "compute_s")}
    protocol = {k: v for k, v in protocols[-1].items() if k not in ("timings_s", "seed", "real_stats_cached")}
    result = {
        "command": " ".join(["python -m benchmarks.metrics_bench", *(sys.argv[1:] if argv is None else argv)]),
        "protocol": {**protocol, "seeds": list(range(args.repeats)), "generator": "GAN(latent_dim=64, width=32)"},
        "timing_s": {
            "cold": round(cold, 3),
            "warm": [round(s, 3) for s in warm],
            "warm_mean": round(statistics.mean(warm), 3),
            "warm_std": round(statistics.stdev(warm), 3) if len(warm) > 1 else 0.0,
        },
        "cold_breakdown": cold_protocol["timings_s"],
        "warm_breakdown": {k: round(v, 3) for k, v in breakdown.items()},
        "values": values,
        "target_s": 20,
        "git_sha": git_sha(),
        "hardware": {**hardware(), "load_average_1m": round(os.getloadavg()[0], 2)},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(result))
    print(render(result))
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return result


def inception_section(args: argparse.Namespace) -> dict:
    """Run ``benchmarks.inception_speed`` and put it into the existing result (the domain benchmark is kept)."""
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.is_file() else {}
    start = time.perf_counter()
    section = inception_speed(FashionMNISTData(data_dir=args.data_dir), args.inception)
    section.update(
        command=" ".join(["python -m benchmarks.metrics_bench", *sys.argv[1:]]),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        load_average_1m=round(os.getloadavg()[0], 2),
        wall_time_s=round(time.perf_counter() - start, 1),
        git_sha=git_sha(),
        hardware=hardware(),
    )
    result["inception_cpu"] = section
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(result))
    print("\n".join(render_inception_speed(section)))
    return result


if __name__ == "__main__":
    main()
