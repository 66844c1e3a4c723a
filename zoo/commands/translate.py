"""``gan-zoo translate``: run a trained CycleGAN over a folder of images.

    gan-zoo translate --ckpt runs/h2z/checkpoints/last.ckpt --input datasets/horse2zebra/testA \\
        --direction AtoB --out translated/

Every image in ``--input`` (jpg, png, ...) is converted to the model's channels, resized to ``--size``
(default: the model's training size; the ResNet generator is fully convolutional, so any multiple of 4 works),
translated with G (``AtoB``) or F (``BtoA``) and written to ``--out`` as ``<name>.png``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from datamodules.base import to_unit_range
from datamodules.image_io import list_images, read_image, resize_image
from zoo.checkpoints import load_variant


def translate_folder(
    ckpt: str | Path,
    input_dir: str | Path,
    out_dir: str | Path,
    direction: str = "AtoB",
    size: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
) -> list[Path]:
    """Translate every image of ``input_dir`` into ``out_dir``; returns the written paths."""
    from torchvision.utils import save_image

    model = load_variant(ckpt)
    if not hasattr(model, "translate"):
        raise ValueError(f"{ckpt} holds a {type(model).__name__}, which does not translate images; use a CycleGAN.")
    files = list_images(Path(input_dir))
    channels, height, _ = model.image_shape
    size = height if size is None else size
    if size % 4:
        raise ValueError(f"--size must be a multiple of 4 for the ResNet generator; got {size}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.to(device)
    written = []
    with torch.no_grad():
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            images = torch.stack([resize_image(read_image(path, channels), size) for path in chunk])
            translated = model.translate(to_unit_range(images).to(device), direction).cpu()
            for path, image in zip(chunk, translated):
                target = out / f"{path.stem}.png"
                save_image(image * 0.5 + 0.5, target)
                written.append(target)
    return written


def translate_command(argv: Sequence[str]) -> None:
    """``gan-zoo translate``: translate a folder of images with a CycleGAN checkpoint."""
    parser = argparse.ArgumentParser(prog="gan-zoo translate", description=translate_command.__doc__)
    parser.add_argument("--ckpt", required=True, help="CycleGAN checkpoint written by gan-zoo fit")
    parser.add_argument("--input", required=True, help="folder of images of the source domain")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB", help="G (AtoB) or F (BtoA)")
    parser.add_argument("--out", required=True, help="folder for the translated PNGs")
    parser.add_argument("--size", type=int, default=None, help="resize inputs to this side (default: training size)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    written = translate_folder(args.ckpt, args.input, args.out, args.direction, args.size, args.batch_size, args.device)
    print(f"translated {len(written)} images {args.direction} into {args.out}")
