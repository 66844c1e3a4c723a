"""``gan-zoo evaluate``: FID / KID / IS / precision-recall of a checkpoint, printed and written as JSON.

    gan-zoo evaluate --ckpt runs/demo/checkpoints/last.ckpt --metrics fid,kid,is,pr --num-fake 10000

The JSON carries the numbers and the protocol needed to compare them: extractor name and weights SHA-256,
n_real, n_fake, split, dataset, seed, metric settings, library versions, checkpoint hash, wall time.
Numbers from different extractors are not comparable; ``fashion-domain`` numbers are not Inception numbers.
A CycleGAN checkpoint is scored on translations of held-out images, both directions (``fid_AtoB``,
``fid_BtoA``, ...): pass its two-domain data, e.g. ``--data FashionMNISTPairData``.
A conditional checkpoint can also be scored per class: ``--metrics fid,class_acc,class_fid,class_diversity``
(``code_acc`` for InfoGAN, whose code -> class mapping goes in the protocol; ``zoo.metrics.class_suite``).

Samples made elsewhere (another code base, another framework) are scored with the same protocol from a NumPy file
instead of a checkpoint (``zoo.metrics.image_files``: uint8 or [-1, 1] floats, (N, H, W[, C]) or (N, C, H, W)):

    gan-zoo evaluate --images samples.npz --extractor inception-v3-compat --metrics fid,kid,pr
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import datamodules
from zoo.checkpoints import load_variant
from zoo.ema import EMA_BN_MODES
from zoo.metrics.class_suite import require_class_aware_model
from zoo.metrics.evaluation import evaluate_generator, evaluate_images, is_translation_model
from zoo.metrics.extractors import list_extractors, sha256_file
from zoo.metrics.image_files import load_images
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.settings import MetricSettings
from zoo.sampling import WEIGHTS, set_ema_batch_norm

#: MetricSettings' own defaults, so the command line and the library cannot drift apart
DEFAULTS = MetricSettings()


def make_datamodule(name: str, data_dir: str | None, image_shape: tuple[int, ...] | None) -> Any:
    """The datamodule ``name`` built for the checkpoint's ``image_shape`` (``data_dir``: its folder)."""
    cls = getattr(datamodules, name, None)
    if cls is None or not hasattr(cls, "real_samples"):
        names = [n for n in datamodules.__all__ if hasattr(getattr(datamodules, n), "real_samples")]
        raise SystemExit(f"gan-zoo evaluate: unknown --data {name!r}; choose from {', '.join(names)}.")
    params = inspect.signature(cls.__init__).parameters
    kwargs: dict[str, Any] = {}
    if data_dir is not None:
        kwargs["root" if "root" in params and "data_dir" not in params else "data_dir"] = data_dir
    elif "root" in params and params["root"].default is inspect.Parameter.empty:
        raise SystemExit(f"gan-zoo evaluate: --data {name} needs --data-dir (the dataset's root folder).")
    if image_shape is not None and len(image_shape) == 3:
        for size_arg in ("image_size", "crop_size"):
            if size_arg in params:
                kwargs[size_arg] = image_shape[-1]
        if "channels" in params:
            kwargs["channels"] = image_shape[0]
    return cls(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gan-zoo evaluate", description="Generative metrics of a checkpoint, or of images in a NumPy file."
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="checkpoint written by gan-zoo fit")
    source.add_argument(
        "--images",
        help=".npy / .npz of samples made elsewhere (uint8, or floats in [-1, 1]; (N, H, W[, C]) or (N, C, H, W)): "
        "all of them are scored, --num-fake is not used",
    )
    p.add_argument(
        "--metrics",
        default=",".join(DEFAULTS.metrics),
        help="comma-separated: fid, kid, is, pr; for conditional models also class_acc, class_fid, class_diversity "
        "(InfoGAN: code_acc, class_diversity)",
    )
    p.add_argument("--num-fake", type=int, default=DEFAULTS.num_fake)
    p.add_argument("--num-real", type=int, default=DEFAULTS.num_real)
    p.add_argument("--split", default=DEFAULTS.split, help="real split to compare against")
    p.add_argument(
        "--data",
        default=None,
        help="datamodule class in datamodules (default FashionMNISTData; a CycleGAN needs a two-domain one, "
        "e.g. FashionMNISTPairData or UnpairedImageData)",
    )
    p.add_argument("--data-dir", default=None, help="its data_dir (default: the datamodule's)")
    p.add_argument("--extractor", default=DEFAULTS.extractor, choices=list_extractors())
    p.add_argument("--extractor-weights", default=None, help="weights file (Inception: torch-fidelity's .pth)")
    p.add_argument("--no-download", action="store_true", help="never download extractor weights")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help="fixes the fake z, KID subsets and IS splits")
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--kid-subsets", type=int, default=DEFAULTS.kid_subsets)
    p.add_argument("--kid-subset-size", type=int, default=DEFAULTS.kid_subset_size)
    p.add_argument("--is-splits", type=int, default=DEFAULTS.is_splits)
    p.add_argument("--pr-neighborhood", type=int, default=DEFAULTS.pr_neighborhood)
    p.add_argument(
        "--weights",
        choices=WEIGHTS,
        default=DEFAULTS.weights,
        help="generator weights scored: the EMA when the checkpoint keeps one (auto), ema, or the trained one (raw)",
    )
    p.add_argument(
        "--ema-bn",
        choices=EMA_BN_MODES,
        default=None,
        help="batch-norm statistics the EMA samples with: copied from the generator (copy) or recomputed for the "
        "averaged weights (recompute); default: the checkpoint's ema_bn",
    )
    p.add_argument("--cache-dir", default=None, help="real-statistics cache (default ~/.cache/lightning-gan-zoo)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--out", default=None, help="JSON file (default: <ckpt or images file>.metrics.json)")
    return p


