"""``TrainingSummary``: adds the run's counters, throughput and last logged values to ``metrics.json``."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from callbacks.metrics_file import contribute, metrics_json_path
from callbacks.steps import generator_steps


class TrainingSummary(L.Callback):
    """At the end of ``fit``, write the last logged metrics, step counters and wall time as JSON, with ``"status"``
    ``"completed"``; a run stopped by SIGTERM writes the same with ``"status": "interrupted (SIGTERM)"``.

    Written through ``callbacks.metrics_file`` (one writer: the other callbacks' parts of the same fit are kept,
    whatever order the callbacks run in). Default path: ``<trainer.default_root_dir>/metrics.json``.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._start = 0.0
        self._start_g_steps = 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._start_g_steps = generator_steps(trainer, pl_module)

    def summary(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        wall = time.perf_counter() - self._start
        g_steps = generator_steps(trainer, pl_module)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        return {
            "model": type(pl_module).__name__,
            "datamodule": type(trainer.datamodule).__name__ if trainer.datamodule is not None else None,
            "d_steps": int(getattr(pl_module, "d_steps", 0)),
            "g_steps": g_steps,
            "global_step": trainer.global_step,
            "epochs": trainer.current_epoch,
            "wall_time_s": round(wall, 3),
            "g_steps_per_s": round((g_steps - self._start_g_steps) / wall, 3) if wall > 0 else None,
            "metrics": metrics,
            "hparams": {k: v for k, v in pl_module.hparams.items() if isinstance(v, int | float | str | list)},
            "hardware": {
                "platform": platform.platform(),
                "torch": torch.__version__,
                "device": str(pl_module.device),
            },
        }

    def output_folders(self, trainer: L.Trainer) -> list[tuple[str, Path, str]]:
        """The folder this callback writes, for ``RunOutputs``' check before the first step."""
        return [("metrics.json", metrics_json_path(trainer, self.path).parent, "--summary.path")]

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, status: str) -> None:
        summary = {**self.summary(trainer, pl_module), "status": status}
        contribute(trainer, summary, metrics=summary["metrics"], path=self.path)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, pl_module, "completed")

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):  # preempted: the summary a normal end writes, marked as such
            self.write(trainer, pl_module, "interrupted (SIGTERM)")
