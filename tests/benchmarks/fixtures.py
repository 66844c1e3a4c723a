"""A fixture table of cell JSONs (what ``benchmarks.run_table`` writes), for the renderer tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from benchmarks.cell_schema import cell_record

PROTOCOL = {
    "command": "python -m benchmarks.run_table benchmarks/tables/fixture.yaml",
    "git_sha": "0123abc",
    "versions": {"torch": "2.0", "lightning": "2.6.6"},
    "hardware": {"cpu_count": 2, "torch_threads": 1},
}
TABLE = {"name": "fixture", "title": "Fixture table", "spec": "benchmarks/tables/fixture.yaml", "notes": ""}
EVALUATION = {
    "kind": "images",
    "extractor": "fashion-domain",
    "extractor_sha256": "feedbeef",
    "n_fake": 100,
    "n_real": 200,
    "split": "test",
    "seed": 0,
    "kid_subsets": 10,
    "kid_subset_size": 50,
    "is_splits": 5,
    "pr_neighborhood": 3,
}
# row -> (label, [(seed, fid, kid, is, precision, recall)])
ROWS = {
    "gan": ("GAN", [(0, 10.0, 0.0100, 5.0, 0.60, 0.40), (1, 12.0, 0.0140, 5.5, 0.70, 0.30)]),
    "wgan": ("WGAN", [(0, 20.0, 0.0080, 6.0, 0.50, 0.50), (1, 24.0, 0.0120, 7.0, 0.50, 0.60)]),
}


def make_cell(row: str, index: int, label: str, values: tuple) -> dict[str, Any]:
    seed, fid, kid, inception, precision, recall = values
    return cell_record(
        table=copy.deepcopy(TABLE),
        cell=f"{row}-s{seed}",
        row=row,
        label=label,
        row_index=index,
        seed=seed,
        resolved={
            "variant": label,
            "config": f"configs/{row}/x.yaml",
            "overrides": {},
            "seed": seed,
            "model": {"class_path": f"zoo.{label}", "init_args": {"lr": 0.001}},
            "data": {"class_path": "datamodules.FashionMNISTData", "init_args": {"batch_size": 64, "seed": seed}},
            "trainer": {"accelerator": "cpu"},
            "budget": {"g_steps": 100},
            "evaluation": {"kind": "images"},
        },
        images_seen={"d_real": 6400, "d_fake": 6400, "g": 6400},
        evaluation=copy.deepcopy(EVALUATION),
        metrics={
            "fid": fid,
            "kid": kid,
            "kid_std": 0.001,
            "is": inception,
            "precision": precision,
            "recall": recall,
        },
        protocol=copy.deepcopy(PROTOCOL),
        wall_time_s={"train": 9.0, "eval": 1.0, "total": 10.0},
    )


def fixture_cells() -> list[dict[str, Any]]:
    return [
        make_cell(row, index, label, values)
        for index, (row, (label, seeds)) in enumerate(ROWS.items())
        for values in seeds
    ]


def write_cells(directory: Path, cells: list[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for cell in cells:
        (directory / f"{cell['cell']}.json").write_text(json.dumps(cell))
    return directory


def tiny_image_spec(name: str, budget: dict[str, int], metrics: list[str], **extra: Any) -> dict[str, Any]:
    """A one-cell image table: GAN on the real Fashion-MNIST test split, tiny nets, fashion-domain metrics."""
    return {
        "name": name,
        "seeds": [0],
        "budget": budget,
        "overrides": {"model.init_args.latent_dim": 8, "model.init_args.width": 8},
        "evaluation": {
            "kind": "images",
            "extractor": "fashion-domain",
            "metrics": metrics,
            "n_fake": 100,
            "n_real": 120,
            "split": "test",
            "seed": 0,
            "cache": False,
        },
        "variants": [{"id": "gan", "variant": "GAN", "config": "configs/gan/fashion_mnist_demo.yaml"}],
        **extra,
    }
