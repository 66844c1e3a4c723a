"""The one loader for checkpoints: every entry point reads files through ``read_checkpoint``.

``gan-zoo fit --ckpt_path``, ``gan-zoo sample | evaluate | translate``, ``load_variant`` and
``Variant.load_from_checkpoint`` all come here first, so a bad file gets one error that names it, whatever
the door: ``FileNotFoundError`` for a missing file, ``CheckpointError`` (a ``ValueError``) otherwise:

* empty, truncated, corrupt or not a PyTorch file at all: said so (never "retry with weights_only=False":
  that would not help and would run whatever the file holds);
* a valid archive holding pickled Python objects that ``weights_only=True`` refuses: said so, with the
  refused object, and only then the ``weights_only=False`` escape hatch for files from a trusted source;
* readable but not ours (a bare state dict, another program's dict, another project's Lightning checkpoint):
  said so, with what the file holds instead.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from zoo.registry import get_variant

if TYPE_CHECKING:
    from zoo.models.base import AdversarialModule

#: the first pickle of torch's legacy (pre-1.6, non-zip) serialization format
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
#: protocol-2 pickles name Python 2 modules
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message names the file and why."""


def read_checkpoint(path: str | Path, weights_only: bool = True) -> dict:
    """``torch.load`` a zoo checkpoint on CPU; every failure is one ``CheckpointError`` naming the file."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory; pass the .ckpt file inside it.")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    if path.stat().st_size == 0:
        raise CheckpointError(
            f"cannot load checkpoint {path}: the file is empty (0 bytes), a save that never completed "
            "(crash or full disk while writing). Use another checkpoint, e.g. an older one of the run."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as err:  # pickle/zip/IO errors come in many types
        raise CheckpointError(_describe_load_failure(path, err, weights_only)) from err
    _require_lightning_checkpoint(path, checkpoint)
    return checkpoint


def checkpoint_variant(checkpoint: dict, path: str | Path) -> str:
    """The registered variant name a checkpoint records; refuses files that are not the zoo's."""
    name = checkpoint.get("variant") or (checkpoint.get("hyper_parameters") or {}).get("_variant")
    if name is None:
        raise CheckpointError(
            f"{path} is a Lightning checkpoint but not one written by lightning-gan-zoo: it records no variant "
            "(another project's model?). Use a checkpoint written by gan-zoo fit / ZooCheckpoint."
        )
    try:
        get_variant(name)
    except ValueError as err:
        raise CheckpointError(f"{path} holds a {name!r}, which this installation does not know: {err}") from err
    return str(name)


def load_variant(path: str | Path, weights_only: bool = True) -> AdversarialModule:
    """Rebuild the variant saved in a checkpoint (class from the registry, nets from its hyperparameters)."""
    checkpoint = read_checkpoint(path, weights_only=weights_only)
    cls = get_variant(checkpoint_variant(checkpoint, path))
    # LightningCLI adds bookkeeping keys ("_class_path", "_instantiator") that are not init arguments
    hparams = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if not k.startswith("_")}
    model = cls(**hparams)
    model.on_load_checkpoint(checkpoint)  # refuses nets that do not match, restores counters
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


# ----------------------------------------------------------------------------- diagnosis
def _require_lightning_checkpoint(path: Path, checkpoint: Any) -> None:
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path} is not a Lightning checkpoint: it holds a {type(checkpoint).__name__}, not a dict with a "
            "'state_dict'. Use a checkpoint written by gan-zoo fit / ZooCheckpoint."
        )
    if "state_dict" not in checkpoint:
        keys = list(checkpoint)
        if keys and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
            what = f"a bare state dict of {len(keys)} tensors (torch.save(model.state_dict()))"
        else:
            shown = ", ".join(repr(k) for k in keys[:8]) + (", ..." if len(keys) > 8 else "")
            what = f"a dict with keys {shown or 'none'}"
        raise CheckpointError(
            f"{path} is not a Lightning checkpoint (no 'state_dict'): it holds {what}. "
            "Use a checkpoint written by gan-zoo fit / ZooCheckpoint."
        )


