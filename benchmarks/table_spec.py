"""Table specs: read and check one (``benchmarks/tables/*.yaml``) and resolve it into cells.

A spec is variants x seeds on one dataset, with a training budget and an evaluation protocol::

    name: ring                      # results go to benchmarks/results/<name>/ and <name>.md
    title: ...                      # optional, like description and notes: printed around the numbers
    seeds: [0, 1, 2]
    accelerator: cpu                # optional (default cpu); deterministic: warn (optional, default true)
    overrides: {data.init_args.num_samples: 2000}   # optional, applied to every row's config
    budget: {g_steps: 2000}         # or {d_steps: N} or {epochs: N}; a row may override it
    evaluation: {kind: toy, n_samples: 2500, threshold: 3.0, min_samples: 1, seed: 4321}   # or kind: images
                                    # images: ema: true also scores the generator EMA (metrics ema_*); a row
                                    # may add to the block (evaluation: {ema: true}) as it may to the budget
    variants:
      - {id: gan_ns, label: GAN (non-saturating), variant: GAN, config: configs/gan/ring.yaml,
         overrides: {model.init_args.objective: non_saturating}}

A *cell* is one (variant row, seed): its id is ``<row>-s<seed>``. Its resolved configuration is the row's
LightningCLI config (``configs/<variant>/<dataset>.yaml``) with the spec's table-wide ``overrides`` and then the
row's ``overrides`` applied (dotted keys such as ``model.init_args.objective``), the data seed set to the cell
seed, the budget and the evaluation (the table's block updated by the row's). A cell is *done* when
``<results>/<table>/<cell>.json`` exists and its ``resolved`` block equals the one just computed (a changed budget,
config file, override or protocol makes it *stale*), else *missing*.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
#: trainer keys of a variant config that do not change what is trained (the runner sets its own)
#: a cell trains until the generator made ``g_steps`` updates, the discriminator ``d_steps``, or for ``epochs``
BUDGET_KEYS = ("g_steps", "d_steps", "epochs")
IGNORED_TRAINER_KEYS = (
    "default_root_dir",
    "callbacks",
    "logger",
    "log_every_n_steps",
    "enable_model_summary",
    "enable_progress_bar",
    "enable_checkpointing",
    "max_steps",
    "max_epochs",
    "max_time",
    "limit_train_batches",
    "val_check_interval",
    "check_val_every_n_epoch",
)
EVAL_KINDS = ("toy", "images")


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read and check a table spec."""
    path = Path(path)
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise ValueError(f"table spec {path} is not a mapping.")
    for key in ("name", "seeds", "budget", "evaluation", "variants"):
        if key not in spec:
            raise ValueError(f"table spec {path} has no {key!r}.")
    if spec["evaluation"].get("kind") not in EVAL_KINDS:
        raise ValueError(f"table spec {path}: evaluation.kind must be one of {', '.join(EVAL_KINDS)}.")
    ids = [v.get("id") for v in spec["variants"]]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"table spec {path}: every variant needs a unique id, got {ids}.")
    for entry in spec["variants"]:
        for key in ("variant", "config"):
            if key not in entry:
                raise ValueError(f"table spec {path}: variant {entry['id']!r} has no {key!r}.")
    spec["_path"] = str(path)
    return spec


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    """``set_dotted(c, "model.init_args.lr", 1e-3)``; intermediate mappings are created."""
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {key!r}: {part!r} is not a mapping in the config.")
    node[parts[-1]] = value


def normalize(value: Any) -> Any:
    """JSON round trip: tuples become lists, so a resolved block compares equal to the one read back."""
    return json.loads(json.dumps(value))


