"""``SampleGrid``: a fixed-noise grid of generated images, saved as PNG and sent to the attached loggers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor
from torchvision.utils import make_grid, save_image

from callbacks.steps import generator_steps
from zoo.sampling import fixed_z_samples, generator_weights, resolve_weights
from zoo.validation import require_at_least


def log_image(logger: Logger, key: str, grid: Tensor, step: int) -> None:
    """Send a (3, H, W) image in [0, 1] to a logger that can show images; CSV and others get the file only."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key=key, images=[grid], step=step)
    elif isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, grid, global_step=step)


class SampleGrid(L.Callback):
    """Every ``every_n_steps`` generator updates (and at the end of training), draw ``G(z)`` for a fixed z.

    The same z (seeded by ``seed``) is used each time, so grids show how the generator evolves. Files go
    to ``dirpath`` (default ``<trainer.default_root_dir>/samples``) as ``step_<g_steps>.png`` and
    ``last.png``; attached W&B and TensorBoard loggers receive the image under ``key``.
    Only image data is drawn; for vector data (toy mixtures) the callback does nothing.

    The model must provide ``sample_z(n, generator)`` and ``generator`` (every ``AdversarialModule`` does); a
    model with a ``grid_images(n, generator, nrow)`` method (images in [-1, 1], laid out ``nrow`` per row) is
    drawn from that instead (VAE-GAN: samples and input/reconstruction rows; CycleGAN: translation rows).

    ``weights``: ``auto`` draws from the generator EMA when the model keeps one (``ema_decay``), else from the
    trained generator; ``ema`` or ``raw`` choose (``zoo.sampling.generator_weights``).
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        num_samples: int = 64,
        nrow: int = 8,
        seed: int = 1234,
        dirpath: str | None = None,
        key: str = "samples",
        weights: str = "auto",
    ) -> None:
        require_at_least("every_n_steps", every_n_steps, 1)
        require_at_least("num_samples", num_samples, 1)
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.nrow = nrow
        self.seed = seed
        self.dirpath = dirpath
        self.key = key
        self.weights = weights
        self._last_step = -1

    def grid(self, pl_module: L.LightningModule) -> Tensor:
        """The current grid as a (3, H, W) float image in [0, 1], drawn with the ``weights`` selected."""
        generator = torch.Generator().manual_seed(self.seed)
        grid_images = getattr(pl_module, "grid_images", None)
        with generator_weights(pl_module, self.weights):
            if callable(grid_images):  # variants with more than samples to show (VAE-GAN, CycleGAN)
                images = grid_images(self.num_samples, generator=generator, nrow=self.nrow).float().cpu()
            else:
                images = fixed_z_samples(pl_module, self.num_samples, self.seed)
        return make_grid(images, nrow=self.nrow, normalize=True, value_range=(-1, 1), pad_value=1.0)

    def write(self, pl_module: L.LightningModule, path: str | Path) -> Tensor:
        """Draw the current grid and save it as a PNG at ``path``; returns the grid."""
        grid = self.grid(pl_module)
        save_image(grid, path)
        return grid

    def weights_used(self, pl_module: L.LightningModule) -> str:
        """``"ema"`` or ``"raw"``: the weights this callback draws ``pl_module``'s grids from."""
        return resolve_weights(pl_module, self.weights)

    def folder(self, trainer: L.Trainer) -> Path:
        """Where the grids go: ``dirpath``, or ``<trainer.default_root_dir>/samples``."""
        return Path(self.dirpath or Path(trainer.default_root_dir) / "samples")

    def output_folders(self, trainer: L.Trainer) -> list[tuple[str, Path, str]]:
        """The folder this callback writes, for ``RunOutputs``' check before the first step."""
        return [("sample grids", self.folder(trainer), "--sample_grid.dirpath (SampleGrid(dirpath=...))")]

    def save(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Path | None:
        image_shape = getattr(pl_module, "image_shape", None)
        if image_shape is None or len(image_shape) != 3:
            return None
        step = generator_steps(trainer, pl_module)
        if step == self._last_step:
            return None
        self._last_step = step
        grid = self.grid(pl_module)
        if not trainer.is_global_zero:
            return None
        out = self.folder(trainer)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"step_{step:07d}.png"
        save_image(grid, path)
        save_image(grid, out / "last.png")
        for logger in trainer.loggers:
            log_image(logger, self.key, grid, trainer.global_step)
        return path

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = generator_steps(trainer, pl_module)
        if step > 0 and step % self.every_n_steps == 0:
            self.save(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):  # preempted: leave the grid a normal end leaves
            self.save(trainer, pl_module)
