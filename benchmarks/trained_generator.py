"""Train a table cell on one machine, evaluate it on another: the trained generator as a small, checked file.

A Lucic cell (``fashion_lucic.yaml``) trains for 75-100 min on a 2-core CPU and for minutes on a GPU, but its
evaluation needs the 95 MB Inception weights, which a borrowed GPU machine may not have (nothing can be downloaded
there, and what travels to it is capped). So a cell can be split in two:

1. where the GPU is: ``python -m benchmarks.run_table SPEC --cells C --train-only --train-accelerator gpu`` trains
   the cell exactly as a normal run would (same resolved configuration, seed, budget, resume checkpoints) and
   then writes ``<results>/<table>/.work/<cell>/generator.ckpt``: the final checkpoint without the discriminator,
   the optimizers and the loop state (what evaluation needs: the generator, its EMA if any, the hyperparameters
   and step counters), plus the training record and the protocol of the machine that trained it;
2. ``python -m benchmarks.trained_generator export --results R --table T --cells C --out DIR`` cuts those files
   into parts of at most ``--part-bytes`` (a transfer's file-size cap) with a manifest of SHA-256 sums;
   ``... import --results R DIR`` (here) checks every part and reassembles the files in place;
3. here: ``python -m benchmarks.run_table SPEC --cells C`` finds ``generator.ckpt`` beside a ``resolved.json``
   equal to the cell's configuration, trains nothing, evaluates, and writes the cell JSON. Its ``training``
   block keeps the training machine's record (``train_s``, ``trained_on``: hardware, versions, command), and the
   JSON's ``protocol`` is the evaluating machine's.

A cell trained this way differs from a CPU-trained one only as two CPUs' runs differ (kernels round differently);
its configuration is the same, so it is the same cell of the table, and its hardware is on record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from zoo.metrics.feature_extractor import sha256_file

GENERATOR_FILE = "generator.ckpt"
RESOLVED_FILE = "resolved.json"
MANIFEST = "manifest.json"
#: the state-dict prefix of the nets evaluation never uses (every variant's discriminator(s) start with it)
DROPPED_PREFIX = "discriminator"
#: checkpoint entries evaluation never reads (the optimizers, the loops, the callbacks' own states)
KEPT_ENTRIES = ("state_dict", "hyper_parameters", "adversarial_counters", "epoch", "global_step", "variant")
#: the largest file a device call returns is 16 MiB; stay under it
DEFAULT_PART_BYTES = 16_000_000


def slim_checkpoint(checkpoint: dict[str, Any], record: dict[str, Any], trained_on: dict[str, Any]) -> dict[str, Any]:
    """What evaluating a trained cell needs from its final ``checkpoint``: the generator side of the state dict
    (the discriminator dropped) and the entries in ``KEPT_ENTRIES``, with the training ``record`` and the
    ``trained_on`` protocol (hardware, versions, command) of the machine that trained it."""
    slim = {key: checkpoint[key] for key in KEPT_ENTRIES if key in checkpoint}
    slim["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith(DROPPED_PREFIX)}
    # plain JSON types only (versions are str subclasses), so the file loads with weights_only=True
    slim["training_record"] = json.loads(json.dumps(record))
    slim["trained_on"] = json.loads(json.dumps(trained_on))
    return slim


def write_trained_generator(work: Path, record: dict[str, Any], trained_on: dict[str, Any]) -> Path:
    """Slim ``work/last.ckpt`` (a finished cell's final checkpoint) into ``work/generator.ckpt``, atomically."""
    import torch

    from benchmarks.run_table import load_checkpoint

    ckpt = work / "last.ckpt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt} is missing: the cell must train with checkpoints (run_table --train-only).")
    out = work / GENERATOR_FILE
    tmp = out.with_suffix(".tmp")
    torch.save(slim_checkpoint(load_checkpoint(ckpt), record, trained_on), tmp)
    tmp.replace(out)
    return out


