"""Inception-v3 feature extraction on CPU: torch-fidelity's net as it is vs ``fold_for_inference`` (batch norm
folded into the convolutions, channels_last), on the same images, with the FID each gives.

    python -m benchmarks.metrics_bench --inception 1000   # adds the section to benchmarks/results/metrics_bench.*

Both extractors load the same weights file (the converted fid-helper Inception of ``make inception``, or
torch-fidelity's). The first ``n`` Fashion-MNIST test images are the "real" set and the first ``n`` train images
the "fake" set; each extractor is timed on both (after one warm-up batch), and the FID of the two sets is
computed from each extractor's features. Reported: images/s of each, the speed-up, the largest feature
difference, both FIDs and their relative difference (the bar: 1.5x or more, FID equal to 1e-3 relative).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor

from datamodules.fashion_mnist import FashionMNISTData
from zoo.metrics.evaluation import extract
from zoo.metrics.inception import build_inception
from zoo.metrics.suite import MetricSuite


def fid(real: Tensor, fake: Tensor) -> float:
    suite = MetricSuite(["fid"], real.shape[1], 0)
    suite.update_real(real)
    suite.update_fake(fake, torch.zeros(len(fake), 0))
    return float(suite.compute()["fid"])


def inception_speed(data: FashionMNISTData, n: int, batch_size: int = 100) -> dict[str, Any]:
    """Time and compare the plain and the folded Inception on ``n`` test ("real") and ``n`` train ("fake")
    Fashion-MNIST images; see the module docstring."""
    images = {"real": data.real_samples("test", n), "fake": data.real_samples("train", n)}
    out: dict[str, Any] = {"n": n, "batch_size": batch_size, "torch_threads": torch.get_num_threads()}
    features: dict[str, dict[str, Tensor]] = {}
    for name, fast in (("plain", False), ("folded", True)):
        extractor = build_inception(download=False, fast=fast)
        extractor(images["real"][:batch_size])  # warm-up: oneDNN picks its kernels on the first batch
        start = time.perf_counter()
        features[name] = {split: extract(extractor, x, batch_size)[0] for split, x in images.items()}
        seconds = time.perf_counter() - start
        out[name] = {
            "inference": extractor.inference,
            "images_per_s": round(2 * n / seconds, 3),
            "seconds": round(seconds, 2),
            "fid": fid(features[name]["real"], features[name]["fake"]),
        }
        out["weights_sha256"] = extractor.weights_sha256
    out["speedup"] = round(out["folded"]["images_per_s"] / out["plain"]["images_per_s"], 3)
    out["max_abs_feature_difference"] = max(
        float((features["folded"][split] - features["plain"][split]).abs().max()) for split in images
    )
    out["fid_relative_difference"] = abs(out["folded"]["fid"] - out["plain"]["fid"]) / out["plain"]["fid"]
    return out


def render_inception_speed(result: dict[str, Any]) -> list[str]:
    """Markdown lines for the metrics benchmark page."""
    plain, folded = result["plain"], result["folded"]
    return [
        f"## Inception-v3 on CPU: {result['n']} test + {result['n']} train Fashion-MNIST images",
        "",
        f"Weights {result['weights_sha256'][:12]}...; batch {result['batch_size']}; torch threads "
        f"{result['torch_threads']}; CPU capability {result['cpu_capability']}.",
        "",
        "| extractor | images/s | FID (train vs test) |",
        "|---|---|---|",
        f"| torch-fidelity's net ({plain['inference']}) | {plain['images_per_s']:.2f} | {plain['fid']:.4f} |",
        f"| folded ({folded['inference']}) | {folded['images_per_s']:.2f} | {folded['fid']:.4f} |",
        "",
        f"Speed-up {result['speedup']:.2f}x (bar 1.5x: {'met' if result['speedup'] >= 1.5 else 'NOT met'}); "
        f"FID relative difference {result['fid_relative_difference']:.1e} (bar 1e-3: "
        f"{'met' if result['fid_relative_difference'] <= 1e-3 else 'NOT met'}); largest feature difference "
        f"{result['max_abs_feature_difference']:.1e}.",
        "",
    ]
