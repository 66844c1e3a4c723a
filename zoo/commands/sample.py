"""``gan-zoo sample``: a grid of samples from a checkpoint.

    gan-zoo sample --ckpt last.ckpt --out grid.png [--num 64]              # unconditional: 64 samples, 8 a row
    gan-zoo sample --ckpt cgan.ckpt --out grid.png --labels 0,3,7 --num 8  # conditional: a row of 8 per label

A conditional checkpoint (cGAN, ACGAN, ProjectionGAN, InfoGAN) is drawn one row per label (``--labels``, default
every label), ``--num`` samples a row, the same z down each column; an InfoGAN with continuous codes gets its code
sweep (rows: code values, columns: the first continuous code from -2 to 2). See ``callbacks.sample_grid``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from callbacks.sample_grid import SampleGrid, grid_labels
from zoo.checkpoints import load_variant
from zoo.conditioning import is_conditional
from zoo.ema import EMA_BN_MODES
from zoo.sampling import WEIGHTS, require_count, resolve_weights, set_ema_batch_norm

#: listed in the error for an unknown extension (any format Pillow can write is accepted)
COMMON_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: ``--num`` when not given: samples of an unconditional grid, samples per row (label) of a conditional one
DEFAULT_NUM, DEFAULT_PER_LABEL = 64, 8


def positive_int(text: str) -> int:
    """argparse type: a positive whole number of samples."""
    try:
        return require_count("--num", int(text))
    except ValueError as err:
        message = str(err) if "positive int" in str(err) else f"--num must be a positive int, got {text!r}."
        raise argparse.ArgumentTypeError(message) from None


def label_list(text: str) -> list[int]:
    """argparse type: ``"0,3,7"`` -> ``[0, 3, 7]`` (whole numbers; their range is checked against the model)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        labels = [int(part) for part in parts]
    except ValueError:
        labels = []
    if not labels:
        raise argparse.ArgumentTypeError(f"--labels must be comma-separated class indices, e.g. 0,3,7; got {text!r}.")
    return labels


def image_extensions() -> dict[str, str]:
    """{extension: Pillow format} for every image format Pillow can write."""
    from PIL import Image

    Image.init()
    return {ext: fmt for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE}


def check_image_path(out: str | Path) -> Path:
    """``out`` if its extension names an image format Pillow writes; ``ValueError`` listing the common ones."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in image_extensions():
        got = f"extension {path.suffix!r}" if path.suffix else "no extension"
        raise ValueError(
            f"--out {out}: {got} is not an image format; end the file name with one of {', '.join(COMMON_EXTENSIONS)}."
        )
    if path.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file name, e.g. {path / 'grid.png'}.")
    return path


def sample_command(argv: Sequence[str]) -> None:
    """``gan-zoo sample``: write a grid of samples from a checkpoint."""
    parser = argparse.ArgumentParser(prog="gan-zoo sample", description=sample_command.__doc__)
    parser.add_argument("--ckpt", required=True, help="checkpoint written by gan-zoo fit")
    parser.add_argument("--out", required=True, help="image file to write (.png, .jpg, ...); folders are created")
    parser.add_argument(
        "--num",
        type=positive_int,
        default=None,
        help=f"number of samples (a positive int; default {DEFAULT_NUM}); for a conditional model, samples per label "
        f"(default {DEFAULT_PER_LABEL})",
    )
    parser.add_argument(
        "--labels",
        type=label_list,
        default=None,
        help="conditional models: the labels to draw, one row each (e.g. 0,3,7; default every label)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weights",
        choices=WEIGHTS,
        default="auto",
        help="generator weights: the EMA when the checkpoint keeps one (auto), ema, or the trained generator (raw)",
    )
    parser.add_argument(
        "--ema-bn",
        choices=EMA_BN_MODES,
        default=None,
        help="batch-norm statistics the EMA samples with: copied from the generator (copy) or recomputed for the "
        "averaged weights (recompute); default: the checkpoint's ema_bn",
    )
    args = parser.parse_args(argv)
    out = check_image_path(args.out)  # before loading: a bad name costs nothing
    model = load_variant(args.ckpt)
    set_ema_batch_norm(model, args.ema_bn)
    try:
        used = resolve_weights(model, args.weights)
    except ValueError as err:
        raise SystemExit(f"gan-zoo sample: {err}") from err
    if is_conditional(model) or args.labels is not None:
        rows = grid_labels(model, args.labels)  # ValueError: labels for an unconditional model, or out of range
        per_label = args.num or DEFAULT_PER_LABEL
        grid = SampleGrid(num_samples=per_label, nrow=per_label, seed=args.seed, weights=used, labels=rows.tolist())
        what = f"{len(rows)} x {per_label} samples (labels {', '.join(map(str, rows.tolist()))})"
    else:
        grid = SampleGrid(num_samples=args.num or DEFAULT_NUM, seed=args.seed, weights=used)
        what = f"{args.num or DEFAULT_NUM} samples"
    out.parent.mkdir(parents=True, exist_ok=True)
    grid.write(model, out)
    print(f"wrote {what} of {type(model).__name__} ({used} generator weights) to {out}")
