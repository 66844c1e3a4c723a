"""Loading variants from checkpoints safely (``weights_only=True`` unless the caller opts out)."""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.models.base import AdversarialModule
from zoo.registry import get_variant


def read_checkpoint(path: str | Path, weights_only: bool = True) -> dict:
    """``torch.load`` a checkpoint on CPU; unreadable files raise ``ValueError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as err:  # pickle/zip errors come in many types
        raise ValueError(
            f"cannot load checkpoint {path}: {type(err).__name__}: {str(err).splitlines()[0][:300]}. "
            "The file is truncated, corrupt, or holds objects that weights_only=True refuses "
            "(load it with weights_only=False only if you trust its source)."
        ) from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a Lightning checkpoint (no 'state_dict').")
    return checkpoint


def load_variant(path: str | Path, weights_only: bool = True) -> AdversarialModule:
    """Rebuild the variant saved in a checkpoint (class from the registry, nets from its hyperparameters)."""
    checkpoint = read_checkpoint(path, weights_only=weights_only)
    name = checkpoint.get("variant") or checkpoint.get("hyper_parameters", {}).get("_variant")
    if name is None:
        raise ValueError(f"{path} does not record which variant it holds; load it with <Variant>.load_from_checkpoint.")
    cls = get_variant(name)
    # LightningCLI adds bookkeeping keys ("_class_path", "_instantiator") that are not init arguments
    hparams = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if not k.startswith("_")}
    model = cls(**hparams)
    model.load_state_dict(checkpoint["state_dict"])
    model.on_load_checkpoint(checkpoint)
    return model.eval()
