"""``DivergenceGuard``: stop a run whose losses or parameters become NaN/Inf, before it is checkpointed."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class TrainingDivergedError(RuntimeError):
    """Raised by ``DivergenceGuard``; the message names the step, the net and the loss term."""


class DivergenceGuard(L.Callback):
    """After every training step, check the step's losses and (every ``check_params_every_n_steps``) every
    parameter for NaN/Inf. On the first non-finite value the run stops with ``TrainingDivergedError``.

    Lightning runs checkpoint callbacks after all others, so the diverged state is never written: the
    previous ``last.ckpt`` stays intact and loadable. Each check reduces every tensor to its sum (NaN and Inf
    propagate) with one host sync per net.
    """

    def __init__(self, check_params_every_n_steps: int = 1) -> None:
        self.check_params_every_n_steps = check_params_every_n_steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = int(getattr(pl_module, "d_steps", trainer.global_step))
        losses = getattr(pl_module, "last_losses", {})
        if losses:
            values = torch.stack([v.detach().float().reshape(()) for v in losses.values()])
            if not bool(torch.isfinite(values).all()):
                bad = [k for k, v in losses.items() if not torch.isfinite(v).all()]
                raise TrainingDivergedError(
                    f"training diverged at D step {step}: non-finite loss term(s) {', '.join(bad)}. The last good "
                    "checkpoint is untouched; lower the learning rate, enable grad_clip_val, or check the data."
                )
        if self.check_params_every_n_steps and step % self.check_params_every_n_steps == 0:
            for name, net in pl_module.named_children():
                # one sum per tensor (NaN/Inf propagate through sums), one host sync per net, no copy
                sums = [p.detach().sum() for p in net.parameters()]
                if sums and not bool(torch.isfinite(torch.stack(sums)).all()):
                    bad = next(n for n, p in net.named_parameters() if not torch.isfinite(p).all())
                    raise TrainingDivergedError(
                        f"training diverged at D step {step}: parameter {name}.{bad} is NaN/Inf. The last good "
                        "checkpoint is untouched; lower the learning rate or enable grad_clip_val."
                    )
