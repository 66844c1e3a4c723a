"""What resuming from a checkpoint keeps, what it changes, and what it refuses.

A checkpoint resumes only into the variant that wrote it, for the image shape it was trained on. Its
hyperparameters then fall in three kinds (``resume_kind``):

* ``fixed``: they define the nets, the prior or state the checkpoint holds (image shape, width, norms,
  latent size, net family, latent distribution, optimizer type, CycleGAN's image pools and LR schedule...).
  A different value is refused, naming each one: the saved weights and state belong to the saved values.
* ``optimizer``: learning rates (``lr``, ``lr_*``) and ``betas``. A new value is applied to the restored
  optimizers' param groups (and to their schedulers' base rates) when training starts.
* ``applied``: everything else (loss weights, ``n_critic``, clipping, penalties, accumulation, compile...):
  the variant reads them from its hyperparameters at every step, so the new value simply holds.

Any other difference that changes the nets (a variant's own architecture argument) is caught by comparing
the checkpoint's state dict with the model's tensor by tensor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

#: hyperparameters a checkpoint fixes (across the zoo; a variant extends ``resume_fixed_hparams``)
FIXED_HPARAMS = frozenset(
    {
        "image_shape",
        "width",
        "g_norm",
        "d_norm",
        "optimizer",
        "latent_dim",
        "nets",
        "latent_distribution",
        "code_dim",
        "n_blocks",
        "d_layers",
        "pool_size",
        "pool_seed",
        "constant_epochs",
        "decay_epochs",
        "num_classes",
    }
)


def resume_kind(name: str, fixed: Iterable[str] = FIXED_HPARAMS) -> str:
    """``fixed``, ``optimizer`` or ``applied``: what resuming does with a changed hyperparameter ``name``."""
    if name in set(fixed):
        return "fixed"
    if name == "lr" or name.startswith("lr_") or name == "betas":
        return "optimizer"
    return "applied"


def _plain(value: Any) -> Any:
    """Lists and tuples compare equal (YAML gives lists, Python code tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def changed_hparams(saved: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{name: (checkpoint value, current value)} for every hyperparameter both know and that differs.

    Bookkeeping keys (``_class_path``, ...) and keys only one side knows (older checkpoints) are skipped."""
    changes = {}
    for name, old in saved.items():
        if name.startswith("_") or name not in current:
            continue
        new = current[name]
        if _plain(old) != _plain(new):
            changes[name] = (old, new)
    return changes


def format_changes(changes: Mapping[str, tuple[Any, Any]], prefix: str = "") -> str:
    return ", ".join(
        f"{prefix}{name} {_plain(new)!r} (checkpoint: {_plain(old)!r})" for name, (old, new) in changes.items()
    )


def state_mismatches(saved: Mapping[str, Tensor], current: Mapping[str, Tensor]) -> list[str]:
    """Tensors of the checkpoint's state dict the model lacks, has extra, or holds in another shape."""
    problems = [f"{k}: checkpoint {tuple(v.shape)}, model {tuple(current[k].shape)}" for k, v in saved.items()
                if k in current and tuple(v.shape) != tuple(current[k].shape)]  # fmt: skip
    problems += [f"{k}: only in the checkpoint" for k in saved if k not in current]
    problems += [f"{k}: only in the model" for k in current if k not in saved]
    return problems


def apply_optimizer_settings(
    optimizers: list[Any], target_lrs: list[float], betas: Any, schedulers: list[Any], set_betas: bool
) -> list[str]:
    """Give restored optimizers the current learning rates (and betas); returns what was changed.

    A param group's base rate is its ``initial_lr`` (under a scheduler) or its ``lr``; a new base scales the
    current rate by the same factor, so a running schedule (CycleGAN's linear decay) keeps its shape."""
    notes = []
    for index, (optimizer, lr) in enumerate(zip(optimizers, target_lrs)):
        for g, group in enumerate(optimizer.param_groups):
            base = group.get("initial_lr", group["lr"])
            if not math.isclose(base, lr, rel_tol=1e-12, abs_tol=0.0):
                factor = lr / base
                group["lr"] = group["lr"] * factor
                if "initial_lr" in group:
                    group["initial_lr"] = lr
                for scheduler in schedulers:
                    if getattr(scheduler, "optimizer", None) is optimizer and hasattr(scheduler, "base_lrs"):
                        scheduler.base_lrs[g] = lr
                        scheduler._last_lr = [grp["lr"] for grp in optimizer.param_groups]
                notes.append(f"optimizer {index} lr {base!r} -> {lr!r}")
            if set_betas and "betas" in group and tuple(group["betas"]) != tuple(betas):
                notes.append(f"optimizer {index} betas {tuple(group['betas'])!r} -> {tuple(betas)!r}")
                group["betas"] = tuple(betas)
            elif set_betas and isinstance(optimizer, torch.optim.SGD) and group["momentum"] != betas[0]:
                notes.append(f"optimizer {index} momentum {group['momentum']!r} -> {betas[0]!r}")
                group["momentum"] = betas[0]
    return notes


def check_resume(
    model: Any, checkpoint: Mapping[str, Any], where: str = "this checkpoint"
) -> dict[str, tuple[Any, Any]]:
    """Refuse a checkpoint ``model`` cannot continue (``ValueError`` with the reason); returns the hyperparameter
    changes it may continue with ({name: (checkpoint value, model value)}, fixed ones excluded).

    Checked in this order: the variant, the image shape, the fixed hyperparameters, then the nets tensor by
    tensor (when the model's nets are built)."""
    name = type(model).__name__
    variant = checkpoint.get("variant", name)
    if variant != name:
        raise ValueError(
            f"{where} holds a {variant}, not a {name}: a checkpoint resumes only the variant that wrote it. "
            f"Resume it as a {variant} (gan-zoo fit --model {variant} ...; load it with "
            f"{variant}.load_from_checkpoint or zoo.checkpoints.load_variant), or train a new {name} "
            "without ckpt_path (in another default_root_dir)."
        )
    saved = checkpoint.get("hyper_parameters") or {}
    saved_shape, shape = saved.get("image_shape"), model.image_shape
    if saved_shape is not None and shape is not None and tuple(saved_shape) != tuple(shape):
        raise ValueError(
            f"{where} was trained on image_shape={tuple(saved_shape)} but the model is built for "
            f"{tuple(shape)}: resume with data of the checkpoint's shape."
        )
    changes = changed_hparams(saved, dict(model.hparams))
    changes.pop("image_shape", None)  # a model built later (setup) takes it from the data: checked above
    fixed = {k: v for k, v in changes.items() if resume_kind(k, model.resume_fixed_hparams) == "fixed"}
    if fixed:
        raise ValueError(
            f"cannot resume {where} with {format_changes(fixed)}: these define the nets or state the checkpoint "
            "holds. Resume with the checkpoint's values (on the command line: leave these options out; in "
            "Python: Variant.load_from_checkpoint(path) rebuilds the model), or start a new run without ckpt_path."
        )
    if getattr(model, "generator", None) is not None and "state_dict" in checkpoint:
        problems = state_mismatches(checkpoint["state_dict"], model.state_dict())
        if problems:
            named = {k: v for k, v in changes.items() if resume_kind(k, model.resume_fixed_hparams) == "applied"}
            also = f" Hyperparameters that differ: {format_changes(named)}." if named else ""
            raise ValueError(
                f"cannot resume {where}: the model's nets differ from the checkpoint's ({len(problems)} tensors, "
                f"e.g. {'; '.join(problems[:3])}).{also} Build the model with the checkpoint's hyperparameters "
                "(Variant.load_from_checkpoint(path)), or start a new run without ckpt_path."
            )
    return changes
