"""``SampleGrid``: a fixed-noise grid of generated images, saved as PNG and sent to the attached loggers.

Conditional models (``zoo.conditioning``) get a grid with one row per label: ``class_rows`` (cGAN, ACGAN,
projection; InfoGAN without continuous codes) and ``code_sweep`` (InfoGAN: its first continuous code swept from -2
to 2 along each row, as Chen et al. 2016, Fig. 2, sweep beyond the training range U(-1, 1)).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image

from callbacks.steps import generator_steps
from zoo.conditioning import check_labels, is_conditional
from zoo.sampling import draw, eval_mode, fixed_z, fixed_z_samples, generator_weights, resolve_weights
from zoo.validation import require_at_least

#: the range ``code_sweep`` moves InfoGAN's first continuous code through (trained on U(-1, 1))
SWEEP = (-2.0, 2.0)


def grid_labels(model: nn.Module, labels: Sequence[int] | None) -> Tensor:
    """The rows of a conditional grid: ``labels`` checked against the model's label range, or every label 0..K-1.
    ``ValueError`` for labels out of range or labels given to an unconditional model."""
    if not is_conditional(model):
        if labels is not None:
            raise ValueError(
                f"labels {list(labels)} were given, but {type(model).__name__} is unconditional (it has no "
                "num_classes / label_kind): drop the labels, or sample a conditional model (CGAN, ACGAN, "
                "ProjectionGAN, InfoGAN)."
            )
        raise ValueError(f"{type(model).__name__} is unconditional: it has no labels to draw rows of.")
    if labels is None:
        return torch.arange(model.num_classes)
    if not len(labels):
        raise ValueError("labels: give at least one label (or None for every label).")
    try:
        return check_labels(torch.as_tensor(list(labels)), len(labels), model.num_classes, type(model).__name__)
    except TypeError as err:
        raise ValueError(str(err)) from None


@torch.no_grad()
def class_rows(model: nn.Module, labels: Tensor, columns: int, seed: int) -> Tensor:
    """A conditional model's samples for a grid with one row per label in ``labels`` and ``columns`` columns, row by
    row (rows = labels, columns = samples): column j is drawn from the same z (``fixed_z(model, columns, seed)[j]``)
    in every row, so a column shows one latent code across the labels. Eval mode, no gradients, on the CPU."""
    z = fixed_z(model, columns, seed)
    rows = labels.repeat_interleave(columns)
    with eval_mode(model.generator):
        return draw(model, z.repeat(len(labels), 1), rows.to(z.device)).float().cpu()


@torch.no_grad()
def code_sweep(model: nn.Module, codes: Tensor, columns: int, seed: int, span: tuple[float, float] = SWEEP) -> Tensor:
    """InfoGAN's code sweep, row by row: row r has categorical code ``codes[r]``, column j the first continuous code
    at ``linspace(*span, columns)[j]``; the noise is one draw (``fixed_z(model, 1, seed)``) for the whole grid and the
    other continuous codes are held at 0. Needs ``num_continuous`` > 0 (the last columns of ``sample_z``)."""
    continuous = int(model.num_continuous)
    if continuous < 1:
        raise ValueError(f"{type(model).__name__} has no continuous code to sweep (num_continuous = 0).")
    base = fixed_z(model, 1, seed)
    first = base.shape[1] - continuous  # the first continuous code's column
    z = base.repeat(len(codes) * columns, 1)
    z[:, first:] = 0.0
    z[:, first] = torch.linspace(*span, columns).repeat(len(codes)).to(z)
    rows = codes.repeat_interleave(columns)
    with eval_mode(model.generator):
        return draw(model, z, rows.to(z.device)).float().cpu()


def conditional_samples(model: nn.Module, labels: Sequence[int] | None, columns: int, seed: int) -> Tensor:
    """A conditional model's grid samples, ``columns`` per row: a code sweep for a model with ``label_kind`` "code"
    and continuous codes (InfoGAN), else one row per label with the same z down each column."""
    rows = grid_labels(model, labels)
    if model.label_kind == "code" and int(getattr(model, "num_continuous", 0) or 0) > 0:
        return code_sweep(model, rows, columns, seed)
    return class_rows(model, rows, columns, seed)


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

    Conditional models (``zoo.conditioning``) are drawn one row per label (``labels``, default every label 0..K-1)
    of ``nrow`` columns (``num_samples`` is not used): with ``label_kind`` "class" every column is one z across the
    classes (``class_rows``); an InfoGAN with continuous codes (``label_kind`` "code", ``num_continuous`` > 0) gets
    its code sweep: rows are the categorical code values, columns the first continuous code from -2 to 2, the noise
    the same throughout (``code_sweep``). Unconditional models are drawn as before.
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
        labels: list[int] | None = None,
    ) -> None:
        require_at_least("every_n_steps", every_n_steps, 1)
        require_at_least("num_samples", num_samples, 1)
        require_at_least("nrow", nrow, 1)
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.nrow = nrow
        self.seed = seed
        self.dirpath = dirpath
        self.key = key
        self.weights = weights
        self.labels = None if labels is None else [int(label) for label in labels]
        self._last_step = -1

    def grid(self, pl_module: L.LightningModule) -> Tensor:
        """The current grid as a (3, H, W) float image in [0, 1], drawn with the ``weights`` selected."""
        generator = torch.Generator().manual_seed(self.seed)
        grid_images = getattr(pl_module, "grid_images", None)
        with generator_weights(pl_module, self.weights):
            if is_conditional(pl_module) or self.labels is not None:  # one row per label
                images = conditional_samples(pl_module, self.labels, self.nrow, self.seed)
            elif callable(grid_images):  # variants with more than samples to show (VAE-GAN, CycleGAN)
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
