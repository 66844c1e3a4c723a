"""CelebA faces (Liu et al., ICCV 2015) at 64 px, the VAE-GAN paper's data (Larsen et al. 2016, Section 4.1).

Users get torchvision's download path (``torchvision.datasets.CelebA(download=True)``, Google Drive, needs
``gdown``) into ``data_dir/celeba``. Reading does not go through torchvision's class: it refuses any file
whose MD5 differs from its list, so we read the two things we need ourselves, the aligned images in
``celeba/img_align_celeba/`` and the split file ``celeba/list_eval_partition.txt`` (``000001.jpg 0``, with
0 = train, 1 = valid, 2 = test). Tests write a few such files as fixtures.

Images (178x218, aligned) are center-cropped to ``crop_size`` (148 by default: the face, little background)
and resized to ``image_size``, served by a DataLoader as (images, zeros) batches, float in [-1, 1] on device.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from datamodules.base import ImageDataModule, shuffled_loader, to_unit_range
from datamodules.image_io import center_crop, read_image, resize_image, verify_images
from zoo.validation import require_at_least, require_choice

SPLITS = {"train": 0, "valid": 1, "test": 2}
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIR = "img_align_celeba"


class CelebAImages(Dataset):
    """(uint8 image (3, image_size, image_size), 0) per file."""

    def __init__(self, files: list[Path], crop_size: int, image_size: int) -> None:
        self.files = files
        self.crop_size = crop_size
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = center_crop(read_image(self.files[index], 3), self.crop_size)
        return resize_image(image, self.image_size), 0


class CelebAData(ImageDataModule):
    """CelebA aligned faces, 162,770 train / 19,867 valid / 19,962 test, RGB ``image_size`` px, unlabeled here.

    Args:
        data_dir: torchvision root folder (the files live in ``data_dir/celeba``).
        download: fetch the files with torchvision when they are missing (network, ``pip install gdown``).
        image_size: 32 or 64 (default, the paper's) pixels.
        crop_size: side of the center crop taken before resizing.
        batch_size, seed: see ``ImageDataModule``; ``num_workers``: DataLoader workers.
        scan_images: at setup, open and verify every training image's header (``image_io.verify_images``, about
            20 s for the 162,770 files with a warm file cache), so an unreadable or missing file is named before
            training starts.
    """

    num_classes = 0

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = True,
        image_size: int = 64,
        crop_size: int = 148,
        batch_size: int = 64,
        num_workers: int = 4,
        seed: int = 0,
        scan_images: bool = True,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("image_size", image_size, (32, 64))
        require_at_least("crop_size", crop_size, image_size, "Crop at least image_size pixels.")
        require_at_least("num_workers", num_workers, 0)
        self.data_dir = Path(data_dir)
        self.download = download
        self.image_size = image_size
        self.crop_size = crop_size
        self.num_workers = num_workers
        self.image_shape = (3, image_size, image_size)
        self.scan_images = scan_images
        self._split_files: dict[str, list[Path]] = {}
        self._scanned = False

    @property
    def folder(self) -> Path:
        return self.data_dir / "celeba"

    def has_files(self) -> bool:
        return (self.folder / PARTITION_FILE).is_file() and (self.folder / IMAGE_DIR).is_dir()

    def prepare_data(self) -> None:
        if self.has_files():
            return
        if not self.download:
            raise FileNotFoundError(self._missing_message())
        from torchvision.datasets import CelebA

        try:
            CelebA(str(self.data_dir), split="all", target_type=[], download=True)
        except Exception as err:  # network, gdown, Google Drive quota: all end here
            raise FileNotFoundError(f"{self._missing_message()} The download failed: {err}") from err

    def _missing_message(self) -> str:
        return (
            f"CelebA not found: expected {self.folder / PARTITION_FILE} and the aligned images in "
            f"{self.folder / IMAGE_DIR}/. Pass download=True (needs network and 'pip install gdown'; Google Drive "
            "limits daily downloads), or fetch img_align_celeba.zip and list_eval_partition.txt from "
            "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html and unpack them there."
        )

    def files(self, split: str) -> list[Path]:
        """Image paths of ``split`` ("train", "valid" or "test") in the partition file's order."""
        require_choice("split", split, SPLITS)
        if split not in self._split_files:
            if not self.has_files():
                raise FileNotFoundError(self._missing_message())
            partition = self.folder / PARTITION_FILE
            names = []
            for number, line in enumerate(partition.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                fields = line.split()
                if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                    raise ValueError(f"{partition}, line {number}: expected '<image> <0|1|2>', got {line!r}.")
                if int(fields[1]) == SPLITS[split]:
                    names.append(self.folder / IMAGE_DIR / fields[0])
            if not names:
                raise ValueError(f"{partition} lists no images for split {split!r}.")
            self._split_files[split] = names
        return self._split_files[split]

    def setup(self, stage: str | None = None) -> None:
        files = self.files("train")
        if self.scan_images and not self._scanned and stage in (None, "fit"):
            verify_images(files, str(self.folder / IMAGE_DIR))
            self._scanned = True

    def train_dataloader(self) -> DataLoader:
        dataset = CelebAImages(self.files("train"), self.crop_size, self.image_size)
        return shuffled_loader(dataset, self.batch_size, self.seed, self.num_workers, str(self.data_dir))

    def real_samples(self, split: str = "test", n: int | None = None) -> Tensor:
        """The first ``n`` images of ``split`` as floats in [-1, 1]."""
        files = self.files(split)
        if n is not None:
            if n > len(files):
                raise ValueError(f"asked for {n} real samples but split {split!r} has {len(files)}.")
            files = files[:n]
        dataset = CelebAImages(files, self.crop_size, self.image_size)
        return to_unit_range(torch.stack([dataset[i][0] for i in range(len(dataset))]))
