"""When callbacks act: the generator's update count, the step every schedule in ``callbacks`` follows."""

from __future__ import annotations

import lightning as L


def generator_steps(trainer: L.Trainer, pl_module: L.LightningModule) -> int:
    """Generator updates so far (the model's ``g_steps``); ``trainer.global_step`` for models without it.

    ``global_step`` counts every optimizer step of every optimizer, so a GAN with n_critic = 5 would reach
    step 600 after only 100 generator updates: schedules follow the generator instead.
    """
    return int(getattr(pl_module, "g_steps", trainer.global_step))
