"""CIFAR-10 (Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009) in torchvision's
download layout, read directly and served from memory.

Users get torchvision's download path: ``torchvision.datasets.CIFAR10(data_dir, download=True)`` fetches
``cifar-10-python.tar.gz`` and unpacks ``data_dir/cifar-10-batches-py/`` (``data_batch_1`` ... ``data_batch_5``,
``test_batch``, ``batches.meta``). Those are Python 2 pickles of dicts with the keys ``data`` (a uint8 array,
one 3072-value row per image: the 1024 red values of the 32x32 image in row-major order, then the 1024 green,
then the 1024 blue), ``labels`` (ints 0-9), ``filenames`` and ``batch_label``; ``batches.meta`` holds
``label_names``. We read them ourselves (as torchvision does: ``pickle`` with ``encoding="latin1"``), through an
unpickler that only resolves numpy's array reconstruction, so a tampered file cannot run code, and check every
batch's structure: a truncated or corrupt file is named in the error with the fix. The 50,000 + 10,000 images
(150 MB + 30 MB) are then one uint8 tensor per split, served by ``InMemoryBatches`` like Fashion-MNIST.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from datamodules.base import ImageDataModule
from zoo.validation import require_choice

FOLDER = "cifar-10-batches-py"
SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
META_FILE = "batches.meta"
FILES = (*SPLITS["train"], *SPLITS["test"], META_FILE)
#: torchvision.datasets.CIFAR10.url and .tgz_md5 (a test checks they agree)
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
SIZE = 32
ROW = 3 * SIZE * SIZE  # one image: 1024 red, 1024 green, 1024 blue values
NUM_CLASSES = 10

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct, wherever this numpy keeps it
#: the only globals a CIFAR-10 batch pickle refers to: numpy arrays (as Python 2's numpy wrote them, or a
#: Python 3 numpy) and, in Python 3 protocol-2 pickles, bytes spelled as ``_codecs.encode(str, "latin1")``
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class BatchUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only ``SAFE_GLOBALS``: loading a CIFAR file never runs other code."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return SAFE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which no CIFAR-10 batch contains") from None


def load_pickle(path: Path, fix: str) -> dict[str, Any]:
    """The dict pickled in ``path``, its keys as ``str`` (Python 2 ``str`` keys and ``bytes`` keys alike)."""
    try:
        with open(path, "rb") as f:
            entry = BatchUnpickler(f, encoding="latin1").load()
    except Exception as err:  # truncation and corruption surface as many exception types
        raise ValueError(f"cannot read CIFAR-10 file {path} ({type(err).__name__}: {err}): {fix}") from err
    if not isinstance(entry, dict):
        raise ValueError(f"CIFAR-10 file {path} holds a {type(entry).__name__}, not a dict: {fix}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def read_batch(path: Path, fix: str) -> tuple[Tensor, Tensor]:
    """One batch file -> (uint8 images (N, 3, 32, 32), int64 labels (N,)), after checking its structure."""
    entry = load_pickle(path, fix)
    data, labels = entry.get("data"), entry.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW:
        found = f"{data.dtype} array {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"CIFAR-10 file {path}: expected 'data' to be a uint8 array N x {ROW}, got {found}: {fix}")
    try:
        labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    except (TypeError, ValueError) as err:
        raise ValueError(f"CIFAR-10 file {path}: 'labels' is not a list of ints ({err}): {fix}") from err
    if labels.shape != (len(data),):
        raise ValueError(f"CIFAR-10 file {path}: {len(data)} images but labels shaped {tuple(labels.shape)}: {fix}")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"CIFAR-10 file {path}: labels outside 0-{NUM_CLASSES - 1}: {fix}")
    # each row is the red plane, then the green, then the blue, each 32 x 32 row-major: (N, C, H, W) as it is
    images = torch.from_numpy(data.copy()).view(len(data), 3, SIZE, SIZE)
    return images, labels


class CIFAR10Data(ImageDataModule):
    """CIFAR-10, 50k train / 10k test RGB 32x32 images in 10 classes, served from memory.

    ``prepare_data`` downloads with ``torchvision.datasets.CIFAR10(data_dir, download=True)`` when a file of
    ``data_dir/cifar-10-batches-py`` is missing; offline, unpack ``cifar-10-python.tar.gz`` into ``data_dir``.

    Args:
        data_dir: torchvision root folder (the files live in ``data_dir/cifar-10-batches-py``).
        download: fetch the files with torchvision when they are missing (needs network, 163 MB).
        batch_size, seed: see ``ImageDataModule``.
    """

    num_classes = NUM_CLASSES

    def __init__(self, data_dir: str = "data", download: bool = True, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.data_dir = Path(data_dir)
        self.download = download
        self.image_shape = (3, SIZE, SIZE)

    @property
    def folder(self) -> Path:
        return self.data_dir / FOLDER

    def missing_files(self) -> list[str]:
        return [name for name in FILES if not (self.folder / name).is_file()]

    def _missing_message(self, missing: list[str]) -> str:
        return (
            f"CIFAR-10 not found: {self.folder} lacks {', '.join(missing)} (torchvision's layout: data_batch_1 ... "
            f"data_batch_5, test_batch, batches.meta). Pass download=True with network access "
            f"(torchvision.datasets.CIFAR10 fetches {URL}, 163 MB), or, offline, copy {ARCHIVE} (MD5 "
            f"{ARCHIVE_MD5}) from a machine with network and unpack it with 'tar -xzf {ARCHIVE} -C {self.data_dir}'."
        )

    def _corrupt_fix(self) -> str:
        return (
            f"the file is truncated or corrupt. Delete {self.folder} and download again (download=True), or unpack "
            f"a fresh {ARCHIVE} into {self.data_dir}."
        )

    def prepare_data(self) -> None:
        missing = self.missing_files()
        if not missing:
            return
        if not self.download:
            raise FileNotFoundError(self._missing_message(missing))
        from torchvision.datasets import CIFAR10

        try:
            CIFAR10(str(self.data_dir), train=True, download=True)
        except Exception as err:  # no network, a failed checksum: all end here
            raise FileNotFoundError(f"{self._missing_message(missing)} The download failed: {err}") from err
        missing = self.missing_files()
        if missing:
            raise FileNotFoundError(self._missing_message(missing))

    def label_names(self) -> list[str]:
        """The 10 class names of ``batches.meta`` (``airplane``, ``automobile``, ...), index = label."""
        path = self.folder / META_FILE
        if not path.is_file():
            raise FileNotFoundError(self._missing_message([META_FILE]))
        names = load_pickle(path, self._corrupt_fix()).get("label_names")
        if not isinstance(names, list) or len(names) != NUM_CLASSES:
            raise ValueError(f"CIFAR-10 file {path}: expected {NUM_CLASSES} label_names: {self._corrupt_fix()}")
        return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        require_choice("split", split, SPLITS)
        missing = self.missing_files()
        if missing:
            raise FileNotFoundError(self._missing_message(missing))
        self.label_names()  # checks batches.meta too, which torchvision needs
        batches = [read_batch(self.folder / name, self._corrupt_fix()) for name in SPLITS[split]]
        return torch.cat([images for images, _ in batches]), torch.cat([labels for _, labels in batches])
