"""``FashionMNISTPairData``: a tiny offline unpaired translation task built from Fashion-MNIST for CycleGAN.

Small enough to learn a translation on a CPU in minutes. Domain A: images of ``classes_a``; domain B: images of
``classes_b`` passed through ``transform_b`` (``invert`` by default: white garments become dark ones on a white
background). A and B come from disjoint halves of the images and are shuffled independently (``UnpairedBatches``),
so nothing pairs them. Batches are (images_a, images_b), each float in [-1, 1] on the model's side.
"""

from __future__ import annotations

import torch
from torch import Tensor

from datamodules.base import DOMAINS, TwoDomainData, to_unit_range
from datamodules.batches import InMemoryBatches, UnpairedBatches
from datamodules.fashion_mnist import DEBIAN_DIR, FashionMNISTData
from zoo.validation import require_at_least, require_choice

TRANSFORMS = ("invert", "none")


class FashionMNISTPairData(TwoDomainData):
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
        batch_size, seed: see ``ImageDataModule``.
    """

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
        rank, world = self.rank_and_world_size()
        images_a, images_b = self.split("train")
        return UnpairedBatches(
            InMemoryBatches((images_a,), self.batch_size, self.seed, rank=rank, world_size=world),
            InMemoryBatches((images_b,), self.batch_size, self.seed + 1_000_003, rank=rank, world_size=world),
        )

    def real_samples(self, split: str = "test", n: int | None = None, domain: str = "B") -> Tensor:
        """The first ``n`` images of ``domain`` in ``split`` as floats in [-1, 1]."""
        require_choice("domain", domain, DOMAINS)
        samples = self.split(split)[DOMAINS.index(domain)]
        if n is not None:
            if n > len(samples):
                raise ValueError(f"asked for {n} real samples but domain {domain} of {split!r} has {len(samples)}.")
            samples = samples[:n]
        return to_unit_range(samples.clone())
