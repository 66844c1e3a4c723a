"""``ZooCheckpoint``: ``ModelCheckpoint`` that keeps a resumable ``last.ckpt`` in a fixed place."""

from __future__ import annotations

import os
import warnings
from typing import Any
from weakref import proxy

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from callbacks.run_outputs import require_writable_folder

CHECKPOINT_OPTION = "--checkpoint.dirpath (ZooCheckpoint(dirpath=...))"

# Lightning warns that under manual optimization a step-interval checkpoint holds the state *after* the
# step. That is what we want: the checkpoint is taken between training steps, and resume continues from it.
warnings.filterwarnings("ignore", message=".*ModelCheckpoint with manual optimization.*")


class ZooCheckpoint(ModelCheckpoint):
    """Saves ``last.ckpt`` every ``every_n_train_steps`` optimizer steps and when training ends.

    With no ``dirpath`` it writes to ``<trainer.default_root_dir>/checkpoints`` (not the logger's versioned
    folder), so ``fit(..., ckpt_path="last")`` / ``gan-zoo fit ... --ckpt_path last`` finds the checkpoint of
    the previous run in the same ``default_root_dir`` and resumes it. Writes are atomic (temp file +
    rename); SIGTERM saves ``last.ckpt`` before the process exits.
    """

    def __init__(
        self,
        every_n_train_steps: int | None = 1000,
        save_top_k: int = 0,
        save_last: bool | str = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(every_n_train_steps=every_n_train_steps, save_top_k=save_top_k, save_last=save_last, **kwargs)

    def _default_dir(self, trainer: L.Trainer) -> None:
        if self.dirpath is None:
            self.dirpath = os.path.join(trainer.default_root_dir, "checkpoints")

    def _find_last_checkpoints(self, trainer: L.Trainer) -> set[str]:
        self._default_dir(trainer)
        return super()._find_last_checkpoints(trainer)

    def output_folders(self, trainer: L.Trainer) -> list[tuple[str, str, str]]:
        """The folder this callback writes, for ``RunOutputs``' check before the first step."""
        return [
            ("checkpoints", self.dirpath or os.path.join(trainer.default_root_dir, "checkpoints"), CHECKPOINT_OPTION)
        ]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._default_dir(trainer)
        if trainer.is_global_zero:
            require_writable_folder(self.dirpath, "checkpoints", CHECKPOINT_OPTION)
            os.makedirs(self.dirpath, exist_ok=True)
        super().setup(trainer, pl_module, stage)

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        """Write to ``<file>.tmp`` then rename: a kill mid-write never leaves a truncated ``last.ckpt``."""
        tmp = f"{filepath}.tmp"
        trainer.save_checkpoint(tmp, self.save_weights_only)
        if trainer.is_global_zero:
            os.replace(tmp, filepath)
        trainer.strategy.barrier("zoo_checkpoint_rename")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        # Single-process Lightning only acts on SIGTERM at the end of an epoch; a preempted job may not have that
        # long. Save now and stop (multi-rank runs get SIGTERMException from Lightning between batches).
        if getattr(trainer, "received_sigterm", False):
            if trainer.global_step != self._last_global_step_saved:
                self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
            raise SIGTERMException()

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        """On SIGTERM (SLURM preemption, ``kill``) save ``last.ckpt`` before exiting; other errors save nothing
        (a diverged or crashed state must not overwrite the last good checkpoint)."""
        if isinstance(exception, SIGTERMException) and trainer.global_step != self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        super().on_exception(trainer, pl_module, exception)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._last_global_step_saved and not trainer.sanity_checking:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