def load_trained_generator(model: Any, checkpoint: dict[str, Any]) -> None:
    """Give ``model`` the trained weights of a slim checkpoint; everything the model has that the file lacks must be
    discriminator state (anything else missing, or any key the model does not know, is an error)."""
    variant = checkpoint.get("variant")
    if variant is not None and variant != type(model).__name__:
        raise RuntimeError(f"{GENERATOR_FILE} holds a {variant}, not a {type(model).__name__}: train the cell again.")
    if model.generator is None:  # nets are built for the data's shape at setup: build them for the saved one
        model.build_networks(checkpoint["hyper_parameters"]["image_shape"])
    counters = checkpoint["adversarial_counters"]
    model.d_steps, model.g_steps = int(counters["d_steps"]), int(counters["g_steps"])
    missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    lacking = [k for k in missing if not k.startswith(DROPPED_PREFIX)]
    if lacking or unexpected:
        raise RuntimeError(
            f"{GENERATOR_FILE} does not fit this model (missing {lacking[:5]}, unexpected {list(unexpected)[:5]}): "
            "it was written for another configuration; delete it and train the cell again."
        )


def export_cells(results: Path, table: str, cells: list[str], out: Path, part_bytes: int = DEFAULT_PART_BYTES) -> dict:
    """Cut each cell's ``generator.ckpt`` (and copy its ``resolved.json``) into ``out`` as flat files
    ``<cell>.<file>.partNN``; ``out/manifest.json`` lists them with their SHA-256 and the whole files' SHA-256."""
    if part_bytes < 1:
        raise ValueError(f"part_bytes must be >= 1, got {part_bytes}.")
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"table": table, "files": []}
    for cell in cells:
        work = results / table / ".work" / cell
        for name in (GENERATOR_FILE, RESOLVED_FILE):
            source = work / name
            if not source.is_file():
                raise FileNotFoundError(f"{source} is missing: train the cell with run_table --train-only first.")
            data = source.read_bytes()
            parts = []
            for index, start in enumerate(range(0, max(len(data), 1), part_bytes)):
                part = out / f"{cell}.{name}.part{index:02d}"
                part.write_bytes(data[start : start + part_bytes])
                parts.append({"name": part.name, "sha256": sha256_file(part)})
            manifest["files"].append(
                {
                    "cell": cell,
                    "name": name,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "parts": parts,
                }
            )
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def import_cells(source: Path, results: Path) -> list[Path]:
    """Check every part listed in ``source/manifest.json`` and reassemble the files into
    ``<results>/<table>/.work/<cell>/``; a missing or altered part is an error naming it (nothing is written then)."""
    manifest = json.loads((source / MANIFEST).read_text())
    assembled: list[tuple[Path, bytes]] = []
    for entry in manifest["files"]:
        chunks = []
        for part in entry["parts"]:
            path = source / part["name"]
            if not path.is_file() or sha256_file(path) != part["sha256"]:
                raise ValueError(f"part {path} is missing or altered (SHA-256 differs): export and fetch it again.")
            chunks.append(path.read_bytes())
        data = b"".join(chunks)
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(
                f"{entry['cell']}/{entry['name']}: the reassembled file's SHA-256 differs: export it again."
            )
        assembled.append((results / manifest["table"] / ".work" / entry["cell"] / entry["name"], data))
    for target, data in assembled:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return [target for target, _ in assembled]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trained_generator", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="cut cells' generator.ckpt files into checked parts")
    export.add_argument("--results", required=True, help="results root the cells trained under")
    export.add_argument("--table", required=True, help="the spec's name (e.g. fashion_lucic)")
    export.add_argument("--cells", required=True, help="comma-separated cell ids")
    export.add_argument("--out", required=True, help="folder for the parts and manifest.json")
    export.add_argument("--part-bytes", type=int, default=DEFAULT_PART_BYTES)
    imported = commands.add_parser("import", help="check parts and reassemble them under a results root")
    imported.add_argument("source", help="folder holding manifest.json and the parts")
    imported.add_argument("--results", default=None, help="results root (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.command == "export":
        cells = [c for c in args.cells.split(",") if c]
        manifest = export_cells(Path(args.results), args.table, cells, Path(args.out), args.part_bytes)
        for entry in manifest["files"]:
            print(f"{entry['cell']}/{entry['name']}: {entry['bytes']} bytes in {len(entry['parts'])} part(s)")
    else:
        from benchmarks.run_table import RESULTS

        for path in import_cells(Path(args.source), Path(args.results) if args.results else RESULTS):
            print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
