"""Fashion-MNIST (Xiao et al. 2017, arXiv 1708.07747), read offline from Debian's gzipped IDX files."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from datamodules.base import ImageDataModule, resize_uint8
from datamodules.idx import read_idx
from datamodules.subset import balanced_subset, check_subset
from zoo.validation import require_choice

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx(data_dir: Path, stem: str) -> Path | None:
    """``stem.gz`` or ``stem`` inside ``data_dir``, whichever exists."""
    for name in (stem + ".gz", stem):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


class FashionMNISTData(ImageDataModule):
    """Fashion-MNIST, 60k train / 10k test grayscale 28x28 images in 10 classes, served from memory.

    Reads the four IDX files (gzipped or not) from ``data_dir`` directly: Debian's
    ``dataset-fashion-mnist`` package installs them in /usr/share/datasets/fashion-mnist.

    Args:
        data_dir: folder holding train-images-idx3-ubyte(.gz) and friends.
        image_size: 28 (native), 32 (zero-padded) or 64 (bilinear) pixels.
        batch_size, seed: see ``ImageDataModule``.
        subset: train on ``subset`` images of the train split only, ``subset / 10`` of each class (data-limited
            training, e.g. 1000 or 5000 with DiffAugment); ``None``: all 60k. The test split is never cut.
        subset_seed: seeds the choice of the subset, apart from ``seed`` (which shuffles batches), so runs with
            different seeds train on the same images.
    """

    num_classes = 10

    def __init__(
        self,
        data_dir: str = DEBIAN_DIR,
        image_size: int = 28,
        batch_size: int = 64,
        seed: int = 0,
        subset: int | None = None,
        subset_seed: int = 0,
    ):
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("image_size", image_size, (28, 32, 64))
        if subset is not None:  # checked now; whether each class has subset / 10 images, when the labels are read
            subset = check_subset(subset, self.num_classes)
        self.subset = subset
        self.subset_seed = subset_seed
        self.data_dir = Path(data_dir)
        self.image_size = image_size
        self.image_shape = (1, image_size, image_size)

    def prepare_data(self) -> None:
        self.check_files()

    def check_files(self) -> None:
        missing = [stem for pair in FILES.values() for stem in pair if find_idx(self.data_dir, stem) is None]
        if missing:
            raise FileNotFoundError(
                f"Fashion-MNIST files missing from {self.data_dir}: {', '.join(missing)} (.gz). Install them "
                "with 'apt-get install -y dataset-fashion-mnist' (Debian/Ubuntu, as root), or download the four "
                "IDX files from https://github.com/zalandoresearch/fashion-mnist and pass data_dir=..."
            )

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        require_choice("split", split, FILES)
        self.check_files()
        image_stem, label_stem = FILES[split]
        images = read_idx(find_idx(self.data_dir, image_stem))
        labels = read_idx(find_idx(self.data_dir, label_stem)).long()
        if images.dim() != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise ValueError(f"{self.data_dir}: expected N x 28 x 28 images with N labels, got {tuple(images.shape)}")
        if split == "train" and self.subset is not None:
            keep = balanced_subset(labels, self.subset, self.subset_seed)
            images, labels = images[keep], labels[keep]
        return resize_uint8(images[:, None], self.image_size), labels
