"""``gan-zoo``: the command line.

* ``gan-zoo fit|validate|test|predict ...`` is a LightningCLI over every registered variant and
  datamodule: ``gan-zoo fit --model GAN --data FashionMNISTData --trainer.max_steps 2000`` or
  ``gan-zoo fit --config configs/gan/fashion_mnist.yaml``; ``--ckpt_path last`` resumes the last run in the
  same ``--trainer.default_root_dir``. Every fit keeps ``checkpoints/last.ckpt``, sample grids and a
  ``metrics.json`` under ``default_root_dir`` (``runs/`` unless set).
* ``gan-zoo sample --ckpt PATH --out grid.png [--num 64]`` draws a grid from a checkpoint.
* ``gan-zoo translate --ckpt PATH --input DIR --direction AtoB --out DIR`` runs a CycleGAN over a folder.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

import datamodules  # noqa: F401  (registers the datamodules for --data NAME)
import zoo.models  # noqa: F401  (registers the variants for --model NAME and the gan_ddp strategy)
from callbacks import DivergenceGuard, SampleGrid, TrainingSummary, ZooCheckpoint
from datamodules.base import ImageDataModule
from zoo.commands.evaluate import evaluate_command
from zoo.commands.sample import sample_command
from zoo.commands.translate import translate_command
from zoo.models.base import AdversarialModule

# A deprecation inside Lightning's own pytree use (not actionable for users of the CLI).
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

TOOLS = ("sample", "translate", "evaluate")


def check_devices(accelerator: Any, devices: Any) -> None:
    """Refuse GPU requests this machine cannot serve, naming the fix (before any process is launched)."""
    wants_gpu = str(accelerator) in ("gpu", "cuda")
    count = torch.cuda.device_count()
    if wants_gpu and count == 0:
        raise ValueError(
            "--trainer.accelerator gpu was requested but no CUDA GPU is visible: use --trainer.accelerator cpu."
        )
    if (wants_gpu or (str(accelerator) == "auto" and count > 0)) and isinstance(devices, int) and devices > count:
        raise ValueError(
            f"--trainer.devices {devices} requested but only {count} GPU(s) are visible: use at most {count}."
        )


class GanZooCLI(LightningCLI):
    """LightningCLI with the zoo's default callbacks as configurable groups."""

    def before_instantiate_classes(self) -> None:
        config = self.config.get(str(self.subcommand), self.config)
        trainer = config.get("trainer", {})
        check_devices(trainer.get("accelerator", "auto"), trainer.get("devices", "auto"))

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ZooCheckpoint, "checkpoint")
        parser.add_lightning_class_args(SampleGrid, "sample_grid")
        parser.add_lightning_class_args(TrainingSummary, "summary")
        parser.add_lightning_class_args(DivergenceGuard, "divergence_guard")


def run_lightning_cli(args: Sequence[str] | None = None) -> GanZooCLI:
    return GanZooCLI(
        AdversarialModule,
        ImageDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        trainer_defaults={"default_root_dir": "runs"},
        save_config_kwargs={"overwrite": True},
        args=args,
        auto_configure_optimizers=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in TOOLS:
        {"sample": sample_command, "translate": translate_command, "evaluate": evaluate_command}[args[0]](args[1:])
        return
    run_lightning_cli(None if argv is None else args)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    main()
