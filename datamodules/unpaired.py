"""Unpaired two-domain image folders for CycleGAN: batches are (images_a, images_b), each float in [-1, 1].

``UnpairedImageData(root)`` reads the ``trainA/ trainB/ testA/ testB/`` folder layout of the CycleGAN datasets
(horse2zebra, monet2photo, ...), served by a DataLoader (the sets are too large to hold in memory). Training
images get the paper's augmentation (Zhu et al. 2017, Appendix 7.1 and the reference code): resize to
``load_size`` (286), random ``crop_size`` crop (256), random horizontal flip. Sampling is unpaired: image i of
A comes with a uniformly random image of B.

It keeps the interface of ``TwoDomainData`` (``image_shape`` before ``setup``, ``real_samples`` with a
``domain``); the offline Fashion-MNIST toy pair is ``datamodules.fashion_pair.FashionMNISTPairData``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from datamodules.base import DOMAINS, TwoDomainData, shuffled_loader, to_unit_range
from datamodules.image_io import list_images, read_image, resize_image, verify_images
from zoo.validation import require_at_least, require_choice

SPLITS = ("train", "test")
LAYOUT = "root/trainA, root/trainB (training) and root/testA, root/testB (evaluation)"
MISSING_FOLDER_HINT = (
    f"UnpairedImageData expects {LAYOUT}; CycleGAN datasets (e.g. horse2zebra) unpack to this layout from "
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/."
)


class UnpairedImages(Dataset):
    """Item i: (image i mod |A| of A, an image of B), uint8 (C, H, W) each.

    ``train=True``: resize to ``load_size``, random ``crop_size`` crop, random flip; B drawn at random.
    ``train=False``: resize to ``crop_size``; B is image i mod |B| (deterministic).
    """

    def __init__(
        self,
        files_a: Sequence[Path],
        files_b: Sequence[Path],
        channels: int,
        load_size: int,
        crop_size: int,
        train: bool,
        flip: bool = True,
    ) -> None:
        self.files = (list(files_a), list(files_b))
        self.channels = channels
        self.load_size = load_size
        self.crop_size = crop_size
        self.train = train
        self.flip = flip

    def __len__(self) -> int:
        return max(len(self.files[0]), len(self.files[1]))

    def transform(self, image: Tensor) -> Tensor:
        if not self.train:
            return resize_image(image, self.crop_size)
        image = resize_image(image, self.load_size)
        top, left = (int(torch.randint(self.load_size - self.crop_size + 1, ())) for _ in range(2))
        image = image[:, top : top + self.crop_size, left : left + self.crop_size]
        if self.flip and torch.rand(()) < 0.5:
            image = image.flip(-1)
        return image

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        files_a, files_b = self.files
        path_a = files_a[index % len(files_a)]
        j = int(torch.randint(len(files_b), ())) if self.train else index % len(files_b)
        return (
            self.transform(read_image(path_a, self.channels)),
            self.transform(read_image(files_b[j], self.channels)),
        )


class UnpairedImageData(TwoDomainData):
    """Two image folders per split, ``root/{train,test}{A,B}``, served as unpaired (images_a, images_b) batches.

    Args:
        root: dataset folder (e.g. ``datasets/horse2zebra``).
        crop_size: side of the training crops and of the model's images (the paper's 256).
        load_size: training images are resized to this before cropping (286); ``None`` = ``crop_size``.
        channels: 3 (RGB) or 1 (grayscale); images are converted on load.
        flip: random horizontal flips in training.
        batch_size: the paper uses 1.
        num_workers: DataLoader workers.
        seed: seeds the shuffling of domain A.
        scan_images: at setup, open and verify every training image's header (``image_io.verify_images``), so
            an unreadable file is named before training starts rather than when a batch reaches it.
    """

    def __init__(
        self,
        root: str,
        crop_size: int = 256,
        load_size: int | None = 286,
        channels: int = 3,
        flip: bool = True,
        batch_size: int = 1,
        num_workers: int = 4,
        seed: int = 0,
        scan_images: bool = True,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("channels", channels, (1, 3))
        require_at_least("crop_size", crop_size, 1)
        load_size = crop_size if load_size is None else load_size
        if load_size < crop_size:
            raise ValueError(
                f"load_size={load_size} is smaller than crop_size={crop_size}; use load_size >= crop_size."
            )
        require_at_least("num_workers", num_workers, 0)
        self.root = Path(root)
        self.crop_size = crop_size
        self.load_size = load_size
        self.channels = channels
        self.flip = flip
        self.num_workers = num_workers
        self.image_shape = (channels, crop_size, crop_size)
        self.scan_images = scan_images
        self._files: dict[str, list[Path]] = {}
        self._scanned = False

    def files(self, split: str, domain: str) -> list[Path]:
        """Image paths of ``split`` ("train"/"test") and ``domain`` ("A"/"B")."""
        require_choice("split", split, SPLITS)
        require_choice("domain", domain, DOMAINS)
        key = f"{split}{domain}"
        if key not in self._files:
            if not self.root.is_dir():
                raise FileNotFoundError(
                    f"dataset folder {self.root} does not exist; UnpairedImageData expects {LAYOUT}."
                )
            self._files[key] = list_images(self.root / key, MISSING_FOLDER_HINT)
        return self._files[key]

    def dataset(self, split: str) -> UnpairedImages:
        return UnpairedImages(
            self.files(split, "A"),
            self.files(split, "B"),
            self.channels,
            self.load_size,
            self.crop_size,
            train=split == "train",
            flip=self.flip,
        )

    def prepare_data(self) -> None:
        self.files("train", "A")
        self.files("train", "B")

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        if self.scan_images and not self._scanned and stage in (None, "fit"):
            for domain in DOMAINS:
                verify_images(self.files("train", domain), str(self.root / f"train{domain}"))
            self._scanned = True

    def train_dataloader(self) -> DataLoader:
        return shuffled_loader(self.dataset("train"), self.batch_size, self.seed, self.num_workers, str(self.root))

    def real_samples(self, split: str = "test", n: int | None = None, domain: str = "B") -> Tensor:
        """The first ``n`` images of ``split`` in ``domain``, resized to ``crop_size``, float in [-1, 1]."""
        files = self.files(split, domain)
        if n is not None:
            if n > len(files):
                raise ValueError(f"asked for {n} real images but {self.root / (split + domain)} has {len(files)}.")
            files = files[:n]
        images = [resize_image(read_image(path, self.channels), self.crop_size) for path in files]
        return to_unit_range(torch.stack(images))


__all__ = ["UnpairedImageData", "UnpairedImages"]
