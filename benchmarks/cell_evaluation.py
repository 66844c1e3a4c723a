"""Scoring a trained cell: toy mode metrics or image metrics (one or two feature extractors), and its sample grid.

``kind: toy`` scores ``n_samples`` generator samples (fixed z from ``evaluation.seed``) with
``callbacks.toy_metrics.mode_metrics`` (the 3-sigma rule of Metz et al. 2017 / Srivastava et al. 2017);
``kind: images`` runs ``zoo.metrics.evaluate_generator`` with the named feature extractor, and, when the block has
``also: {extractor: ..., ...}``, once more with that second extractor on the same samples (its metrics are kept
under ``benchmarks.cell_schema.SECOND_PREFIX``).

With ``ema: true`` (image cells of models trained with ``ema_decay``) the trained generator and its EMA (Yazıcı et
al. 2019) are both scored on the same z: the trained one's metrics keep their names, the EMA's are prefixed
``benchmarks.cell_schema.EMA_PREFIX``; the protocol records ``generator_weights`` for each (the EMA's protocol sits
under ``ema``). Without it, ``weights`` (default ``auto``: the EMA when the model keeps one) picks the weights.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any


def evaluate_cell(
    model: Any, data: Any, evaluation: dict[str, Any], accelerator: str = "cpu"
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics and the evaluation protocol actually used (on the GPU when the cell trained on one)."""
    import torch

    if accelerator != "cpu" and torch.cuda.is_available():
        model.cuda()
    model.eval()
    if evaluation.get("ema") and evaluation["kind"] != "images":
        raise ValueError("evaluation.ema scores image generators: use it with kind: images.")
    if evaluation["kind"] == "toy":
        from callbacks.toy_metrics import mode_metrics
        from zoo.sampling import draw

        n = int(evaluation["n_samples"])
        threshold = float(evaluation.get("threshold", 3.0))
        min_samples = int(evaluation.get("min_samples", 1))
        z = model.sample_z(n, generator=torch.Generator().manual_seed(int(evaluation.get("seed", 0))))
        with torch.no_grad():
            samples = draw(model, z.to(model.device)).float().cpu()
        values = mode_metrics(samples, data.centers, data.std, threshold, min_samples)
        num_modes = values.pop("num_modes")
        protocol = {
            "kind": "toy",
            "n_samples": n,
            "threshold_std": threshold,
            "min_samples": min_samples,
            "num_modes": int(num_modes),
            "mixture_std": float(data.std),
            "seed": int(evaluation.get("seed", 0)),
            "rule": f"high quality: within {threshold:g} std of the nearest mode; covered: >= {min_samples} such",
        }
        return values, protocol
    if not evaluation.get("ema"):
        return score_images(model, data, evaluation, str(evaluation.get("weights", "auto")))
    from benchmarks.cell_schema import EMA_PREFIX

    values, protocol = score_images(model, data, evaluation, "raw")
    ema_values, ema_protocol = score_images(model, data, evaluation, "ema")
    values.update({f"{EMA_PREFIX}{k}": v for k, v in ema_values.items()})
    protocol["ema"] = ema_protocol
    return values, protocol


def score_images(
    model: Any, data: Any, evaluation: dict[str, Any], weights: str
) -> tuple[dict[str, float], dict[str, Any]]:
    """Image metrics of the generator ``weights`` selects, with the second extractor of ``also`` if any."""
    values, protocol = evaluate_images(model, data, {**evaluation, "weights": weights})
    also = evaluation.get("also")
    if also:  # the same samples in a second feature space (e.g. fashion-domain beside Inception)
        from benchmarks.cell_schema import SECOND_PREFIX

        second_values, second_protocol = evaluate_images(model, data, {**evaluation, **also, "weights": weights})
        values.update({f"{SECOND_PREFIX}{k}": v for k, v in second_values.items()})
        protocol["also"] = second_protocol
    return values, protocol


#: the per-class values of the class-aware metrics (``class_acc_<k>``, ``class_fid_<k>``, ``class_diversity_<k>``)
PER_CLASS_KEY = re.compile(r"(class_acc|class_fid|class_diversity)_\d+")


def evaluate_images(model: Any, data: Any, evaluation: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """``zoo.metrics.evaluate_generator`` with the settings an ``evaluation`` block names."""
    from zoo.metrics import MetricSettings, evaluate_generator
    from zoo.metrics.real_stats import RealStatsCache

    settings = MetricSettings(
        metrics=evaluation.get("metrics", ("fid", "kid", "is", "pr")),
        num_fake=int(evaluation["n_fake"]),
        num_real=int(evaluation["n_real"]),
        split=evaluation.get("split", "test"),
        seed=int(evaluation.get("seed", 0)),
        batch_size=int(evaluation.get("batch_size", 500)),
        extractor=evaluation["extractor"],
        extractor_download=bool(evaluation.get("download", True)),
        weights=str(evaluation.get("weights", "auto")),
    )
    data.setup("fit")
    cache = RealStatsCache(enabled=bool(evaluation.get("cache", True)))
    extractor = settings.build_extractor().to(model.device)
    values, protocol = evaluate_generator(model, data, settings, extractor=extractor, cache=cache)
    protocol = {"kind": "images", **protocol}
    protocol.pop("versions", None)
    per_class = {k: values.pop(k) for k in [k for k in values if PER_CLASS_KEY.fullmatch(k)]}
    if per_class:  # class_acc_3, class_fid_3, ...: kept with the protocol, not as table columns
        protocol["per_class"] = per_class
    return values, protocol


def save_sample_grid(model: Any, path: Path, seed: int, num_samples: int = 64) -> dict[str, Any]:
    """Write the generator's fixed-z sample grid to ``path``; returns the record kept in the cell JSON."""
    from callbacks.sample_grid import SampleGrid

    grid = SampleGrid(num_samples=num_samples, nrow=8, seed=seed)
    grid.write(model, path)
    return {
        "file": path.name,
        "generator_weights": grid.weights_used(model),
        "num_samples": num_samples,
        "seed": seed,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
