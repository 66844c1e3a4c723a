"""``evaluate_generator``: one evaluation of a generator (or a translation model) against real data;
``evaluate_images``: the same for a fixed set of images made elsewhere.

Shared by the ``GenerativeMetrics`` callback, ``gan-zoo evaluate`` and the benchmark tables; what it computes
and on how many samples is a ``MetricSettings``. How it runs:

1. Real data: the first ``num_real`` images of ``split`` go through the feature extractor once; their
   features and logits are cached on disk keyed by (dataset, split, extractor hash, n, data hash)
   (``zoo.metrics.real_stats``).
2. Fake data: ``num_fake`` latent codes are drawn from a generator seeded with ``seed`` (the same z at
   every evaluation, so successive numbers differ by the model, not by the noise), pushed through the
   generator in eval mode batch by batch, and through the extractor.
   ``settings.weights`` picks the trained generator or its EMA (``zoo.sampling.generator_weights``); the protocol
   records which (``generator_weights``: ``ema`` or ``raw``; a translation model always translates with its
   trained generators, ``raw``).
3. The extractor runs once per batch; its features feed FID (Heusel et al. 2017), KID (Binkowski et al.
   2018) and precision/recall (Kynkäänniemi et al. 2019), its logits the Inception score (Salimans et al.
   2016). All four live in one ``zoo.metrics.suite.MetricSuite`` and sync across DDP ranks the same way.
4. Conditional models: fake i is generated with label ``i % K`` (``fake_labels``), and the class-aware metrics
   (``class_acc``, ``class_fid``, ``class_diversity``, ``code_acc``: ``zoo.metrics.class_suite``) read each fake's
   features and logits with that label, and the real features with the real labels; the protocol gets a
   ``class_aware`` block (definitions, per-label counts, InfoGAN's code -> class mapping).

Under DDP every rank takes a contiguous share of the fake codes and of the real features, and ``compute()``
runs on all ranks (gathering in rank order), so 2 ranks give the numbers 1 process gives on the same
samples. Random subsets (KID) and splits (IS) are drawn from ``seed``, so results are reproducible.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import torch
from torch import Tensor, nn

from zoo.metrics.class_suite import ClassAwareSuite, class_metrics, real_labels, require_class_aware, require_class_head
from zoo.metrics.extractors import FeatureExtractor
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.sample_sources import (
    TRANSLATIONS,
    domain_samples,
    fake_batches,
    fake_labels,
    is_translation_model,
    shard,
    translated_batches,
)
from zoo.metrics.settings import MetricSettings
from zoo.metrics.suite import MetricSuite
from zoo.sampling import ema_batch_norm, generator_weights


@torch.no_grad()
def extract(extractor: FeatureExtractor, images: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    """Features and logits of ``images`` in batches, on the extractor's device, returned on CPU."""
    device = next(extractor.parameters(), torch.empty(0)).device
    feats, logits = [], []
    for chunk in images.split(batch_size):
        f, lg = extractor(chunk.to(device))
        feats.append(f.cpu())
        logits.append(lg.cpu())
    return torch.cat(feats), torch.cat(logits)


def dataset_name(datamodule: Any) -> str:
    shape = getattr(datamodule, "image_shape", None)
    suffix = "x".join(map(str, shape)) if shape else "unknown"
    return f"{type(datamodule).__name__}-{suffix}"


def library_versions() -> dict[str, str]:
    """Versions of what the numbers depend on (read from the installed distributions, importing nothing)."""
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name, dist in (
        ("torchmetrics", "torchmetrics"),
        ("torch_fidelity", "torch-fidelity"),
        ("lightning", "lightning"),
    ):
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def require_logits_for_is(extractor: FeatureExtractor, metrics: Sequence[str]) -> None:
    """Refuse IS, before any image is extracted, from an extractor without class logits (``provides_logits``
    False: the converted fid-helper Inception, pool3 features only)."""
    if "is" in metrics and not extractor.provides_logits:
        raise ValueError(
            f"the Inception score is unavailable with extractor {extractor.name!r} (weights "
            f"{extractor.weights_sha256[:12]}...): these weights have no classifier, so there are no logits. Drop "
            "'is' from the metrics (metrics='fid,kid,pr', '--metrics fid,kid,pr'), or use weights with a classifier "
            "(for Inception: torch-fidelity's weights-inception-2015-12-05-6726825d.pth, --extractor-weights PATH)."
        )