def settings_from_args(args: argparse.Namespace) -> MetricSettings:
    """The ``MetricSettings`` the command line asks for (each flag is the field of the same name; invalid values
    raise ``ValueError``)."""
    named = {f.name: getattr(args, f.name) for f in fields(MetricSettings) if hasattr(args, f.name)}
    return MetricSettings(**named, extractor_download=not args.no_download)


def evaluate_command(argv: Sequence[str]) -> dict[str, Any]:
    """``gan-zoo evaluate``: compute the metrics of a checkpoint, print and write them with their protocol."""
    args = build_parser().parse_args(list(argv))
    try:
        settings = settings_from_args(args)
    except ValueError as err:
        raise SystemExit(f"gan-zoo evaluate: {err}") from err
    start = time.perf_counter()
    if args.images is not None:
        return evaluate_image_file(args, settings, argv, start)
    model = load_variant(args.ckpt)
    set_ema_batch_norm(model, args.ema_bn)
    try:  # before the data is loaded: class-aware metrics need a conditional model of the right label kind
        require_class_aware_model(model, settings.metrics)
    except (TypeError, ValueError) as err:
        raise SystemExit(f"gan-zoo evaluate: {err}") from err
    if args.data is None and is_translation_model(model):
        raise SystemExit(
            f"gan-zoo evaluate: {type(model).__name__} translates images, so it is scored by translating held-out "
            "images of domain A and comparing them with held-out images of domain B (and back). Name its "
            "two-domain data: --data FashionMNISTPairData [--data-dir DIR] or --data UnpairedImageData "
            "--data-dir ROOT (with testA/ and testB/)."
        )
    datamodule = make_datamodule(args.data or "FashionMNISTData", args.data_dir, model.image_shape)
    try:
        values, protocol = evaluate_generator(
            model, datamodule, settings, cache=RealStatsCache(args.cache_dir, enabled=not args.no_cache)
        )
    except (ValueError, FileNotFoundError) as err:  # bad settings, unusable weights: the message names the fix
        raise SystemExit(f"gan-zoo evaluate: {err}") from err
    source = {"checkpoint": str(args.ckpt), "checkpoint_sha256": sha256_file(args.ckpt)}
    source["variant"] = type(model).__name__
    return write_result(values, protocol, source, argv, start, args.out or str(args.ckpt) + ".metrics.json")


def evaluate_image_file(
    args: argparse.Namespace, settings: MetricSettings, argv: Sequence[str], start: float
) -> dict[str, Any]:
    """``gan-zoo evaluate --images FILE``: the metrics of the file's images against the real split."""
    try:
        images = load_images(args.images)
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"gan-zoo evaluate: {err}") from err
    datamodule = make_datamodule(args.data or "FashionMNISTData", args.data_dir, tuple(images.shape[1:]))
    if tuple(datamodule.image_shape) != tuple(images.shape[1:]):
        raise SystemExit(
            f"gan-zoo evaluate: the images are {tuple(images.shape[1:])}, but {type(datamodule).__name__} gives "
            f"{tuple(datamodule.image_shape)}: pass --data (and --data-dir) for data of the images' shape."
        )
    try:
        values, protocol = evaluate_images(
            images, datamodule, settings, cache=RealStatsCache(args.cache_dir, enabled=not args.no_cache)
        )
    except (ValueError, FileNotFoundError) as err:
        raise SystemExit(f"gan-zoo evaluate: {err}") from err
    source = {"images": str(args.images), "images_sha256": sha256_file(args.images)}
    return write_result(values, protocol, source, argv, start, args.out or str(args.images) + ".metrics.json")


def write_result(
    values: dict[str, float],
    protocol: dict[str, Any],
    source: dict[str, Any],
    argv: Sequence[str],
    start: float,
    out_path: str,
) -> dict[str, Any]:
    """Print the metrics with their protocol (plus the command, what was scored and the wall time) and write them as
    JSON to ``out_path``."""
    result = {
        "metrics": values,
        "protocol": {
            **protocol,
            "command": "gan-zoo evaluate " + " ".join(argv),
            **source,
            "wall_time_s": round(time.perf_counter() - start, 3),
        },
    }
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    out.write_text(text + "\n")
    print(text)
    print(f"wrote {out}")
    return result
