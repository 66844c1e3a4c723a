"""Fill a comparison table: train and evaluate every missing cell of a table spec, one JSON per cell.

    python -m benchmarks.run_table benchmarks/tables/ring.yaml [--cells 'gan_*'] [--dry-run] [--force]

The spec and its cells (id ``<row>-s<seed>``, resolved configuration, done / stale / missing) are
``benchmarks.table_spec``'s; the cell JSON is ``benchmarks.cell_schema``'s. For each cell that is not done the
runner seeds everything with the cell seed, builds the variant and the datamodule, trains with a
``lightning.Trainer`` (deterministic, no logger, no checkpoints) until the generator has made
``budget.g_steps`` updates (or for ``budget.epochs`` epochs), evaluates the generator, and writes
``benchmarks/results/<table>/<cell>.json`` atomically (so a cell file exists only for a finished cell).

Evaluation ``kind: toy`` scores ``n_samples`` generator samples (fixed z from ``evaluation.seed``) with
``callbacks.toy_metrics.mode_metrics`` (the 3-sigma rule of Metz et al. 2017 / Srivastava et al. 2017);
``kind: images`` runs ``zoo.metrics.evaluate_generator`` with the named feature extractor (FID, KID,
IS, precision/recall; extractor name and weights SHA-256 recorded), and the runner also saves an 8x8 grid of
samples from a fixed z (seeded by ``evaluation.seed``) as ``<cell>.png`` beside the cell JSON, so a number can be
checked against what the generator draws (``--no-samples`` skips it). After running, the table is rendered to
``benchmarks/results/<table>.md`` by ``benchmarks.render``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from typing import Any

from benchmarks.cell_evaluation import evaluate_cell, save_sample_grid
from benchmarks.cell_schema import cell_record
from benchmarks.table_spec import ROOT, load_spec, plan, table_meta
from benchmarks.trained_generator import (
    GENERATOR_FILE,
    RESOLVED_FILE,
    load_trained_generator,
    write_trained_generator,
)

RESULTS = ROOT / "benchmarks" / "results"


def import_class(class_path: str) -> type:
    module, name = class_path.rsplit(".", 1)
    return getattr(import_module(module), name)


def make_stopper(counter: str, steps: int):
    """A callback that stops training once ``pl_module.<counter>`` (``g_steps`` or ``d_steps``) reaches ``steps``."""
    import lightning as L

    class StopAtSteps(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args: Any) -> None:
            if getattr(pl_module, counter) >= steps:
                trainer.should_stop = True

    return StopAtSteps()


def make_progress(counter: str, steps: int, every: int, log=print):
    """A callback that logs ``counter`` / ``steps``, the rate and the time left every ``every`` counts."""
    import lightning as L

    class Progress(L.Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            self.start = time.perf_counter()
            self.first = self.last = getattr(pl_module, counter)

        def on_train_batch_end(self, trainer, pl_module, *args: Any) -> None:
            done = getattr(pl_module, counter)
            if done % every or done == self.last:  # once per count (with n_critic > 1, g_steps repeats)
                return
            self.last = done
            rate = (done - self.first) / (time.perf_counter() - self.start)
            left_min = (steps - done) / rate / 60
            log(f"  {counter} {done}/{steps} ({rate:.2f}/s, about {left_min:.0f} min left)", flush=True)

    return Progress()


def work_dir(cell_path: Path) -> Path:
    """Where an unfinished cell keeps its checkpoint (``<results>/<table>/.work/<cell>``, not committed)."""
    return cell_path.parent / ".work" / cell_path.stem


def resumable(work: Path, resolved: dict[str, Any], name: str = "last.ckpt") -> Path | None:
    """The cell's own ``work/<name>`` (``last.ckpt``, or a ``generator.ckpt`` trained elsewhere) if an earlier run
    of exactly this configuration left one."""
    ckpt, recorded = work / name, work / RESOLVED_FILE
    if ckpt.is_file() and recorded.is_file() and json.loads(recorded.read_text()) == resolved:
        return ckpt
    return None


def snapshots_dir(cell_path: Path) -> Path:
    """Where a cell keeps its generator snapshots (``<results>/<table>/.generators/<cell>``, not committed)."""
    return cell_path.parent / ".generators" / cell_path.stem


def train_cell(
    resolved: dict[str, Any],
    work: Path | None = None,
    checkpoint_every: int | None = None,
    snapshots: dict[str, Any] | None = None,
    snapshot_dir: Path | None = None,
    extra_callbacks: list[Any] | None = None,
    accelerator: str | None = None,
    deterministic: bool | str | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """Seed, build and train one cell's model; returns (model, datamodule, training record).

    With ``work`` and ``checkpoint_every`` (optimizer steps), the cell saves ``work/last.ckpt`` as it trains and a
    later run of the same configuration resumes from it (the zoo's resume is exact: the finished cell equals an
    uninterrupted one). With ``snapshots`` (the spec's ``generator_snapshots: {counter: d_steps, at: [...]}``)
    and ``snapshot_dir``, the generator is also kept at those step counts (``callbacks.GeneratorSnapshots``),
    and these files outlive the cell, so its intermediate generators can be scored later. ``extra_callbacks`` join
    the trainer's (diagnostics such as ``benchmarks.projection_probe``; they must not draw from the global RNG).

    ``accelerator`` and ``deterministic`` override where and how strictly this sitting trains (``--train-accelerator
    gpu`` on a borrowed GPU) without changing the cell's configuration; the record says what was used. A
    ``work/generator.ckpt`` trained elsewhere for this configuration (``benchmarks.trained_generator``) is loaded
    instead of training.
    """
    import lightning as L

    from zoo import get_variant

    seed = resolved["seed"]
    L.seed_everything(seed, workers=True, verbose=False)
    model = get_variant(resolved["variant"])(**resolved["model"]["init_args"])
    data = import_class(resolved["data"]["class_path"])(**resolved["data"].get("init_args", {}))
    budget = resolved["budget"]
    callbacks = []
    limits = {"max_steps": -1, "max_epochs": int(budget.get("epochs", -1))}
    for counter in ("g_steps", "d_steps"):
        if counter in budget:
            callbacks.append(make_stopper(counter, int(budget[counter])))
            callbacks.append(make_progress(counter, int(budget[counter]), max(1, int(budget[counter]) // 20)))
    keeper = snapshot_keeper(snapshots, snapshot_dir)
    if work is not None and (trained := resumable(work, resolved, GENERATOR_FILE)) is not None:
        record = trained_elsewhere(model, trained, budget)
        if keeper is not None and getattr(model, keeper.counter) in keeper.at:  # keep the final generator here too
            snapshot_dir.mkdir(parents=True, exist_ok=True)
            keeper.save(model, getattr(model, keeper.counter))
        return model, data, record
    resume_from = None
    if work is not None and checkpoint_every:
        from callbacks.checkpoint import ZooCheckpoint

        resume_from = resumable(work, resolved)
        work.mkdir(parents=True, exist_ok=True)
        (work / RESOLVED_FILE).write_text(json.dumps(resolved, indent=1) + "\n")
        callbacks.append(ZooCheckpoint(every_n_train_steps=checkpoint_every, dirpath=str(work)))
    if keeper is not None:
        callbacks.append(keeper)
    callbacks.extend(extra_callbacks or [])
    trainer_args = {"deterministic": True, **resolved["trainer"]}
    if accelerator is not None:
        trainer_args["accelerator"] = accelerator
    if deterministic is not None:
        trainer_args["deterministic"] = deterministic
    if trainer_args["accelerator"] != "cpu":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
        # fp32 means fp32: no TF32 in cuDNN convolutions (on by default) or matmuls (the papers' GPUs had none)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    trainer = L.Trainer(
        **trainer_args,
        **limits,
        devices=1,
        logger=False,
        enable_checkpointing=resume_from is not None or bool(work is not None and checkpoint_every),
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=callbacks,
    )
    checkpoint = None if resume_from is None else load_checkpoint(resume_from)
    resumed_step = None if checkpoint is None else int(checkpoint.get("global_step", 0))
    start = time.perf_counter()
    if checkpoint is not None and budget_reached(checkpoint, budget):
        # training ended and saved its checkpoint, then the run stopped (e.g. during evaluation): take the
        # trained model as it was (fit would train one step past the budget before the stopper could act)
        if model.generator is None:  # nets are built for the data's shape at setup: build them for the saved one
            model.build_networks(checkpoint["hyper_parameters"]["image_shape"])
        model.on_load_checkpoint(checkpoint)
        model.load_state_dict(checkpoint["state_dict"])
        epochs = int(checkpoint.get("epoch", 0))
    else:
        trainer.fit(model, data, ckpt_path=str(resume_from) if resume_from is not None else None)
        epochs = int(trainer.current_epoch)
    train_s = time.perf_counter() - start
    check_budget_met(model, budget)
    batch = int(data.batch_size)
    record = {
        "d_steps": int(model.d_steps),
        "g_steps": int(model.g_steps),
        "epochs": epochs,
        "batch_size": batch,
        # one D update takes one real batch and one batch of fakes; one G update generates one batch
        "images_seen": {
            "d_real": int(model.d_steps) * batch,
            "d_fake": int(model.d_steps) * batch,
            "g": int(model.g_steps) * batch,
        },
        "train_s": round(train_s, 3),  # this sitting's training time (a resumed cell: since the resume)
        "resumed_from_step": resumed_step,  # optimizer steps (both nets) the cell resumed from, if it did
    }
    if accelerator is not None or deterministic is not None:
        record["trainer_overrides"] = {
            "accelerator": trainer_args["accelerator"],
            "deterministic": trainer_args["deterministic"],
        }
    if trainer_args["accelerator"] != "cpu":
        record["tf32"] = False
    return model, data, record


def snapshot_keeper(snapshots: dict[str, Any] | None, snapshot_dir: Path | None) -> Any:
    """The ``callbacks.GeneratorSnapshots`` a spec's ``generator_snapshots`` asks for, or None."""
    if not snapshots or snapshot_dir is None:
        return None
    from callbacks.generator_snapshots import GeneratorSnapshots

    return GeneratorSnapshots(snapshot_dir, snapshots["at"], snapshots.get("counter", "d_steps"))


def check_budget_met(model: Any, budget: dict[str, Any]) -> None:
    """Training must end exactly at the step budget."""
    for counter in ("g_steps", "d_steps"):
        if counter in budget and getattr(model, counter) != int(budget[counter]):
            raise RuntimeError(f"training stopped at {counter} = {getattr(model, counter)}, budget {budget[counter]}.")


def trained_elsewhere(model: Any, path: Path, budget: dict[str, Any]) -> dict[str, Any]:
    """Load a generator trained by ``--train-only`` (possibly on another machine) into ``model``; returns the
    training record written with it, marked with where it trained."""
    checkpoint = load_checkpoint(path)
    load_trained_generator(model, checkpoint)
    check_budget_met(model, budget)
    record = dict(checkpoint["training_record"])
    record["trained_on"] = checkpoint["trained_on"]
    return record


def load_checkpoint(ckpt: Path) -> dict[str, Any]:
    import torch

    return torch.load(ckpt, map_location="cpu", weights_only=True)


def budget_reached(checkpoint: dict[str, Any], budget: dict[str, Any]) -> bool:
    """Whether a checkpoint's generator / discriminator step counters already meet a step budget."""
    counters = checkpoint.get("adversarial_counters", {})
    steps = [counter for counter in ("g_steps", "d_steps") if counter in budget]
    return bool(steps) and all(int(counters.get(counter, 0)) >= int(budget[counter]) for counter in steps)


def run_cell(
    cell: dict[str, Any],
    spec: dict[str, Any],
    run_protocol: dict[str, Any],
    samples: bool = True,
    accelerator: str | None = None,
    deterministic: bool | str | None = None,
) -> dict[str, Any]:
    """Train, evaluate and write one cell (and, for image cells, its sample grid); returns its JSON. With
    ``accelerator`` (where to train, overriding the spec's) the cell is evaluated there too."""
    start = time.perf_counter()
    work = work_dir(cell["path"])
    model, data, record = train_cell(
        cell["resolved"],
        work,
        spec.get("checkpoint_every_n_train_steps"),
        spec.get("generator_snapshots"),
        snapshots_dir(cell["path"]),
        accelerator=accelerator,
        deterministic=deterministic,
    )
    t_eval = time.perf_counter()
    accelerator = str(accelerator or cell["resolved"]["trainer"].get("accelerator", "cpu"))
    evaluation_spec = cell["resolved"]["evaluation"]
    metrics, evaluation = evaluate_cell(model, data, evaluation_spec, accelerator)
    eval_s = time.perf_counter() - t_eval
    path: Path = cell["path"]
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = None
    if samples and evaluation_spec["kind"] == "images":
        grid = save_sample_grid(model, path.with_suffix(".png"), int(evaluation_spec.get("seed", 0)))
    result = cell_record(
        table=table_meta(spec),
        cell=cell["cell"],
        row=cell["entry"]["id"],
        label=cell["entry"].get("label", cell["entry"]["id"]),
        row_index=cell["row_index"],
        seed=cell["seed"],
        resolved=cell["resolved"],
        training=record,
        images_seen=record["images_seen"],
        evaluation=evaluation,
        metrics={k: float(v) for k, v in metrics.items()},
        samples=grid,
        protocol=run_protocol,
        wall_time_s={
            "train": record["train_s"],
            "eval": round(eval_s, 3),
            "total": round(time.perf_counter() - start, 3),
        },
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    if work.is_dir():  # the cell is finished: its resume checkpoint has done its job
        shutil.rmtree(work)
        if not any(work.parent.iterdir()):
            work.parent.rmdir()
    return result


def train_only_cell(
    cell: dict[str, Any],
    spec: dict[str, Any],
    run_protocol: dict[str, Any],
    accelerator: str | None = None,
    deterministic: bool | str | None = None,
) -> Path:
    """Train one cell (resumable, as ``run_cell`` does) and write its trained generator for evaluation elsewhere
    (``benchmarks.trained_generator``); no evaluation, no cell JSON. Returns the ``generator.ckpt`` path."""
    work = work_dir(cell["path"])
    _, _, record = train_cell(
        cell["resolved"],
        work,
        spec.get("checkpoint_every_n_train_steps") or 10**9,  # without one: only the checkpoint at the end
        spec.get("generator_snapshots"),
        snapshots_dir(cell["path"]),
        accelerator=accelerator,
        deterministic=deterministic,
    )
    if "trained_on" in record:  # already trained (this configuration's generator.ckpt is there)
        return work / GENERATOR_FILE
    return write_trained_generator(work, record, run_protocol)


def run_table(
    spec_path: str | Path,
    cells: list[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    results_root: str | Path | None = None,
    render: bool = True,
    log=print,
    samples: bool = True,
    train_only: bool = False,
    train_accelerator: str | None = None,
    deterministic: bool | str | None = None,
) -> list[dict[str, Any]]:
    """Run the missing/stale cells of a spec; returns the planned cells with their final status.

    ``train_only`` trains the cells and writes their trained generators (``benchmarks.trained_generator``) for a
    later run, maybe on another machine, to evaluate. ``train_accelerator`` / ``deterministic`` say where and how
    strictly this run trains (e.g. ``"gpu"``, ``"warn"``) without changing the cells' configuration; the cell's
    training record says what was used."""
    from benchmarks.protocol import protocol

    spec = load_spec(spec_path)
    root = Path(results_root) if results_root is not None else RESULTS
    results_dir = root / spec["name"]
    planned = plan(spec, results_dir, cells, force)
    todo = [c for c in planned if c["status"] != "done"]
    log(f"table {spec['name']}: {len(planned)} cells, {len(planned) - len(todo)} done, {len(todo)} to run")
    for c in planned:
        log(f"  {c['cell']:<28} {c['status']}")
    if dry_run:
        return planned
    # the protocol is taken once, before any training: the code that runs is the code at this SHA
    run_protocol = protocol(command=" ".join(["python -m benchmarks.run_table", *map(str, sys.argv[1:])]))
    for i, cell in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {cell['cell']} ({cell['status']}) ...")
        if train_only:
            path = train_only_cell(cell, spec, run_protocol, train_accelerator, deterministic)
            cell["status"] = "trained"
            log(f"[{i}/{len(todo)}] {cell['cell']} trained: {path} (evaluate it with a run without --train-only)")
            continue
        result = run_cell(cell, spec, run_protocol, samples, train_accelerator, deterministic)
        cell["status"] = "ran"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in result["metrics"].items())
        log(f"[{i}/{len(todo)}] {cell['cell']} done in {result['wall_time_s']['total']:.1f}s: {shown}")
    if render and not train_only:
        from benchmarks.render import render_table

        out = root / f"{spec['name']}.md"
        if any(results_dir.glob("*.json")):
            render_table(results_dir, out, meta=table_meta(spec))
            log(f"rendered {out}")
    return planned


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_table", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="table spec, e.g. benchmarks/tables/ring.yaml")
    parser.add_argument("--cells", help="comma-separated glob patterns on cell ids (e.g. 'gan_*,wgan-s0')")
    parser.add_argument("--dry-run", action="store_true", help="list the cells and their status, run nothing")
    parser.add_argument("--force", action="store_true", help="re-run finished cells too")
    parser.add_argument("--results", default=None, help="results root (default benchmarks/results)")
    parser.add_argument("--no-render", action="store_true", help="do not re-render the Markdown table")
    parser.add_argument("--no-samples", action="store_true", help="do not save image cells' sample grids")
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="train and write each cell's .work/<cell>/generator.ckpt, evaluate nothing (benchmarks.trained_generator)",
    )
    parser.add_argument(
        "--train-accelerator", default=None, help="train (and evaluate) on this, e.g. gpu; the cells stay the same"
    )
    parser.add_argument("--deterministic", choices=("true", "warn"), default=None, help="Trainer(deterministic=...)")
    args = parser.parse_args(argv)
    import torch

    from zoo.allocator import keep_freed_memory_unless_opted_out

    keep_freed_memory_unless_opted_out()  # faster CPU steps, same numbers (zoo/allocator.py)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    patterns = [p for p in args.cells.split(",") if p] if args.cells else None
    run_table(
        args.spec,
        patterns,
        args.dry_run,
        args.force,
        args.results,
        not args.no_render,
        samples=not args.no_samples,
        train_only=args.train_only,
        train_accelerator=args.train_accelerator,
        deterministic={"true": True, "warn": "warn", None: None}[args.deterministic],
    )


if __name__ == "__main__":
    sys.exit(main())
