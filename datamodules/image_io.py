"""Image files to tensors: list a folder's images, read one as uint8 (C, H, W), crop and resize it.

Shared by the folder datamodules (``CelebAData``, ``UnpairedImageData``) and ``gan-zoo translate``. Every
PIL mode a folder may hold is converted to the asked channels (``MODES``) or refused; ``verify_images`` scans a
folder's headers before training. Every error names the folder or file at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
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


#: PIL modes an image folder may hold, and how each becomes 1 (gray) or 3 (RGB) uint8 channels:
#: 1, L, P, RGB, CMYK, YCbCr: PIL's conversion; RGBA, LA, PA, RGBa, La (and P with a transparent colour): composited
#: over white (transparent pixels would otherwise show whatever colour they hide); I;16* and I: 16-bit gray,
#: scaled by the 16-bit range (65535 -> 255; PIL's own conversion clips everything above 255 to white); F: float
#: gray in [0, 1], scaled by 255. Anything else (or I / F values outside those ranges) is refused, naming the file.
MODES = ("1", "L", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LA", "La", "I", "F")
MODES_16BIT = ("I;16", "I;16L", "I;16B", "I;16N")
SUPPORTED_MODES = MODES + MODES_16BIT
WHITE = 255


class UnreadableImageError(ValueError):
    """An image file that cannot be read or converted; the message names the file."""


def _gray_values(image, path: Path, lo: float, hi: float, scale: float, what: str) -> np.ndarray:
    """(H, W) uint8 from a 16-bit or float image: values must lie in [lo, hi]; ``scale`` maps them to [0, 255]."""
    values = np.asarray(image, dtype=np.float64)
    if not np.isfinite(values).all() or values.min() < lo or values.max() > hi:
        found = f"[{values.min():g}, {values.max():g}]" if np.isfinite(values).all() else "NaN/Inf"
        raise UnreadableImageError(
            f"cannot read image {path}: mode {image.mode} ({what}) must hold values in [{lo:g}, {hi:g}], found "
            f"{found}. Convert the file to 8-bit or 16-bit PNG."
        )
    return np.rint(values * scale).astype(np.uint8)


def to_uint8(image, channels: int, path: Path) -> np.ndarray:
    """A PIL image of any ``SUPPORTED_MODES`` as a uint8 (H, W) (``channels=1``) or (H, W, 3) array; see ``MODES``."""
    mode = image.mode
    if mode not in SUPPORTED_MODES:
        raise UnreadableImageError(
            f"cannot read image {path}: PIL mode {mode!r} is not supported ({', '.join(SUPPORTED_MODES)}). Convert "
            "the file to RGB or grayscale."
        )
    if mode in MODES_16BIT or mode == "I":
        gray = _gray_values(image, path, 0, 65535, 255 / 65535, "16-bit gray")
    elif mode == "F":
        gray = _gray_values(image, path, 0.0, 1.0, 255.0, "float gray")
    else:
        if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (WHITE,) * 4), rgba)
        return np.asarray(image.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1) if channels == 3 else gray


def read_image(path: Path, channels: int) -> Tensor:
    """uint8 (C, H, W) image from ``path`` (RGB for 3 channels, grayscale for 1), converted from any PIL mode as
    ``MODES`` says; errors name the file."""
    try:
        with Image.open(path) as image:
            array = to_uint8(image, channels, path)
    except UnreadableImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise UnreadableImageError(f"cannot read image {path}: {err}. Remove or replace the file.") from err
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1)


def verify_images(files: Sequence[Path], where: str, listed: int = 5) -> None:
    """Header scan before training: every file opens, passes PIL's ``verify`` (structure and checksums, no full
    decode) and has a supported mode. The error names the unreadable files (the first ``listed``) and their count."""
    bad = []
    for path in files:
        try:
            with Image.open(path) as image:
                mode = image.mode
                image.verify()
        except Exception as err:  # PIL raises many kinds (OSError, SyntaxError, struct.error, ...) on broken files
            bad.append(f"{path} ({type(err).__name__}: {err})")
            continue
        if mode not in SUPPORTED_MODES:
            bad.append(f"{path} (PIL mode {mode!r} is not supported)")
    if bad:
        more = f" and {len(bad) - listed} more" if len(bad) > listed else ""
        raise UnreadableImageError(
            f"{len(bad)} of the {len(files)} images in {where} cannot be read: {'; '.join(bad[:listed])}{more}. "
            "Remove or replace them."
        )


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
