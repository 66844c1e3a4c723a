"""Does a generator trained on few images copy them? Nearest-neighbour distances to its training set.

    PYTHONPATH=. OMP_NUM_THREADS=2 python -m benchmarks.memorization_probe benchmarks/tables/fashion_da_long.yaml \\
        [--cells 'gan_ns_sub1000*'] [--n 2000]

FID against held-out images cannot tell a generator that samples the data distribution from one that reproduces
its training images: a copy of 1,000 real images also scores well. The check GAN papers use for this is the
nearest training image of each sample (e.g. Brock et al. 2019, BigGAN, appendix; Karras et al. 2018, progressive
GAN, appendix). This probe makes it a number. For every generator a cell kept (``generator_snapshots`` in its
spec, ``benchmarks.run_table``) it draws ``n`` fakes (z seed of the cell's evaluation) and compares two reference
sets of the same size N: the cell's *training set* (the datamodule's train split, i.e. the ``subset`` it trained
on) and a class-balanced set of N *held-out* test images. For each fake it takes the distance to the nearest image
of each set, in the evaluation extractor's feature space and in pixels:

* ``ratio`` = median distance to the nearest training image / median distance to the nearest held-out image:
  about 1 for a generator that samples the distribution (both sets are N draws from it, so a fresh sample is as
  near to one as to the other, whatever its quality), below 1 for one that reproduces its training images;
* ``real_ratio``: the same for ``n`` other test images, the value of a perfect, non-copying generator (about 1);
* ``near_copies``: the fraction of fakes nearer to a training image than the closest 1% of those test images
  are (about 0.01 without copying).

Writes ``<results>/<table>_memorization/<cell>.json`` and ``<results>/<table>_memorization.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from benchmarks.run_table import RESULTS, snapshots_dir
from benchmarks.snapshot_fid import load_cell_model, probe_kept_cells, snapshot_files
from benchmarks.table_spec import load_spec
from datamodules.base import to_unit_range
from datamodules.subset import balanced_subset
from zoo.metrics import MetricSettings
from zoo.sampling import fixed_z, generate_batches

SPACES = ("features", "pixels")
HELD_OUT_SEED = 0  # the class-balanced held-out reference set


def nearest_distances(queries: Tensor, references: Tensor, chunk: int = 1024) -> Tensor:
    """For each row of ``queries`` the Euclidean distance to its nearest row of ``references`` (float64)."""
    references = references.double()
    return torch.cat([torch.cdist(q.double(), references).min(dim=1).values for q in queries.split(chunk)])


def compare(fakes: Tensor, reals: Tensor, train: Tensor, held_out: Tensor) -> dict[str, float]:
    """Nearest-image statistics of ``fakes`` (and of real ``reals``) towards ``train`` and ``held_out``."""
    fake_train, fake_held = nearest_distances(fakes, train), nearest_distances(fakes, held_out)
    real_train, real_held = nearest_distances(reals, train), nearest_distances(reals, held_out)
    return {
        "fake_to_train": float(fake_train.median()),
        "fake_to_held_out": float(fake_held.median()),
        "ratio": float(fake_train.median() / fake_held.median()),
        "real_ratio": float(real_train.median() / real_held.median()),
        "near_copies": float((fake_train < torch.quantile(real_train, 0.01)).double().mean()),
    }


def embed(extractor: Any, images: Tensor, batch: int = 500) -> Tensor:
    with torch.no_grad():
        return torch.cat([extractor(chunk)[0] for chunk in images.split(batch)])


def probe_cell(cell: dict[str, Any], n: int, log=print) -> dict[str, Any]:
    resolved = cell["resolved"]
    evaluation = resolved["evaluation"]
    files = snapshot_files(snapshots_dir(cell["path"]))
    if not files:
        raise FileNotFoundError(f"{cell['cell']} kept no generators: its spec needs generator_snapshots.")
    settings = MetricSettings(
        extractor=evaluation["extractor"], extractor_download=bool(evaluation.get("download", True))
    )
    extractor = settings.build_extractor().eval()
    _, data, _ = load_cell_model(resolved, files[-1])
    train = data.real_samples("train")
    split = evaluation.get("split", "test")
    images, labels = data.split(split)
    held = balanced_subset(labels, len(train), HELD_OUT_SEED)
    rest = torch.ones(len(images), dtype=torch.bool)
    rest[held] = False
    if int(rest.sum()) < n:
        raise ValueError(f"split {split!r} has {int(rest.sum())} images besides the held-out set; use --n <= that.")
    held_out, reals = to_unit_range(images[held].clone()), to_unit_range(images[rest][:n].clone())
    sets = {"train": train, "held_out": held_out, "reals": reals}
    views = {"features": {k: embed(extractor, v) for k, v in sets.items()}, "pixels": sets}
    rows = []
    for path in files:
        model, _, steps = load_cell_model(resolved, path)
        z = fixed_z(model, n, int(evaluation.get("seed", 0)))
        fakes = torch.cat(list(generate_batches(model.generator, z, 500))).clamp(-1, 1)
        fake_views = {"features": embed(extractor, fakes), "pixels": fakes}
        row: dict[str, Any] = {"snapshot": path.name, **steps}
        for space in SPACES:
            v = {k: t.flatten(1) for k, t in views[space].items()}
            row[space] = compare(fake_views[space].flatten(1), v["reals"], v["train"], v["held_out"])
        rows.append(row)
        log(
            f"  {cell['cell']} {path.name}: ratio features {row['features']['ratio']:.3f}, pixels "
            f"{row['pixels']['ratio']:.3f}"
        )
    return {
        "cell": cell["cell"],
        "n": n,
        "n_train": len(train),
        "held_out": f"{len(held_out)} class-balanced {split} images (seed {HELD_OUT_SEED})",
        "extractor": extractor.name,
        "extractor_sha256": extractor.weights_sha256,
        "z_seed": int(evaluation.get("seed", 0)),
        "rows": rows,
    }


def render(results: list[dict[str, Any]], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Made by `python -m benchmarks.memorization_probe` (see its docstring) from the JSON files beside this one.",
        "Per fake, the distance to the nearest training image and to the nearest of as many held-out test images;",
        "ratio = median train / median held-out (about 1: samples the distribution; below 1: copies training images);",
        "real: the same ratio for real test images (a perfect generator); near copies: fakes nearer to a training",
        "image than the closest 1% of those test images (about 0.01 without copying).",
        "",
        "| cell | snapshot | G steps | features: ratio | real | near copies | pixels: ratio | real | near copies |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for r in result["rows"]:
            f, p = r["features"], r["pixels"]
            lines.append(
                f"| {result['cell']} | {r['snapshot']} | {r['g_steps']} | {f['ratio']:.3f} | {f['real_ratio']:.3f} | "
                f"{f['near_copies']:.3f} | {p['ratio']:.3f} | {p['real_ratio']:.3f} | {p['near_copies']:.3f} |"
            )
    lines.append("")
    for result in results:
        proto = result["protocol"]
        hardware = proto.get("hardware", {})
        lines.append(
            f"- {result['cell']}: {result['n']} fakes and test images; {result['n_train']} training images; held out: "
            f"{result['held_out']}; "
            f"extractor `{result['extractor']}` (`{result['extractor_sha256'][:12]}`); z seed {result['z_seed']}; "
            f"git `{proto.get('git_sha')}`; {hardware.get('cpu_model')}, {hardware.get('torch_threads')} threads; "
            f"{result['wall_time_s']} s."
        )
    return "\n".join(lines) + "\n"


def run(spec_path: str, patterns: list[str] | None, n: int, results_root: str | None = None) -> list[dict]:
    spec = load_spec(spec_path)
    root = Path(results_root) if results_root is not None else RESULTS
    out_dir = root / f"{spec['name']}_memorization"
    command = " ".join(["python -m benchmarks.memorization_probe", *sys.argv[1:]])
    results = probe_kept_cells(spec, root, patterns, out_dir, lambda cell, _: probe_cell(cell, n), command)
    if results:
        title = f"{spec.get('title', spec['name'])}: nearest training images"
        (root / f"{spec['name']}_memorization.md").write_text(render(results, title))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memorization_probe", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec whose cells kept generator snapshots, e.g. fashion_da_long.yaml")
    parser.add_argument("--cells", help="comma-separated glob patterns on cell ids")
    parser.add_argument("--n", type=int, default=2000, help="fakes and test images per snapshot (default 2000)")
    parser.add_argument("--results", default=None, help="results root (default benchmarks/results)")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    patterns = [p for p in args.cells.split(",") if p] if args.cells else None
    run(args.spec, patterns, args.n, args.results)


if __name__ == "__main__":
    sys.exit(main())
