"""Train a tiny variant under a DDP strategy on CPU (gloo) and dump what each rank ends with.

Run as a script (Lightning's popen launcher re-executes this file for rank 1), never inside pytest:
    python tests/scripts/ddp_run.py --variant GAN --strategy gan_ddp --devices 2 --batch-size 16 --out DIR
``--ema-decay`` adds a generator EMA (its weights are in the state dict as ``generator_ema.*``).
Writes DIR/rank<r>.pt: {"state_dict", "seen" (data indices served to the rank), "wrappers"}.
``--global-z`` makes every rank draw its slice of one global z batch per call, so a 1-process run with
the summed batch draws the same z (for the equivalence test).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
warnings.filterwarnings("ignore")

import lightning as L  # noqa: E402
import torch  # noqa: E402

from datamodules.base import ImageDataModule  # noqa: E402
from datamodules.gaussian_mixture import mixture_centers  # noqa: E402
from zoo import get_variant  # noqa: E402


class IndexedRing(ImageDataModule):
    """Ring samples whose labels are their own indices, so each rank can report what it saw."""

    image_shape = (2,)
    num_classes = 0

    def load_split(self, split: str):
        g = torch.Generator().manual_seed(0)
        centers = mixture_centers("ring")
        points = centers[torch.randint(len(centers), (512,), generator=g)] + 0.05 * torch.randn(512, 2, generator=g)
        return points, torch.arange(512)


class Recorder(L.Callback):
    def __init__(self) -> None:
        self.seen: list[torch.Tensor] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seen.append(batch[1].cpu())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", default="GAN")
    parser.add_argument("--strategy", default="gan_ddp")
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--global-z", action="store_true")
    parser.add_argument("--ema-decay", type=float, default=None, help="keep a generator EMA with this beta")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    L.seed_everything(0)
    model = get_variant(args.variant)(
        image_shape=(2,), latent_dim=4, width=16, g_norm="none", d_norm="none", ema_decay=args.ema_decay
    )
    if args.global_z:
        calls = [0]

        def sample_z(n: int, generator=None) -> torch.Tensor:
            calls[0] += 1
            trainer = model.trainer
            world, rank = trainer.world_size, trainer.global_rank
            z = torch.randn(n * world, model.hparams.latent_dim, generator=torch.Generator().manual_seed(calls[0]))
            return z[rank * n : (rank + 1) * n].to(model.device)

        model.sample_z = sample_z
    recorder = Recorder()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=args.devices,
        strategy=args.strategy if args.devices > 1 else "auto",
        max_epochs=1,
        limit_train_batches=args.batches,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        callbacks=[recorder],
    )
    wrappers = {}
    original_wrap = model.wrap_networks

    def wrap_networks(wrap):
        original_wrap(wrap)
        for name, w in model.__dict__["_net_wrappers"].items():
            wrappers[name] = {"type": type(w).__name__, "find_unused_parameters": w.find_unused_parameters}

    model.wrap_networks = wrap_networks
    trainer.fit(model, IndexedRing(batch_size=args.batch_size, seed=3))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "seen": torch.cat(recorder.seen),
            "wrappers": wrappers,
            "steps": (model.d_steps, model.g_steps),
        },
        out / f"rank{trainer.global_rank}.pt",
    )


if __name__ == "__main__":
    os.environ.setdefault("TORCH_DISTRIBUTED_DEBUG", "OFF")
    main()
