"""torch's zip archives as data: read the tensors of a TorchScript file without running it, and write a state
dict whose bytes are the same on every run.

A torch zip archive holds ``<folder>/data.pkl`` (a pickle whose tensors point, by persistent id
``("storage", storage type, key, location, numel)``, at raw records ``<folder>/data/<key>``), ``version`` and
``byteorder``. For TorchScript the pickle also names the module classes (``__torch__.*``) whose compiled code
sits in ``code/``.

* ``read_torchscript_tensors``: a restricted unpickler accepts only module records (kept as plain attribute
  holders: no class is compiled, no code in the archive runs), tensors, float storages and list type tags;
  anything else is refused.
* ``save_deterministic``: ``torch.save`` embeds a random ``.data/serialization_id`` (and its legacy format keys
  storages by memory address), so its bytes differ between runs; this writer produces the same zip layout
  (version 3) from sorted-in-order records with fixed timestamps, so a file's SHA-256 can be pinned.
  ``torch.load`` (``weights_only=True`` too) reads it like any checkpoint.
"""

from __future__ import annotations

import io
import pickle
import sys
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import Tensor
from torch._utils import _rebuild_tensor_v2

#: storage classes a pickle names -> dtype, and back (the Inception archives hold float32 and int64 only)
STORAGE_DTYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16}
STORAGE_TYPES = {torch.float32: torch.FloatStorage, torch.float64: torch.DoubleStorage, torch.int64: torch.LongStorage}
#: a fixed zip timestamp (the earliest zip can hold), as torch's own writer uses
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


# -------------------------------------------------------------------------------------------------- reading
class PickledModule:
    """A TorchScript module's pickled attributes (``attributes``), held as data: nothing of it is compiled or run."""

    def __init__(self) -> None:
        self.attributes: dict[str, Any] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.attributes = dict(state)


def plain_list(data: list[Any]) -> list[Any]:  # torch.jit._pickle.build_intlist & co.: type tags of lists
    return data


def untagged(value: Any, _type: str) -> Any:  # torch.jit._pickle.restore_type_tag: a static type, ignored here
    return value


def rebuild_tensor(
    storage: Tensor, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> Tensor:  # torch._utils._rebuild_tensor_v2's signature (requires_grad, hooks, metadata ignored)
    return storage.as_strided(size, stride, offset)


class ArchiveUnpickler(pickle.Unpickler):
    """Unpickles a TorchScript ``data.pkl``, accepting only module records, tensors and float storages.

    ``load_storage(key, dtype, numel)`` returns the flat tensor of storage ``data/<key>``; tensors are views of it.
    """

    def __init__(self, file: BinaryIO, load_storage: Callable[[str, torch.dtype, int], Tensor]) -> None:
        super().__init__(file)
        self.load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("__torch__"):
            return PickledModule
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor
        if module == "torch.jit._pickle" and name in ("build_intlist", "build_doublelist", "build_boollist"):
            return plain_list
        if (module, name) == ("torch.jit._pickle", "restore_type_tag"):
            return untagged
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a TorchScript weights archive")

    def persistent_load(self, pid: Any) -> Tensor:
        kind, dtype, key, _location, numel = pid
        if kind != "storage" or not isinstance(dtype, torch.dtype):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return self.load_storage(str(key), dtype, int(numel))


def module_tensors(root: PickledModule, prefix: str = "") -> dict[str, Tensor]:
    """Every tensor attribute under ``root``, by dotted path (the names ``named_parameters()`` would give)."""
    found: dict[str, Tensor] = {}
    for name, value in root.attributes.items():
        if torch.is_tensor(value):
            found[prefix + name] = value
        elif isinstance(value, PickledModule):
            found.update(module_tensors(value, f"{prefix}{name}."))
    return found


def unpickle_tensors(data_pkl: bytes, load_storage: Callable[[str, torch.dtype, int], Tensor]) -> dict[str, Tensor]:
    """The named tensors of a TorchScript ``data.pkl`` (views of the storages ``load_storage`` returns)."""
    root = ArchiveUnpickler(io.BytesIO(data_pkl), load_storage).load()
    if not isinstance(root, PickledModule):
        raise ValueError("not a TorchScript module archive (data.pkl holds no module)")
    return module_tensors(root)


def archive_prefix(archive: zipfile.ZipFile) -> str:
    """The archive's top folder (``out_jit_module/`` in fid-helper's file), found from its ``data.pkl``."""
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError(f"not a TorchScript archive: expected one <folder>/data.pkl, found {pickles}")
    return pickles[0][: -len("data.pkl")]


def read_torchscript_tensors(source: str | Path | bytes) -> dict[str, Tensor]:
    """The named tensors of a TorchScript archive (a path or its bytes), read without running the archive."""
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        prefix = archive_prefix(archive)
        if f"{prefix}byteorder" in archive.namelist():
            order = archive.read(f"{prefix}byteorder").decode().strip()
        else:
            order = "little"  # archives written before the record existed
        if order != sys.byteorder:
            raise ValueError(f"the archive is {order}-endian, this machine {sys.byteorder}-endian: not supported")

        def load_storage(key: str, dtype: torch.dtype, numel: int) -> Tensor:
            raw = bytearray(archive.read(f"{prefix}data/{key}"))
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            if flat.numel() != numel:
                raise ValueError(f"storage {key}: {flat.numel()} values, the archive says {numel}")
            return flat

        tensors = unpickle_tensors(archive.read(f"{prefix}data.pkl"), load_storage)
    return {name: t.clone() for name, t in tensors.items()}


# -------------------------------------------------------------------------------------------------- writing
class StorageRecord:
    """A tensor's storage as the pickle refers to it: ``data/<key>``."""

    def __init__(self, key: str, tensor: Tensor) -> None:
        self.key, self.tensor = key, tensor


class StateDictPickler(pickle.Pickler):
    """Pickles a state dict as ``torch.save`` does (protocol 2, tensors via ``_rebuild_tensor_v2``, storages as
    persistent ids), numbering storages in the order met; every tensor gets its own contiguous storage."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, protocol=2)
        self.storages: list[Tensor] = []

    def reducer_override(self, obj: Any) -> Any:
        if not torch.is_tensor(obj):
            return NotImplemented
        tensor = obj.detach().cpu().contiguous()
        if tensor.dtype not in STORAGE_TYPES:
            raise TypeError(f"save_deterministic: dtype {tensor.dtype} is not supported")
        record = StorageRecord(str(len(self.storages)), tensor)
        self.storages.append(tensor)
        return _rebuild_tensor_v2, (record, 0, tuple(tensor.shape), tensor.stride(), False, OrderedDict())

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, StorageRecord):
            return ("storage", STORAGE_TYPES[obj.tensor.dtype], obj.key, "cpu", obj.tensor.numel())
        return None


def save_deterministic(state: dict[str, Tensor], path: str | Path) -> None:
    """Write ``state`` as a torch zip checkpoint whose bytes depend only on its keys and tensors."""
    pickled = io.BytesIO()
    pickler = StateDictPickler(pickled)
    pickler.dump(state)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:

        def record(name: str, data: bytes) -> None:
            archive.writestr(zipfile.ZipInfo(f"archive/{name}", date_time=ZIP_EPOCH), data)

        record("data.pkl", pickled.getvalue())
        record("byteorder", sys.byteorder.encode())
        for key, tensor in enumerate(pickler.storages):
            record(f"data/{key}", tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        record("version", b"3\n")
