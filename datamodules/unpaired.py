"""Unpaired two-domain image data for CycleGAN: batches are (images_a, images_b), each float in [-1, 1].

* ``UnpairedImageData(root)``: the ``trainA/ trainB/ testA/ testB/`` folder layout of the CycleGAN datasets
  (horse2zebra, monet2photo, ...), served by a DataLoader (the sets are too large to hold in memory).
  Training images get the paper's augmentation (Zhu et al. 2017, Appendix 7.1 and the reference code):
  resize to ``load_size`` (286), random ``crop_size`` crop (256), random horizontal flip. Sampling is
  unpaired: image i of A comes with a uniformly random image of B.
* ``FashionMNISTPairData``: a tiny offline pair built from Fashion-MNIST, small enough to learn a translation
  on a CPU in minutes. Domain A: images of ``classes_a``; domain B: images of ``classes_b`` passed through
  ``transform_b`` (``invert`` by default: white garments become dark ones on a white background). A and B
  come from disjoint halves of the images and are shuffled independently, so nothing pairs them.

Both subclass ``InMemoryData``, the datamodule base of the zoo's CLI (``--data NAME``), and keep its interface
(``image_shape`` before ``setup``, ``real_samples``); ``real_samples`` takes a ``domain`` ("A" or "B").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from datamodules.base import InMemoryData, shuffled_loader, to_unit_range
from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from datamodules.in_memory import InMemoryBatches
from zoo.validation import require_at_least, require_choice

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".webp", ".tif", ".tiff")
DOMAINS = ("A", "B")
SPLITS = ("train", "test")
LAYOUT = "root/trainA, root/trainB (training) and root/testA, root/testB (evaluation)"


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted; errors name the folder when it is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder {folder} does not exist. UnpairedImageData expects {LAYOUT}; CycleGAN datasets "
            "(e.g. horse2zebra) unpack to this layout from https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/."
        )
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


def resize_image(image: Tensor, size: int) -> Tensor:
    """uint8 (C, H, W) -> (C, size, size), bicubic with antialiasing (the reference code's default)."""
    from torchvision.transforms.v2 import functional as TF

    if image.shape[-2:] == (size, size):
        return image
    return TF.resize(image, [size, size], interpolation=TF.InterpolationMode.BICUBIC, antialias=True)


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


class UnpairedImageData(InMemoryData):
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
    """

    num_classes = 0  # no class labels: batches are (images_a, images_b)

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
        self._files: dict[str, list[Path]] = {}

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
            self._files[key] = list_images(self.root / key)
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

    def train_dataloader(self) -> DataLoader:
        return shuffled_loader(self.dataset("train"), self.batch_size, self.seed, self.num_workers, str(self.root))

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images_a, images_b, *rest = batch
        return (to_unit_range(images_a), to_unit_range(images_b), *rest)

    def real_samples(self, split: str = "test", n: int | None = None, domain: str = "B") -> Tensor:
        """The first ``n`` images of ``split`` in ``domain``, resized to ``crop_size``, float in [-1, 1]."""
        files = self.files(split, domain)
        if n is not None:
            if n > len(files):
                raise ValueError(f"asked for {n} real images but {self.root / (split + domain)} has {len(files)}.")
            files = files[:n]
        images = [resize_image(read_image(path, self.channels), self.crop_size) for path in files]
        return to_unit_range(torch.stack(images))


class UnpairedBatches:
    """Zips two ``InMemoryBatches`` with different seeds: each domain is shuffled on its own every epoch.

    Stateful like ``InMemoryBatches`` (its position is saved in checkpoints), so a resumed run continues
    mid-epoch with the same pairs of batches.
    """

    def __init__(self, batches_a: InMemoryBatches, batches_b: InMemoryBatches) -> None:
        self.batches = (batches_a, batches_b)

    def __len__(self) -> int:
        return min(len(b) for b in self.batches)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for (a,), (b,) in zip(*self.batches):
            yield a, b

    def state_dict(self) -> dict[str, Any]:
        return {"a": self.batches[0].state_dict(), "b": self.batches[1].state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches[0].load_state_dict(state["a"])
        self.batches[1].load_state_dict(state["b"])


TRANSFORMS = ("invert", "none")


class FashionMNISTPairData(InMemoryData):
    """Toy unpaired translation task from Fashion-MNIST, read offline (see ``FashionMNISTData``).

    Domain A: images whose label is in ``classes_a``, taken from the even positions of the split; domain B:
    images whose label is in ``classes_b``, from the odd positions, passed through ``transform_b``. Both
    domains are cut to the same size (``num_samples`` at most). Examples: the default (all classes,
    ``invert``) learns x -> 255 - x; ``classes_a=[7], classes_b=[9], transform_b="none"`` learns sneakers
    -> ankle boots.

    Args:
        data_dir, image_size: see ``FashionMNISTData``.
        classes_a, classes_b: Fashion-MNIST labels (0-9) per domain; ``None`` = all ten.
        transform_b: ``invert`` or ``none``.
        num_samples: images per domain (``None``: as many as the classes give).
        batch_size, seed: see ``InMemoryData``.
    """

    num_classes = 0  # batches are (images_a, images_b)

    def __init__(
        self,
        data_dir: str = DEBIAN_DIR,
        classes_a: list[int] | None = None,
        classes_b: list[int] | None = None,
        transform_b: str = "invert",
        num_samples: int | None = None,
        image_size: int = 28,
        batch_size: int = 16,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("transform_b", transform_b, TRANSFORMS)
        for name, classes in (("classes_a", classes_a), ("classes_b", classes_b)):
            if classes is not None and (not classes or any(c not in range(10) for c in classes)):
                raise ValueError(f"{name} must list Fashion-MNIST labels 0-9 (or be None for all); got {classes}.")
        if num_samples is not None:
            require_at_least("num_samples", num_samples, 1)
        self.source = FashionMNISTData(data_dir=data_dir, image_size=image_size)
        self.classes = (classes_a, classes_b)
        self.transform_b = transform_b
        self.num_samples = num_samples
        self.image_shape = self.source.image_shape

    def prepare_data(self) -> None:
        self.source.check_files()

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        images, labels = self.source.split(split)
        domains = []
        for parity, classes in enumerate(self.classes):
            keep = torch.arange(len(labels)) % 2 == parity
            if classes is not None:
                keep &= torch.isin(labels, torch.tensor(classes))
            domains.append(images[keep])
        n = min(len(d) for d in domains)
        if self.num_samples is not None:
            n = min(n, self.num_samples)
        images_a, images_b = domains[0][:n], domains[1][:n]
        if self.transform_b == "invert":
            images_b = 255 - images_b
        return images_a, images_b

    def train_dataloader(self) -> UnpairedBatches:
        trainer = self.trainer
        rank = trainer.global_rank if trainer is not None else 0
        world = trainer.world_size if trainer is not None else 1
        images_a, images_b = self.split("train")
        return UnpairedBatches(
            InMemoryBatches((images_a,), self.batch_size, self.seed, rank=rank, world_size=world),
            InMemoryBatches((images_b,), self.batch_size, self.seed + 1_000_003, rank=rank, world_size=world),
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images_a, images_b, *rest = batch
        return (to_unit_range(images_a), to_unit_range(images_b), *rest)

    def real_samples(self, split: str = "test", n: int | None = None, domain: str = "B") -> Tensor:
        """The first ``n`` images of ``domain`` in ``split`` as floats in [-1, 1]."""
        require_choice("domain", domain, DOMAINS)
        samples = self.split(split)[DOMAINS.index(domain)]
        if n is not None:
            if n > len(samples):
                raise ValueError(f"asked for {n} real samples but domain {domain} of {split!r} has {len(samples)}.")
            samples = samples[:n]
        return to_unit_range(samples.clone())


__all__ = ["FashionMNISTPairData", "UnpairedImageData", "UnpairedImages", "list_images", "read_image"]
