"""``DiscriminatorOverfitting``: is the discriminator memorizing its training images? Karras et al. 2020's measures.

Karras, Aittala, Hellsten, Laine, Lehtinen, Aila, "Training Generative Adversarial Networks with Limited Data",
NeurIPS 2020 (arXiv 2006.06676), Section 3, eq. (1):

    r_v = (E[D_train] - E[D_validation]) / (E[D_train] - E[D_generated]),        r_t = E[sign(D_train)],

with D_train, D_validation and D_generated the discriminator's outputs on training images, held-out real images
and generated images. r_v = 0: D scores held-out real images like the images it trains on (no overfitting);
r_v = 1: it scores them like fakes (it has learned its training set, not the distribution). r_t -> 1: D's logit
calls (almost) every training image real; ADA tunes its augmentation probability to hold r_t at 0.6. r_v is
invariant to shifting and scaling D's output, and to flipping its sign, so it reads the same for a logit (GAN,
hinge), a critic (WGAN) or a least-squares score (LSGAN); r_t only means something for outputs centred on 0
(a logit, the hinge's margin).

Every ``every`` discriminator updates (and when training ends) the callback scores ``n`` training images, ``n``
held-out images and ``n`` fakes G(z) of fixed z with *copies* of the nets in their training mode: batch norm
normalizes with batch statistics in batches of ``batch_size`` as in a training step, and DiffAugment's T (when the
model has one) transforms each set with the same draws (the RNG is reseeded before each), as D sees images in
training. The model's nets, buffers and RNG streams are untouched, so a run with the callback trains what it
trains without it. Each measurement is appended to ``history`` (saved in checkpoints, so a resumed run keeps the
measurements before the stop) and, during training, logged (``overfit/r_v``, ...).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from zoo.sampling import fixed_z
from zoo.validation import require_at_least

#: the values of one measurement besides the step counters
MEASURES = (
    "d_train",
    "d_held_out",
    "d_fake",
    "r_v",
    "r_t",
    "r_t_held_out",
    "real_rate_train",
    "real_rate_held_out",
)


def overfitting_measures(d_train: Tensor, d_held_out: Tensor, d_fake: Tensor) -> dict[str, float]:
    """Karras et al. 2020, eq. (1), from D's outputs (one score per image, higher = "real" or its negation).

    ``r_t_held_out`` and the ``real_rate_*`` (share of outputs > 0) are the same statistics on held-out images:
    a gap between the train and held-out columns is the overfitting r_v measures."""
    m_train, m_held_out, m_fake = (float(t.double().mean()) for t in (d_train, d_held_out, d_fake))
    spread = m_train - m_fake
    return {
        "d_train": m_train,
        "d_held_out": m_held_out,
        "d_fake": m_fake,
        "r_v": (m_train - m_held_out) / spread if spread != 0 else math.nan,
        "r_t": float(torch.sign(d_train).double().mean()),
        "r_t_held_out": float(torch.sign(d_held_out).double().mean()),
        "real_rate_train": float((d_train > 0).double().mean()),
        "real_rate_held_out": float((d_held_out > 0).double().mean()),
    }


def scores_in_batches(discriminator: nn.Module, images: Tensor, batch_size: int, seed: int) -> Tensor:
    """D's output, one score per image, in batches of ``batch_size`` after reseeding the RNG with ``seed``."""
    torch.manual_seed(seed)
    out = [discriminator(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    if not all(isinstance(o, Tensor) for o in out):
        raise ValueError(
            f"DiscriminatorOverfitting needs one score per image, but the discriminator returns "
            f"{type(out[0]).__name__} (several heads, as InfoGAN's D and Q?). Use it with variants whose discriminator "
            "outputs a score (GAN, LSGAN, WGAN, WGAN-GP, hinge, SNGAN, DRAGAN, f-GAN)."
        )
    scores = torch.cat([o.reshape(len(o), -1) for o in out])
    if scores.shape[1] != 1:
        raise ValueError(
            f"DiscriminatorOverfitting needs one score per image, but the discriminator returns {scores.shape[1]} "
            "values per image (an autoencoder discriminator's reconstruction, as in BEGAN or EBGAN?). Use it with "
            "variants whose discriminator outputs a score (GAN, LSGAN, WGAN, WGAN-GP, hinge, SNGAN, DRAGAN, f-GAN)."
        )
    return scores[:, 0].float()


class DiscriminatorOverfitting(L.Callback):
    """Log Karras et al. 2020's r_v and r_t (eq. 1) every ``every`` discriminator updates.

    Args:
        every: measure after every ``every``-th D update (and at the end of training).
        n: images per set (training, held-out, fake). The first ``n`` of the datamodule's ``train`` split (its
            ``subset`` when it has one) and of its ``test`` split, unless the images are given.
        batch_size: images per D call; ``None``: the datamodule's ``batch_size`` (the training batch size, so batch
            norm sees batches of the size it trains on), 64 without one.
        seed: seeds z of the fakes and the augmentation draws of every measurement.
        train_images, held_out_images: (N, C, H, W) in [-1, 1]; by default taken from the datamodule.
    """

    def __init__(
        self,
        every: int = 100,
        n: int = 1000,
        batch_size: int | None = None,
        seed: int = 0,
        train_images: Tensor | None = None,
        held_out_images: Tensor | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("every", every), ("n", n), ("batch_size", 1 if batch_size is None else batch_size)):
            require_at_least(f"DiscriminatorOverfitting: {name}", value, 1)
        self.every, self.n, self.seed = int(every), int(n), int(seed)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.train_images, self.held_out_images = train_images, held_out_images
        self.history: list[dict[str, float]] = []

    @property
    def state_key(self) -> str:
        return self._generate_state_key(every=self.every, n=self.n, seed=self.seed)

    def state_dict(self) -> dict[str, Any]:
        """The measurements so far: checkpoints carry them, so a resumed run's ``history`` is the whole run's."""
        return {"history": [dict(row) for row in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(row) for row in state_dict.get("history", [])]

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not hasattr(pl_module, "discriminator") or not hasattr(pl_module, "sample_z"):
            raise ValueError(
                f"DiscriminatorOverfitting measures a model with one `discriminator` and a latent prior "
                f"(`sample_z`); {type(pl_module).__name__} has not both."
            )
        if getattr(pl_module, "label_kind", None) == "class":
            raise ValueError(
                f"DiscriminatorOverfitting scores D(x); {type(pl_module).__name__}'s discriminator also takes the "
                "class (D(x, y)), which this callback does not feed. Use it with an unconditional variant."
            )
        data = trainer.datamodule
        if self.batch_size is None:
            self.batch_size = int(getattr(data, "batch_size", 64))
        if self.train_images is None or self.held_out_images is None:
            if data is None or not hasattr(data, "real_samples") or not hasattr(data, "split"):
                raise ValueError(
                    "DiscriminatorOverfitting takes its images from an ImageDataModule (its train and test splits); "
                    "this run has none: pass train_images= and held_out_images= (N, C, H, W) in [-1, 1]."
                )
            for attribute, split in (("train_images", "train"), ("held_out_images", "test")):
                if getattr(self, attribute) is None:
                    setattr(self, attribute, data.real_samples(split, min(self.n, len(data.split(split)[0]))))
        n = min(len(self.train_images), len(self.held_out_images), self.n)
        self.train_images, self.held_out_images = self.train_images[:n], self.held_out_images[:n]

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        d_steps = int(getattr(pl_module, "d_steps", trainer.global_step))
        if d_steps % self.every == 0:
            row = self.measure(pl_module, d_steps)
            if row is not None:
                pl_module.log_dict({f"overfit/{k}": row[k] for k in MEASURES if math.isfinite(row[k])})

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.measure(pl_module, int(getattr(pl_module, "d_steps", trainer.global_step)))

    def measure(self, pl_module: L.LightningModule, d_steps: int) -> dict[str, float] | None:
        """One measurement (skipped when this D step was measured already); returns it."""
        if self.history and self.history[-1]["d_steps"] == d_steps:
            return None
        device = pl_module.device
        batch = self.batch_size or 64
        discriminator = copy.deepcopy(pl_module.discriminator).train()
        generator = copy.deepcopy(pl_module.generator).train()
        train_images = self.train_images.to(device)
        held_out = self.held_out_images.to(device)
        with torch.no_grad(), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            z = fixed_z(pl_module, len(train_images), self.seed)
            fakes = torch.cat([generator(z[i : i + batch]) for i in range(0, len(z), batch)])
            scores = [scores_in_batches(discriminator, x, batch, self.seed) for x in (train_images, held_out, fakes)]
        row = {
            "d_steps": d_steps,
            "g_steps": int(getattr(pl_module, "g_steps", 0)),
            **overfitting_measures(*scores),
        }
        self.history.append(row)
        return row
