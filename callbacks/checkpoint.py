"""``ZooCheckpoint``: ``ModelCheckpoint`` that keeps a resumable ``last.ckpt`` in a fixed place."""

from __future__ import annotations

import os
import random
import warnings
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

# Lightning warns that under manual optimization a step-interval checkpoint holds the state *after* the
# step. That is what we want: the checkpoint is taken between training steps, and resume continues from it.
warnings.filterwarnings("ignore", message=".*ModelCheckpoint with manual optimization.*")


def rng_states() -> dict[str, Any]:
    """Every global RNG that a training step may draw from (torch CPU/CUDA, NumPy, Python)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        # plain types and tensors only, so checkpoints load with weights_only=True
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class ZooCheckpoint(ModelCheckpoint):
    """Saves ``last.ckpt`` every ``every_n_train_steps`` optimizer steps and when training ends.

    With no ``dirpath`` it writes to ``<trainer.default_root_dir>/checkpoints`` (not the logger's versioned
    folder), so ``fit(..., ckpt_path="last")`` / ``gan-zoo fit ... --ckpt_path last`` finds the checkpoint of
    the previous run in the same ``default_root_dir`` and resumes it. The checkpoint also carries the
    global RNG states, so a resumed run draws the same z as an uninterrupted one.
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

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._default_dir(trainer)
        super().setup(trainer, pl_module, stage)

    def _find_last_checkpoints(self, trainer: L.Trainer) -> set[str]:
        self._default_dir(trainer)
        return super()._find_last_checkpoints(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._last_global_step_saved and not trainer.sanity_checking:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["rng_states"] = rng_states()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        states = state_dict.pop("rng_states", None)
        super().load_state_dict(state_dict)
        if states is not None:
            set_rng_states(states)
