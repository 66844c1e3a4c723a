"""``ConditionalNoiseToImageGAN``: the class-conditional form of the "noise -> image, one G, one D, n_critic"
contract, shared by cGAN, ACGAN and the projection discriminator GAN.

The schedule is ``NoiseToImageGAN``'s, unchanged (one critic update per real batch, a generator update every
``n_critic``-th); what changes is what the two losses see:

* the critic update reads (images, labels) from the batch (datamodules yield (x, y)) and hands
  ``discriminator_loss(real, real_labels, fake, fake_labels)`` the real images *with their own labels*, and a
  fake batch G(z, y') of as many fresh z, made under ``torch.no_grad()``, whose labels y' are drawn uniformly
  from the K classes (the common practice of the papers' code, e.g. the projection discriminator's updater;
  y' is independent of the real batch's labels);
* ``generator_loss(batch_size)`` draws its own fresh z and uniform labels (``generate_labelled``).

The model follows ``zoo.conditioning``'s interface with ``label_kind = "class"``: ``num_classes``,
``generate(n, labels=None)`` (labels cycle 0, 1, ..., K-1 when None), ``generate_from(z, labels)`` and
``sample_z`` (z only, as for the unconditional models). ``num_classes`` is taken from the datamodule in
``setup()`` when not given (as ``image_shape`` is) and recorded in the hyperparameters, so
``load_from_checkpoint`` rebuilds the same nets. Only the DCGAN net family (and MLPs for vectors) has
conditional versions (``zoo.nets.conditional``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from zoo.conditioning import check_labels, cycle_labels
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.nets.conditional import check_net_labels, require_num_classes

#: labelled datamodules a user can switch to (named in the errors)
LABELLED_DATA = "FashionMNISTData, MNISTData, CIFAR10Data or GaussianMixtureData"


class ConditionalNoiseToImageGAN(NoiseToImageGAN):
    """A generator G(z, y) and a discriminator that sees the class, trained on the datamodule's labels.

    Args:
        num_classes: K, the number of classes; ``None`` takes it from the datamodule (``num_classes``) in ``setup()``.
        **kwargs: ``NoiseToImageGAN``'s (latent_dim, n_critic, image_shape, width, norms, optimizer settings, ...);
            ``nets`` must be ``dcgan``.
    """

    label_kind = "class"

    def __init__(self, num_classes: int | None = None, **kwargs: Any) -> None:
        if num_classes is not None:
            require_num_classes(num_classes)
        if kwargs.get("nets", "dcgan") != "dcgan":
            raise ValueError(
                f"{type(self).__name__}: the conditional nets are built on the DCGAN family only, got "
                f"nets={kwargs['nets']!r}; use nets='dcgan' (the default)."
            )
        super().__init__(**kwargs)

    # ------------------------------------------------------------ the classes
    @property
    def num_classes(self) -> int | None:
        """K, or ``None`` until the datamodule has told it (``setup``)."""
        return self.hparams.get("num_classes")

    def build_networks(self, image_shape: Sequence[int]) -> None:
        if self.num_classes is None:  # the shape is known, the classes not yet: both are needed, build in setup()
            self.hparams["image_shape"] = [int(s) for s in image_shape]
            return
        super().build_networks(image_shape)

    def setup(self, stage: str) -> None:
        self._adopt_num_classes(stage)
        if self.generator is None and self.image_shape is not None:
            self.build_networks(self.image_shape)  # image_shape was given, num_classes came from the data
        super().setup(stage)

    def _adopt_num_classes(self, stage: str) -> None:
        trainer = self._trainer
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        data_classes = getattr(datamodule, "num_classes", None)
        labelled = isinstance(data_classes, int) and not isinstance(data_classes, bool) and data_classes > 0
        name, data_name = type(self).__name__, type(datamodule).__name__
        if self.num_classes is None:
            if not labelled:
                where = "no datamodule" if datamodule is None else f"{data_name} has no class labels"
                raise ValueError(
                    f"{name} is class-conditional and does not know num_classes: {where} "
                    f"(num_classes={data_classes!r}). Train it on a labelled datamodule ({LABELLED_DATA}), or pass "
                    "num_classes=K with data that yields (samples, labels) batches, labels in [0, K)."
                )
            self.hparams["num_classes"] = require_num_classes(data_classes)
        elif stage == "fit" and datamodule is not None and data_classes != self.num_classes:
            if not labelled:
                raise ValueError(
                    f"{name} trains on class labels, but {data_name} has none (num_classes={data_classes!r}): "
                    f"use a labelled datamodule ({LABELLED_DATA})."
                )
            raise ValueError(
                f"{name} was built for num_classes={self.num_classes} but {data_name} has {data_classes} classes: "
                "drop num_classes from the model (it is then taken from the data) or use matching data."
            )

    # ---------------------------------------------------------------- sampling
    def sample_labels(self, n: int) -> Tensor:
        """n labels drawn uniformly from the K classes (int64, on the module's device)."""
        return torch.randint(0, self.num_classes, (n,), device=self.device)

    def generate_from(self, z: Tensor, labels: Any) -> Tensor:
        """G(z, labels); ``labels``: n class indices in [0, K) (checked, ``zoo.conditioning.check_labels``)."""
        labels = check_labels(labels, len(z), self.num_classes, type(self).__name__)
        return self.generator(z, labels.to(z.device))

    def generate(self, n: int, labels: Any = None) -> Tensor:
        """n samples G(z, y) with fresh z; y = ``labels`` (checked) or, when None, 0, 1, ..., K-1, 0, 1, ..."""
        z = self.sample_z(n)
        return self.generate_from(z, cycle_labels(len(z), self.num_classes, z.device) if labels is None else labels)

    def forward(self, z: Tensor, labels: Any = None) -> Tensor:
        """G(z, labels), labels cycling through the classes when None."""
        return self.generate_from(z, cycle_labels(len(z), self.num_classes, z.device) if labels is None else labels)

    def generate_labelled(self, n: int) -> tuple[Tensor, Tensor]:
        """(G(z, y), y) for n fresh z and n labels drawn uniformly: the generator update's samples (gradients
        flow unless the caller disables them)."""
        labels = self.sample_labels(n)
        return self.generator(self.sample_z(n), labels), labels

    # -------------------------------------------------------- variant interface
    def discriminator_loss(  # type: ignore[override]
        self, real: Tensor, real_labels: Tensor, fake: Tensor, fake_labels: Tensor
    ) -> dict[str, Tensor]:
        """Loss dict for one critic update: ``real`` with the batch's own ``real_labels``, ``fake`` = G(z, y')
        (no graph into G) with the labels ``fake_labels`` = y' it was generated with."""
        raise NotImplementedError

    # ------------------------------------------------------------------ training
    def labels_from_batch(self, batch: Any) -> Tensor:
        """The labels of an (samples, labels) batch: integer class indices, one per sample."""
        if not (isinstance(batch, list | tuple) and len(batch) >= 2):
            raise ValueError(
                f"{type(self).__name__} trains on (samples, labels) batches, got {type(batch).__name__}: use a "
                f"labelled datamodule ({LABELLED_DATA})."
            )
        return check_net_labels(batch[1], len(batch[0]), self.num_classes).long()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        self._real_labels = self.labels_from_batch(batch)  # read by critic_loss, inside NoiseToImageGAN's schedule
        super().training_step(batch, batch_idx)

    def critic_loss(self, real: Tensor) -> dict[str, Tensor]:
        """``discriminator_loss`` on the real batch with its labels and G(z, y') for y' uniform, made under
        ``torch.no_grad()``."""
        fake_labels = self.sample_labels(len(real))
        with torch.no_grad():
            fake = self.generator(self.sample_z(len(real)), fake_labels)
        return self.discriminator_loss(real, self._real_labels, fake, fake_labels)
