"""``gan-zoo``: the command line.

* ``gan-zoo fit|validate|test|predict ...`` is a LightningCLI over every registered variant and
  datamodule: ``gan-zoo fit --model GAN --data FashionMNISTData --trainer.max_steps 2000`` or
  ``gan-zoo fit --config configs/gan/fashion_mnist.yaml``; ``--ckpt_path last`` resumes the last run in the
  same ``--trainer.default_root_dir``. Every fit keeps ``checkpoints/last.ckpt``, sample grids and a
  ``metrics.json`` under ``default_root_dir`` (``runs/`` unless set).
* ``gan-zoo sample --ckpt PATH --out grid.png [--num 64]`` draws a grid from a checkpoint.
* ``gan-zoo translate --ckpt PATH --input DIR --direction AtoB --out DIR`` runs a CycleGAN over a folder.

A user error (bad value, unknown name, missing file, refused checkpoint) prints one message and exits non-zero
without a traceback; ``GAN_ZOO_DEBUG=1`` shows the traceback (``zoo.commands.errors``). Resuming:
``zoo.commands.resume_config``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

import datamodules  # (registers the datamodules for --data NAME)
import zoo.models  # noqa: F401  (registers the variants for --model NAME and the gan_ddp strategy)
from callbacks import DivergenceGuard, RunOutputs, SampleGrid, TrainingSummary, ZooCheckpoint
from datamodules.base import ImageDataModule
from zoo.allocator import keep_freed_memory_unless_opted_out
from zoo.commands.errors import ZooArgumentParser, check_class_name, flag_value, run_reporting_errors
from zoo.commands.evaluate import evaluate_command
from zoo.commands.resume_config import check_data, resume_config
from zoo.commands.sample import sample_command
from zoo.commands.translate import translate_command
from zoo.models.base import AdversarialModule
from zoo.registry import list_variants

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
    """LightningCLI with the zoo's default callbacks as configurable groups and the zoo's resume rules."""

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        self._given_args = list(sys.argv[1:]) if args is None else args
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """``--ckpt_path``: the zoo's loader and resume rules (``zoo.commands.resume_config``) replace Lightning's
        (which lets the checkpoint's class and hyperparameters silently override ``--model``)."""
        self.config, self._resume = resume_config(self.parser, self.config, self._given_args)

    def after_instantiate_classes(self) -> None:
        if getattr(self, "_resume", None) is not None:
            check_data(self._resume, self.datamodule, self.model)
            self._resume = None  # the trainer reads the file again; do not hold a second copy

    def before_instantiate_classes(self) -> None:
        config = self.config.get(str(self.subcommand), self.config)
        trainer = config.get("trainer", {})
        check_devices(trainer.get("accelerator", "auto"), trainer.get("devices", "auto"))

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(ZooCheckpoint, "checkpoint")
        parser.add_lightning_class_args(SampleGrid, "sample_grid")
        parser.add_lightning_class_args(TrainingSummary, "summary")
        parser.add_lightning_class_args(DivergenceGuard, "divergence_guard")
        parser.add_lightning_class_args(RunOutputs, "run_outputs")

    def before_fit(self) -> None:
        """Check every output folder, lock the run folder and clean up after a killed run before the logger
        makes its folder (``callbacks.run_outputs``)."""
        for callback in self.trainer.callbacks:
            if isinstance(callback, RunOutputs):
                callback.prepare(self.trainer)


def run_lightning_cli(args: Sequence[str] | None = None) -> GanZooCLI:
    return GanZooCLI(
        AdversarialModule,
        ImageDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        trainer_defaults={"default_root_dir": "runs"},
        save_config_kwargs={"overwrite": True},
        parser_class=ZooArgumentParser,
        parser_kwargs={"prog": "gan-zoo"},  # (in-process callers too: not sys.argv[0])
        args=args,
        auto_configure_optimizers=False,
    )


def check_names(args: Sequence[str]) -> None:
    """``--model NAME`` / ``--data NAME`` must name a registered variant / datamodule (the error lists them)."""
    models = {c.__name__ for c in _subclasses(AdversarialModule)}
    check_class_name("--model", flag_value(args, "--model"), models, list_variants(), "registered variants")
    data = [n for n in datamodules.__all__ if _is_datamodule(getattr(datamodules, n))]
    accepted = {c.__name__ for c in _subclasses(ImageDataModule)}
    check_class_name("--data", flag_value(args, "--data"), accepted, data, "datamodules")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _is_datamodule(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, ImageDataModule) and obj.__module__ != "datamodules.base"


def main(argv: Sequence[str] | None = None) -> None:
    keep_freed_memory_unless_opted_out()  # faster CPU steps, same numbers (zoo/allocator.py)
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in TOOLS:
        tool = {"sample": sample_command, "translate": translate_command, "evaluate": evaluate_command}[args[0]]
        run_reporting_errors(f"gan-zoo {args[0]}", lambda: tool(args[1:]))
        return
    prog = f"gan-zoo {args[0]}" if args and not args[0].startswith("-") else "gan-zoo"

    def fit_and_friends() -> None:
        check_names(args)
        run_lightning_cli(None if argv is None else args)  # None: LightningCLI reads sys.argv itself

    run_reporting_errors(prog, fit_and_friends)


if __name__ == "__main__":
    main()
