"""MNIST (LeCun et al. 1998) through torchvision's download path, served from memory."""

from __future__ import annotations

from torch import Tensor

from datamodules.base import ImageDataModule, resize_uint8
from zoo.validation import require_choice


class MNISTData(ImageDataModule):
    """MNIST digits, 60k train / 10k test grayscale 28x28, 10 classes.

    ``prepare_data`` downloads with ``torchvision.datasets.MNIST(data_dir, download=download)`` into
    ``data_dir/MNIST/raw``; the uint8 tensors it loads are then served from memory.

    Args:
        data_dir: torchvision root folder.
        download: fetch the files when missing (needs network).
        image_size: 28 (native), 32 (zero-padded) or 64 (bilinear) pixels.
    """

    num_classes = 10

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = True,
        image_size: int = 28,
        batch_size: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        require_choice("image_size", image_size, (28, 32, 64))
        self.data_dir = data_dir
        self.download = download
        self.image_size = image_size
        self.image_shape = (1, image_size, image_size)

    def _dataset(self, train: bool):  # torchvision.datasets.MNIST
        from torchvision.datasets import MNIST

        try:
            return MNIST(self.data_dir, train=train, download=self.download)
        except RuntimeError as err:
            raise FileNotFoundError(
                f"MNIST not found under {self.data_dir}/MNIST/raw ({err}). Pass download=True with network "
                "access, or place the four IDX files (train-images-idx3-ubyte, ...) there."
            ) from err

    def prepare_data(self) -> None:
        self._dataset(True)
        self._dataset(False)

    def load_split(self, split: str) -> tuple[Tensor, Tensor]:
        require_choice("split", split, ("train", "test"))
        dataset = self._dataset(split == "train")
        return resize_uint8(dataset.data[:, None], self.image_size), dataset.targets.long()
