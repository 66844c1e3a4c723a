"""``gan-zoo sample``: a grid of samples from a checkpoint."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from callbacks.sample_grid import SampleGrid
from zoo.checkpoints import load_variant
from zoo.sampling import WEIGHTS, require_count, resolve_weights

#: listed in the error for an unknown extension (any format Pillow can write is accepted)
COMMON_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def positive_int(text: str) -> int:
    """argparse type: a positive whole number of samples."""
    try:
        return require_count("--num", int(text))
    except ValueError as err:
        message = str(err) if "positive int" in str(err) else f"--num must be a positive int, got {text!r}."
        raise argparse.ArgumentTypeError(message) from None


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
    parser.add_argument("--num", type=positive_int, default=64, help="number of samples (a positive int)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weights",
        choices=WEIGHTS,
        default="auto",
        help="generator weights: the EMA when the checkpoint keeps one (auto), ema, or the trained generator (raw)",
    )
    args = parser.parse_args(argv)
    out = check_image_path(args.out)  # before loading: a bad name costs nothing
    model = load_variant(args.ckpt)
    try:
        used = resolve_weights(model, args.weights)
    except ValueError as err:
        raise SystemExit(f"gan-zoo sample: {err}") from err
    out.parent.mkdir(parents=True, exist_ok=True)
    SampleGrid(num_samples=args.num, seed=args.seed, weights=used).write(model, out)
    print(f"wrote {args.num} samples of {type(model).__name__} ({used} generator weights) to {out}")
