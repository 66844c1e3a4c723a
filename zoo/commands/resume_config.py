"""``gan-zoo fit --ckpt_path``: which checkpoint, and which hyperparameters the resumed run uses.

* ``--ckpt_path last`` is ``last*.ckpt`` (the newest) in ``--checkpoint.dirpath``, or else in
  ``<--trainer.default_root_dir>/checkpoints``. When there is none, ``fit`` says so and starts from scratch
  (so one command both starts and resumes a preemptible job); ``validate``/``test``/``predict`` refuse.
* The file is read with the zoo's loader (``zoo.checkpoints.read_checkpoint``): a broken, foreign or
  code-holding file is refused with one message that names it.
* It must hold the variant ``--model`` names: a WGANGP run never silently becomes a GAN.
* The model is built from the checkpoint's hyperparameters, overridden by the ones given on the command line
  or in ``--config``; those that differ follow ``zoo.models.resume``: architecture and state ones are refused
  (named), optimizer settings and the others are applied and logged when training starts.
* ``check_data`` refuses data of another image shape before anything is trained or written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonargparse import Namespace

from zoo.checkpoints import checkpoint_variant, read_checkpoint
from zoo.models.resume import changed_hparams, check_resume, format_changes, resume_kind
from zoo.registry import get_variant

#: ckpt_path values Lightning resolves itself
LIGHTNING_KEYWORDS = ("best", "hpc")


@dataclass
class Resume:
    path: Path
    checkpoint: dict


def find_last_checkpoint(dirpath: Path) -> Path | None:
    """The newest ``last*.ckpt`` in ``dirpath`` (how Lightning resolves ``ckpt_path="last"``)."""
    candidates = [p for p in dirpath.glob("last*.ckpt") if p.is_file()] if dirpath.is_dir() else []
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def checkpoint_dir(config: Namespace) -> Path:
    dirpath = (config.get("checkpoint") or {}).get("dirpath")
    root = (config.get("trainer") or {}).get("default_root_dir") or "runs"
    return Path(dirpath) if dirpath else Path(root) / "checkpoints"


def resolve_ckpt_path(config: Namespace, subcommand: str) -> Path | None:
    """The checkpoint file ``--ckpt_path`` names (``None``: none to load)."""
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or str(ckpt_path) in LIGHTNING_KEYWORDS or str(ckpt_path).startswith("registry"):
        return None
    if str(ckpt_path) != "last":
        return Path(ckpt_path)
    folder = checkpoint_dir(config)
    found = find_last_checkpoint(folder)
    if found is None:
        if subcommand != "fit":
            raise FileNotFoundError(f"--ckpt_path last: no checkpoint in {folder} (no last*.ckpt) to {subcommand}.")
        config["ckpt_path"] = None
        sys.stderr.write(
            f"gan-zoo fit: --ckpt_path last: no checkpoint in {folder} (no last*.ckpt); starting from scratch.\n"
        )
        return None
    return found


def _model_hparams(checkpoint: dict) -> tuple[str | None, dict]:
    hparams = dict(checkpoint.get("hyper_parameters") or {})
    class_path = hparams.pop("_class_path", None)
    return class_path, {k: v for k, v in hparams.items() if not k.startswith("_")}


def resume_config(parser: Any, config: Namespace, args: Any) -> tuple[Namespace, Resume | None]:
    """``config`` for resuming from ``--ckpt_path`` (unchanged when there is nothing to resume)."""
    subcommand = config.get("subcommand")
    if not subcommand:
        return config, None
    path = resolve_ckpt_path(config[subcommand], subcommand)
    if path is None:
        return config, None
    checkpoint = read_checkpoint(path)
    variant = checkpoint_variant(checkpoint, path)
    cls = get_variant(variant)
    requested = (config[subcommand].get("model") or {}).get("class_path")
    if requested is not None and str(requested).rsplit(".", 1)[-1] != variant:
        asked = str(requested).rsplit(".", 1)[-1]
        raise ValueError(
            f"--ckpt_path {path} holds a {variant} checkpoint but --model is {asked}: a run resumes only as the "
            f"variant that wrote it. Resume it with --model {variant}, or start a new {asked} run without "
            "--ckpt_path (in another --trainer.default_root_dir)."
        )
    class_path, hparams = _model_hparams(checkpoint)
    class_path = class_path or f"{cls.__module__}.{cls.__qualname__}"
    # the checkpoint's hyperparameters first, then what the command line and --config give, on top (parse_object
    # consumes the dict it is given: pass a copy)
    base = parser.parse_object(
        {subcommand: {"model": {"class_path": class_path, "dict_kwargs": dict(hparams)}}}, config
    )
    if isinstance(args, dict | Namespace):
        resumed = parser.parse_object(args, base)
    else:
        resumed = parser.parse_args(list(args), namespace=base)
    resumed[subcommand]["ckpt_path"] = str(path)
    model = resumed[subcommand]["model"]
    given = {**dict(model.get("init_args") or {}), **dict(model.get("dict_kwargs") or {})}
    changes = changed_hparams(hparams, given)
    fixed = {k: v for k, v in changes.items() if resume_kind(k, cls.resume_fixed_hparams) == "fixed"}
    if fixed:
        raise ValueError(
            f"cannot resume {path} with {format_changes(fixed, '--model.')}: these define the nets or state the "
            "checkpoint holds. Leave them out to resume with the checkpoint's values, or start a new run without "
            "--ckpt_path (in another --trainer.default_root_dir)."
        )
    return resumed, Resume(path, checkpoint)


def check_data(resume: Resume, datamodule: Any, model: Any) -> None:
    """Before fitting: the data has the checkpoint's image shape, and the model's nets match the checkpoint's."""
    saved = (resume.checkpoint.get("hyper_parameters") or {}).get("image_shape")
    served = getattr(datamodule, "image_shape", None)
    if saved is not None and served is not None and tuple(saved) != tuple(served):
        raise ValueError(
            f"--ckpt_path {resume.path} was trained on image_shape={tuple(saved)} but --data serves "
            f"{tuple(served)}: resume with data of the checkpoint's shape (e.g. --data.image_size / channels)."
        )
    if model is not None and hasattr(model, "resume_fixed_hparams"):
        check_resume(model, resume.checkpoint, f"--ckpt_path {resume.path}")