def _describe_load_failure(path: Path, err: Exception, weights_only: bool) -> str:
    """The message for a file ``torch.load`` could not read: refused objects, or a broken file."""
    refused = _refused_globals(path) if weights_only and isinstance(err, pickle.UnpicklingError) else None
    if refused:
        return (
            f"cannot load checkpoint {path}: it holds pickled Python objects that weights_only=True refuses "
            f"(it references {', '.join(refused[:5])}); loading them could run code of the file's choosing. "
            "Load it with weights_only=False only if you trust its source."
        )
    if refused is not None:  # a sound archive of allowed types, in a pickle form the safe loader does not read
        return (
            f"cannot load checkpoint {path}: weights_only=True refuses its pickle ({_unpickler_reason(err)}) although "
            "it references only allowed types. Load it with weights_only=False only if you trust its source."
        )
    return (
        f"cannot load checkpoint {path}: the file is truncated, corrupt or not a PyTorch checkpoint "
        f"({_unpickler_reason(err)}). Use another copy or an older checkpoint of the run."
    )


def _unpickler_reason(err: Exception) -> str:
    """The specific cause inside torch's message, without its generic advice."""
    text = str(err)
    marker = "WeightsUnpickler error:"
    if marker in text:
        reason = text.split(marker, 1)[1].strip().split("\n\n", 1)[0].strip()
        reason = reason.split(" was not an allowed global", 1)[0]
    else:
        reason = text.strip().splitlines()[0] if text.strip() else ""
    reason = reason[:200]
    return f"{type(err).__name__}: {reason}" if reason else type(err).__name__


def _refused_globals(path: Path) -> list[str] | None:
    """For a complete torch archive whose pickle parses (read with ``pickletools``, nothing executed): the
    globals it imports that torch's weights-only unpickler does not allow (possibly none: then it refused
    something else). ``None`` for a file that is not such an archive (truncated, corrupt, foreign)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                name = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                if name is None:
                    return None
                ops = list(pickletools.genops(io.BytesIO(archive.read(name))))
        else:
            with open(path, "rb") as f:  # torch's legacy format starts with a magic-number pickle
                ops = list(pickletools.genops(f))
            if not any(arg == _LEGACY_MAGIC for _, arg, _ in ops):
                return None
    except Exception:
        return None
    return [name for name in _globals(ops) if name not in _allowed_globals()]


def _globals(ops: list) -> list[str]:
    """``module.name`` of every GLOBAL / STACK_GLOBAL of a pickle's opcodes, in order, once each (the two strings
    a STACK_GLOBAL takes are followed through the memo)."""
    names, strings, memo, last = [], [], {}, None
    for op, arg, _ in ops:
        if op.name == "GLOBAL":
            module, name = str(arg).split(" ", 1)
            names.append(f"{_PY2_MODULES.get(module, module)}.{name}")
            last = None
        elif op.name == "STACK_GLOBAL":
            if len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            last = None
        elif op.name == "MEMOIZE":
            memo[len(memo)] = last
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = last
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            last = memo.get(int(arg))
            if isinstance(last, str):
                strings.append(last)
        elif isinstance(arg, str):
            strings.append(arg)
            last = arg
        else:
            last = None
    return list(dict.fromkeys(names))


def _allowed_globals() -> set[str]:
    allowed: set[str] = set()
    try:
        from torch import _weights_only_unpickler

        allowed |= set(_weights_only_unpickler._get_allowed_globals())
    except Exception:  # a private helper of torch: without it, every global is reported
        pass
    for entry in torch.serialization.get_safe_globals():
        obj = entry[0] if isinstance(entry, tuple) else entry
        allowed.add(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}")
    return allowed
