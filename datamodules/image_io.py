"""Image files to tensors: list a folder's images, read one as uint8 (C, H, W), crop and resize it.

Shared by the folder datamodules (``CelebAData``, ``UnpairedImageData``) and ``gan-zoo translate``. Every
error names the folder or file at fault.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff")


def list_images(folder: Path, missing_hint: str = "") -> list[Path]:
    """Image files directly inside ``folder``, sorted; errors name the folder when it is missing or empty.

    ``missing_hint`` is appended to the error for a missing folder (e.g. the layout a datamodule expects).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist." + (f" {missing_hint}" if missing_hint else ""))
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(
            f"image folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)}); put the domain's images there."
        )
    return files


def read_image(path: Path, channels: int) -> Tensor:
    """uint8 (C, H, W) image from ``path`` (RGB for 3 channels, grayscale for 1); errors name the file."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ValueError(f"cannot read image {path}: {err}. Remove or replace the file.") from err
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)


def center_crop(image: Tensor, size: int) -> Tensor:
    """Central ``size`` x ``size`` square of a (C, H, W) image (the whole short side if smaller)."""
    h, w = image.shape[-2:]
    size = min(size, h, w)
    top, left = (h - size) // 2, (w - size) // 2
    return image[:, top : top + size, left : left + size]


def resize_image(image: Tensor, size: int) -> Tensor:
    """uint8 (C, H, W) -> (C, size, size), bicubic with antialiasing (the reference code's default)."""
    from torchvision.transforms.v2 import functional as TF

    if image.shape[-2:] == (size, size):
        return image
    return TF.resize(image, [size, size], interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