def resolve_cell(spec: dict[str, Any], entry: dict[str, Any], seed: int) -> dict[str, Any]:
    """Everything that determines a cell's numbers (compared with a finished cell's manifest)."""
    config_path = ROOT / entry["config"]
    if not config_path.is_file():
        raise FileNotFoundError(f"variant {entry['id']!r}: config {entry['config']} does not exist.")
    config = yaml.safe_load(config_path.read_text())
    overrides = {**spec.get("overrides", {}), **entry.get("overrides", {})}
    for key, value in overrides.items():
        set_dotted(config, key, value)
    class_path = config["model"]["class_path"]
    if class_path.rsplit(".", 1)[-1] != entry["variant"]:
        raise ValueError(
            f"variant {entry['id']!r}: registry name {entry['variant']!r} does not match the config's model "
            f"class_path {class_path!r} ({entry['config']})."
        )
    data = copy.deepcopy(config["data"])
    data.setdefault("init_args", {})["seed"] = seed
    trainer = {k: v for k, v in (config.get("trainer") or {}).items() if k not in IGNORED_TRAINER_KEYS}
    trainer.setdefault("accelerator", spec.get("accelerator", "cpu"))
    if "deterministic" in spec:  # default True (recorded only when a spec departs from it, e.g. "warn" on CUDA)
        trainer["deterministic"] = spec["deterministic"]
    budget = {**spec["budget"], **entry.get("budget", {})}
    if sum(key in budget for key in BUDGET_KEYS) != 1:
        raise ValueError(
            f"variant {entry['id']!r}: the budget needs exactly one of {', '.join(BUDGET_KEYS)}, got {budget}."
        )
    return normalize(
        {
            "variant": entry["variant"],
            "config": entry["config"],
            "overrides": overrides,
            "seed": seed,
            "model": {"class_path": class_path, "init_args": config["model"].get("init_args", {})},
            "data": data,
            "trainer": trainer,
            "budget": budget,
            "evaluation": {**spec["evaluation"], **entry.get("evaluation", {})},
        }
    )


def cell_id(entry: dict[str, Any], seed: int) -> str:
    return f"{entry['id']}-s{seed}"


def table_meta(spec: dict[str, Any]) -> dict[str, Any]:
    """What the renderer prints around the numbers (not part of the match: editing it re-runs nothing)."""
    return {
        "name": spec["name"],
        "title": spec.get("title", spec["name"]),
        "spec": os.path.relpath(Path(spec["_path"]).resolve(), ROOT),
        "description": spec.get("description", ""),
        "notes": spec.get("notes", ""),
        # a published number to print beside a row's (e.g. the paper's FID for that model and dataset)
        "published_label": spec.get("published_label", ""),
        "published": {v["id"]: str(v["published"]) for v in spec["variants"] if "published" in v},
    }


def plan(spec: dict[str, Any], results_dir: Path, patterns: list[str] | None, force: bool = False) -> list[dict]:
    """The cells of ``spec`` (optionally matching one of ``patterns``) with their status: done, stale, missing."""
    cells = []
    for index, entry in enumerate(spec["variants"]):
        for seed in entry.get("seeds", spec["seeds"]):  # a row may run fewer (or other) seeds
            cid = cell_id(entry, seed)
            if patterns and not any(fnmatch.fnmatch(cid, p) for p in patterns):
                continue
            resolved = resolve_cell(spec, entry, seed)
            path = results_dir / f"{cid}.json"
            status = "missing"
            if path.is_file():
                try:
                    old = json.loads(path.read_text()).get("resolved")
                except json.JSONDecodeError:
                    old = None
                status = "done" if old == resolved and not force else "stale"
            cells.append(
                {"cell": cid, "entry": entry, "row_index": index, "seed": seed, "resolved": resolved, "path": path}
            )
            cells[-1]["status"] = status
    return cells


def resolve_named_cell(
    spec_path: str | Path, cell_id: str, results_root: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec, resolved configuration) of the cell ``cell_id`` of a spec (``SystemExit`` naming how to list the cells
    when there is none): what a diagnostic that retrains one table cell starts from."""
    spec = load_spec(spec_path)
    cells = [c for c in plan(spec, Path(results_root) / spec["name"], [cell_id]) if c["cell"] == cell_id]
    if not cells:
        raise SystemExit(
            f"no cell {cell_id!r} in {spec_path}: list them with "
            f"'python -m benchmarks.run_table {spec_path} --dry-run'."
        )
    return spec, cells[0]["resolved"]