@dataclass
class _Scored:
    values: dict[str, float]
    timings: dict[str, float]
    cached: bool
    kid_subset_size: int  # the subset size KID used: at most the sample counts
    class_details: dict[str, Any] | None = None  # the class-aware metrics' protocol block


@dataclass
class _ClassInputs:
    """What the class-aware metrics add to one scoring: their suite, this rank's fake labels (in the order the
    fakes come), the real labels (or None), and the datamodule (its number of classes)."""

    suite: ClassAwareSuite
    fake_labels: Tensor
    real_labels: Tensor | None
    datamodule: Any


def _score(
    fakes: Callable[[], Iterator[Tensor]],
    real_images: Tensor,
    real_key: str,
    extractor: FeatureExtractor,
    settings: MetricSettings,
    kid_subset_size: int,
    cache: RealStatsCache,
    num_fake: int,
    rank: int,
    world_size: int,
    classes: _ClassInputs | None = None,
) -> _Scored:
    """Metric values of the fakes ``fakes()`` yields (this rank's share) against ``real_images``; with ``classes``,
    the class-aware ones too (the j-th fake yielded has label ``classes.fake_labels[j]``)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    extractor.check_input(real_images[:1])
    real_features, real_logits = cache.get(
        real_key,
        settings.split,
        real_images,
        extractor.identity,
        lambda x: extract(extractor, x, settings.batch_size),
    )
    timings["real_s"] = time.perf_counter() - t0
    num_real = len(real_images)
    kid_size = min(kid_subset_size, num_real, num_fake)
    suite = MetricSuite(
        settings.metrics,
        real_features.shape[1],
        real_logits.shape[1],
        settings.kid_subsets,
        kid_size,
        settings.is_splits,
        settings.pr_neighborhood,
        settings.seed,
    )
    lo, hi = shard(num_real, rank, world_size)
    suite.update_real(real_features[lo:hi])
    if classes is not None:  # before any fake is drawn: the classifier must classify the data's classes
        require_class_head(settings.metrics, real_logits.shape[1], extractor, classes.datamodule)
        classes.suite.set_real(real_features, classes.real_labels)
    t1 = time.perf_counter()
    device = next(extractor.parameters(), torch.empty(0)).device
    done = 0  # fakes scored so far: the next batch's labels start here
    for images in fakes():
        features, logits = extractor(images.to(device))
        suite.update_fake(features.cpu(), logits.cpu())
        if classes is not None:
            classes.suite.update(features.cpu(), logits.cpu(), classes.fake_labels[done : done + len(images)])
        done += len(images)
    if classes is not None and done != len(classes.fake_labels):
        raise RuntimeError(f"{done} fakes were drawn for {len(classes.fake_labels)} labels.")
    timings["fake_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    values = suite.compute()
    details = None
    if classes is not None:
        class_values, details = classes.suite.compute()
        values.update(class_values)
    timings["compute_s"] = time.perf_counter() - t2
    return _Scored(values, timings, cache.last_hit, kid_size, details)


def evaluate_generator(
    model: nn.Module,
    datamodule: Any,
    settings: MetricSettings | None = None,
    extractor: FeatureExtractor | None = None,
    cache: RealStatsCache | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[dict[str, float], dict[str, Any]]:
    """One evaluation (see the module docstring). Returns ``(values, protocol)``; call on every rank.

    ``settings`` default to ``MetricSettings()``; ``extractor`` (already on the right device) defaults to the
    one the settings name; ``cache`` (real features on disk) defaults to none.

    A translation model (one with ``translate(images, direction)``, i.e. CycleGAN) has no prior to sample:
    it is scored as Zhu et al. 2017 and its users do, by translating the held-out images of one domain and
    comparing them with the held-out images of the other, in both directions. Its values are keyed
    ``<metric>_AtoB`` (G(A) against B) and ``<metric>_BtoA`` (F(B) against A); ``num_fake`` / ``num_real``
    cap the images taken per domain.
    """
    settings = settings if settings is not None else MetricSettings()
    if not hasattr(datamodule, "real_samples"):
        raise TypeError(
            f"{type(datamodule).__name__} has no real_samples(split, n): image metrics need a datamodule derived "
            "from datamodules.ImageDataModule (or one providing real_samples)."
        )
    extractor = extractor if extractor is not None else settings.build_extractor()
    require_logits_for_is(extractor, settings.metrics)
    require_class_aware(model, settings.metrics, extractor, datamodule)
    cache = cache if cache is not None else RealStatsCache(enabled=False)
    num_fake, num_real, batch_size = settings.num_fake, settings.num_real, settings.batch_size
    values: dict[str, float] = {}
    timings: dict[str, float] = {}
    kid_size = settings.kid_subset_size
    class_block: dict[str, Any] | None = None  # the class-aware metrics' protocol entry (when requested)
    if is_translation_model(model):
        weights_used = "raw"  # translations use the trained generators
        cached = True
        counts: dict[str, dict[str, int]] = {}
        for direction, source, target in TRANSLATIONS:
            inputs = domain_samples(datamodule, settings.split, source, num_fake)
            references = domain_samples(datamodule, settings.split, target, num_real)
            lo, hi = shard(len(inputs), rank, world_size)

            def fakes(inputs=inputs[lo:hi], direction=direction) -> Iterator[Tensor]:
                return translated_batches(model, inputs, direction, batch_size)

            key = f"{dataset_name(datamodule)}-domain{target}"
            scored = _score(fakes, references, key, extractor, settings, kid_size, cache, len(inputs), rank, world_size)
            values.update({f"{k}_{direction}": v for k, v in scored.values.items()})
            timings.update({f"{direction}_{k}": v for k, v in scored.timings.items()})
            counts[direction] = {"n_fake": len(inputs), "n_real": len(references)}
            cached &= scored.cached
            kid_size = scored.kid_subset_size
        sample_counts: dict[str, Any] = {
            "mode": "translation: translated held-out source images vs held-out target images",
            "n_real": min(c["n_real"] for c in counts.values()),
            "n_fake": min(c["n_fake"] for c in counts.values()),
            "directions": counts,
        }
    else:
        real_images = datamodule.real_samples(settings.split, num_real)
        lo, hi = shard(num_fake, rank, world_size)
        classes = None
        if class_metrics(settings.metrics):  # (require_class_aware: the model is conditional)
            labels = fake_labels(model, num_fake)[lo:hi]
            reals = real_labels(datamodule, settings.split, num_real) if "class_fid" in settings.metrics else None
            suite = ClassAwareSuite(settings.metrics, model.num_classes, model.label_kind, sync_on_compute=True)
            classes = _ClassInputs(suite, labels, reals, datamodule)

        def fakes() -> Iterator[Tensor]:
            return fake_batches(model, num_fake, lo, hi, settings.seed, batch_size)

        with generator_weights(model, settings.weights) as weights_used:
            scored = _score(
                fakes,
                real_images,
                dataset_name(datamodule),
                extractor,
                settings,
                kid_size,
                cache,
                num_fake,
                rank,
                world_size,
                classes,
            )
        values, timings, cached, kid_size = scored.values, scored.timings, scored.cached, scored.kid_subset_size
        sample_counts = {"n_real": num_real, "n_fake": num_fake}
        if scored.class_details is not None:
            class_block = {"classifier": extractor.name, **scored.class_details}
    weights_block = {
        "generator_weights": weights_used,
        **({"ema_batch_norm": ema_batch_norm(model)} if weights_used == "ema" else {}),
    }
    protocol = _protocol(
        extractor, datamodule, settings, weights_block, sample_counts, kid_size, world_size, cached, timings
    )
    if class_block is not None:
        protocol["class_aware"] = class_block
    return values, protocol


def evaluate_images(
    images: Tensor,
    datamodule: Any,
    settings: MetricSettings | None = None,
    extractor: FeatureExtractor | None = None,
    cache: RealStatsCache | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Metrics of a fixed set of images made elsewhere (e.g. another code base's samples), scored exactly as
    ``evaluate_generator`` scores a generator's: the same extractor, real split, real-statistics cache, metrics and
    settings, on ``images`` as given (float in [-1, 1], ``(N, C, H, W)``, the zoo's image convention; all N are
    scored, ``settings.num_fake`` is not used). One process. Returns ``(values, protocol)``; the protocol records
    ``generator_weights: "external images"`` and ``n_fake = N``.
    """
    settings = settings if settings is not None else MetricSettings()
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"images must be a float tensor (N, C, H, W) in [-1, 1], got {images.dtype} of shape "
            f"{tuple(images.shape)}; uint8 images u map to u / 127.5 - 1."
        )
    if len(images) < 2:
        raise ValueError(f"need at least 2 images to score, got {len(images)}.")
    low, high = float(images.min()), float(images.max())
    if low < -1 - 1e-6 or high > 1 + 1e-6:
        raise ValueError(f"images must lie in [-1, 1] (the zoo's convention), got [{low:.3f}, {high:.3f}].")
    if not hasattr(datamodule, "real_samples"):
        raise TypeError(f"{type(datamodule).__name__} has no real_samples(split, n): pass an ImageDataModule.")
    extractor = extractor if extractor is not None else settings.build_extractor()
    require_logits_for_is(extractor, settings.metrics)
    if class_metrics(settings.metrics):
        raise ValueError(
            "class-aware metrics need a conditional generator's labels; score external images with fid, kid, is or pr."
        )
    cache = cache if cache is not None else RealStatsCache(enabled=False)
    real_images = datamodule.real_samples(settings.split, settings.num_real)
    kid_size = settings.kid_subset_size

    def fakes() -> Iterator[Tensor]:
        return iter(images.float().split(settings.batch_size))

    scored = _score(
        fakes, real_images, dataset_name(datamodule), extractor, settings, kid_size, cache, len(images), 0, 1
    )
    counts = {"n_real": settings.num_real, "n_fake": len(images)}
    protocol = _protocol(
        extractor,
        datamodule,
        settings,
        {"generator_weights": "external images"},
        counts,
        scored.kid_subset_size,
        1,
        scored.cached,
        scored.timings,
    )
    return scored.values, protocol


def _protocol(
    extractor: FeatureExtractor,
    datamodule: Any,
    settings: MetricSettings,
    weights_block: dict[str, Any],
    sample_counts: dict[str, Any],
    kid_size: int,
    world_size: int,
    cached: bool,
    timings: dict[str, float],
) -> dict[str, Any]:
    """The protocol record of one evaluation (what was scored, against what, with which settings and versions)."""
    return {
        "extractor": extractor.name,
        "extractor_sha256": extractor.weights_sha256,
        "extractor_inference": getattr(extractor, "inference", "fp32"),
        "dataset": dataset_name(datamodule),
        **weights_block,
        "split": settings.split,
        **sample_counts,
        "seed": settings.seed,
        "metrics": list(settings.metrics),
        "kid_subsets": settings.kid_subsets,
        "kid_subset_size": kid_size,
        "is_splits": settings.is_splits,
        "pr_neighborhood": settings.pr_neighborhood,
        "world_size": world_size,
        "real_stats_cached": cached,
        "versions": library_versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
