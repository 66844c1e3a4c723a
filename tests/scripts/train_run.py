"""Train a tiny variant with checkpoints, optionally SIGKILLing itself at a chosen point; dump final params.

    python tests/scripts/train_run.py --variant GAN --data-dir D --root R --max-steps 24 --every 6 \
        [--kill-at-step 9 | --kill-during-save 2] [--resume] --out final.pt

``--kill-at-step s`` sends SIGKILL to this process at the end of the first training batch reaching optimizer
step s (before any checkpoint of that batch); ``--kill-during-save n`` kills it inside the n-th checkpoint
write, after the temporary file is written and before it replaces ``last.ckpt``.
``--resume`` continues from ``R/checkpoints/last.ckpt``. ``--model-kwargs '{"ema_decay": 0.9}'`` passes options to
the variant; ``--grid-every n`` adds a ``SampleGrid`` drawing every n generator updates (from the EMA when the
model keeps one).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
warnings.filterwarnings("ignore")

import lightning as L  # noqa: E402
import torch  # noqa: E402

from callbacks import SampleGrid, ZooCheckpoint  # noqa: E402
from tests.zoo.variant_harness import tiny_data, tiny_model  # noqa: E402


class KillAt(L.Callback):
    """SIGKILL at the end of the first training batch that brings ``trainer.global_step`` to ``step`` or more."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class TermAt(L.Callback):
    """Send SIGTERM (what SLURM preemption and ``kill`` send) to this process at the first batch reaching ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.sent = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


class KillingCheckpoint(ZooCheckpoint):
    def __init__(self, kill_on_save: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kill_on_save = kill_on_save
        self.saves = 0

    def _save_checkpoint(self, trainer, filepath: str) -> None:
        self.saves += 1
        if self.saves == self.kill_on_save:
            trainer.save_checkpoint(f"{filepath}.tmp")  # the temp file is complete, the rename never happens
            os.kill(os.getpid(), signal.SIGKILL)
        super()._save_checkpoint(trainer, filepath)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", default="GAN")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--every", type=int, default=6)
    parser.add_argument("--kill-at-step", type=int)
    parser.add_argument("--kill-during-save", type=int)
    parser.add_argument("--term-at-step", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--model-kwargs", default="{}", help="JSON object of extra variant arguments")
    parser.add_argument("--grid-every", type=int, help="add a SampleGrid drawing every n generator updates")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    L.seed_everything(0)
    model = tiny_model(args.variant, **json.loads(args.model_kwargs))
    ckpt_kwargs = dict(every_n_train_steps=args.every)
    checkpoint = (
        KillingCheckpoint(args.kill_during_save, **ckpt_kwargs)
        if args.kill_during_save
        else ZooCheckpoint(**ckpt_kwargs)
    )
    callbacks = [checkpoint] + ([KillAt(args.kill_at_step)] if args.kill_at_step else [])
    callbacks += [TermAt(args.term_at_step)] if args.term_at_step else []
    callbacks += [SampleGrid(every_n_steps=args.grid_every, num_samples=4, nrow=2)] if args.grid_every else []
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=args.max_steps,
        default_root_dir=args.root,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        callbacks=callbacks,
    )
    trainer.fit(model, tiny_data(args.variant, Path(args.data_dir)), ckpt_path="last" if args.resume else None)
    if args.out:
        torch.save({"state_dict": model.state_dict(), "steps": (model.d_steps, model.g_steps)}, args.out)


if __name__ == "__main__":
    main()
