"""Inception-v3 feature extraction on CPU: torch-fidelity's net as it is vs ``fold_for_inference`` (batch norm
folded into the convolutions, channels_last), on the same images, with the FID each gives.

    python -m benchmarks.metrics_bench --inception 1000   # adds the section to benchmarks/results/metrics_bench.*

Both extractors load the same weights file (the converted fid-helper Inception of ``make inception``, or
torch-fidelity's). The first ``n`` Fashion-MNIST test images are the "real" set and the first ``n`` train images
the "fake" set; each extractor is timed on both (after one warm-up batch), and the FID of the two sets is
computed from each extractor's features. Reported: images/s of each, the speed-up, the largest feature
difference, both FIDs and their relative difference (the bar: 1.5x or more, FID equal to 1e-3 relative). Where
the CPU has native bf16 (``zoo.precision.native_bf16``) the folded net is also timed under
``torch.autocast("cpu", dtype=torch.bfloat16)``, with the FID difference bf16 causes (issue 19).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import torch
from torch import Tensor

from datamodules.fashion_mnist import FashionMNISTData
from zoo.metrics.evaluation import extract
from zoo.metrics.inception import build_inception
from zoo.metrics.suite import MetricSuite
from zoo.precision import native_bf16

#: (name, fold batch norm, autocast dtype): the plain net, the folded one, and the folded one under bf16 autocast
#: (the last only where the CPU has native bf16; numbers for papers stay fp32)
RUNS = (("plain", False, None), ("folded", True, None), ("folded_bf16", True, torch.bfloat16))


def autocast_cpu(dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=dtype) if dtype is not None else contextlib.nullcontext()


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
    for name, fast, dtype in RUNS:
        if dtype is torch.bfloat16 and not native_bf16("cpu"):
            continue  # emulated bf16 is slower than fp32: nothing to measure (zoo.precision)
        extractor = build_inception(download=False, fast=fast)
        with autocast_cpu(dtype):
            extractor(images["real"][:batch_size])  # warm-up: oneDNN picks its kernels on the first batch
            start = time.perf_counter()
            features[name] = {split: extract(extractor, x, batch_size)[0].float() for split, x in images.items()}
            seconds = time.perf_counter() - start
        out[name] = {
            "inference": extractor.inference.replace("fp32", "bf16 autocast") if dtype else extractor.inference,
            "images_per_s": round(2 * n / seconds, 3),
            "seconds": round(seconds, 2),
            "fid": fid(features[name]["real"], features[name]["fake"]),
        }
        out["weights_sha256"] = extractor.weights_sha256
    if "folded_bf16" in out:
        out["bf16_speedup_over_folded"] = round(out["folded_bf16"]["images_per_s"] / out["folded"]["images_per_s"], 3)
        out["bf16_fid_relative_difference"] = (
            abs(out["folded_bf16"]["fid"] - out["folded"]["fid"]) / out["folded"]["fid"]
        )
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
        *bf16_row(result),
        "",
        f"Speed-up {result['speedup']:.2f}x (bar 1.5x: {'met' if result['speedup'] >= 1.5 else 'NOT met'}); "
        f"FID relative difference {result['fid_relative_difference']:.1e} (bar 1e-3: "
        f"{'met' if result['fid_relative_difference'] <= 1e-3 else 'NOT met'}); largest feature difference "
        f"{result['max_abs_feature_difference']:.1e}.",
        "",
    ]


def bf16_row(result: dict[str, Any]) -> list[str]:
    """The bf16 row and its comparison with the fp32 folded net, when it was measured."""
    if "folded_bf16" not in result:
        return []
    bf16 = result["folded_bf16"]
    return [
        f"| folded ({bf16['inference']}) | {bf16['images_per_s']:.2f} | {bf16['fid']:.4f} |",
        "",
        f"bf16: {result['bf16_speedup_over_folded']:.2f}x the fp32 folded net's images/s, FID relative difference "
        f"{result['bf16_fid_relative_difference']:.1e}; numbers for papers stay fp32 (the zoo's extractors run in fp32 "
        "unless autocast is entered around them).",
    ]
