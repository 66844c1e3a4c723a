"""Images made elsewhere, read from a NumPy file for ``zoo.metrics.evaluate_images`` / ``gan-zoo evaluate --images``.

Accepted: ``.npy``, or ``.npz`` with an ``images`` array (or exactly one array); uint8 in [0, 255] (mapped to the
zoo's [-1, 1] by ``u / 127.5 - 1``, which ``to_uint8_rgb`` inverts exactly) or float already in [-1, 1]; shaped
``(N, H, W)`` (grayscale), ``(N, C, H, W)`` or ``(N, H, W, C)`` with C = 1 or 3. Loaded with
``allow_pickle=False``: a file cannot run code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

CHANNELS = (1, 3)


def read_array(path: str | Path) -> np.ndarray:
    """The image array of a ``.npy`` or ``.npz`` file (``images``, or its only array)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no image file {str(path)!r}: pass a .npy or .npz holding an (N, H, W[, C]) array.")
    loaded = np.load(path, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:  # an .npz archive
        names = list(loaded.files)
        if "images" in names:
            return loaded["images"]
        if len(names) == 1:
            return loaded[names[0]]
    raise ValueError(f"{path} holds arrays {names}: name the images array 'images'.")


def to_nchw(array: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` -> ``(N, 1, H, W)``; ``(N, H, W, C)`` -> ``(N, C, H, W)``; ``(N, C, H, W)`` kept (C in 1, 3)."""
    if array.ndim == 3:
        return array[:, None]
    if array.ndim == 4:
        if array.shape[1] in CHANNELS:
            return array
        if array.shape[-1] in CHANNELS:
            return np.ascontiguousarray(array.transpose(0, 3, 1, 2))
    raise ValueError(
        f"images must be shaped (N, H, W), (N, C, H, W) or (N, H, W, C) with C in {CHANNELS}, got {array.shape}."
    )


def load_images(path: str | Path) -> Tensor:
    """Float images in [-1, 1], ``(N, C, H, W)``, from a NumPy file (see the module docstring)."""
    array = to_nchw(read_array(path))
    if array.dtype == np.uint8:
        return torch.from_numpy(array).float() / 127.5 - 1
    if np.issubdtype(array.dtype, np.floating):
        return torch.from_numpy(array.astype(np.float32))
    raise ValueError(f"images must be uint8 in [0, 255] or float in [-1, 1], got {array.dtype}.")
