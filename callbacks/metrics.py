"""Generative metrics: FID, KID, IS (torchmetrics) and precision/recall (torch-fidelity), as a callback.

How one evaluation runs (``evaluate_generator``, shared by ``GenerativeMetrics`` and ``gan-zoo evaluate``):

1. Real data: the first ``num_real`` images of ``split`` go through the feature extractor once; their
   features and logits are cached on disk keyed by (dataset, split, extractor hash, n, data hash)
   (``zoo.metrics.real_stats``).
2. Fake data: ``num_fake`` latent codes are drawn from a generator seeded with ``seed`` (the same z at
   every evaluation, so successive numbers differ by the model, not by the noise), pushed through the
   generator in eval mode batch by batch, and through the extractor.
3. The extractor runs once per batch; its features feed FID (Heusel et al. 2017), KID (Binkowski et al.
   2018) and precision/recall (Kynkäänniemi et al. 2019), its logits the Inception score (Salimans et al.
   2016). FID/KID/IS are torchmetrics metrics given a pass-through feature module (the features are
   already computed); precision/recall is torch-fidelity's (>= 0.4.0) implementation inside a torchmetrics
   ``Metric``, so all four sync across DDP ranks the same way.

Under DDP every rank takes a contiguous share of the fake codes and of the real features, and ``compute()``
runs on all ranks (gathering in rank order), so 2 ranks give the numbers 1 process gives on the same
samples. Random subsets (KID) and splits (IS) are drawn from ``seed``, so results are reproducible.
"""

from __future__ import annotations

import json
import platform
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.utilities.data import dim_zero_cat

from zoo.metrics.extractors import FeatureExtractor, build_extractor
from zoo.metrics.real_stats import RealStatsCache
from zoo.validation import require_at_least, require_choice

METRICS = ("fid", "kid", "is", "pr")


def parse_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """``"fid,kid"`` or ``["fid", "kid"]`` -> ``("fid", "kid")``, each checked against ``METRICS``."""
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    if not names:
        raise ValueError(f"no metrics requested; choose from {', '.join(METRICS)}.")
    for name in names:
        require_choice("metric", name, METRICS)
    return tuple(dict.fromkeys(names))


class PassThrough(nn.Module):
    """The torchmetrics ``feature`` module: the extractor already ran, so the metric gets features as input."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: Tensor) -> Tensor:
        return features


def _require_fidelity_prc() -> Any:
    import torch_fidelity
    from torch_fidelity.metric_prc import prc_features_to_metric

    version = tuple(int(p) for p in torch_fidelity.__version__.split(".")[:2] if p.isdigit())
    if version < (0, 4):
        raise ImportError(
            f"precision/recall needs torch-fidelity >= 0.4.0 (earlier releases swap precision and recall), found "
            f"{torch_fidelity.__version__}: pip install 'torch-fidelity>=0.4.0'."
        )
    return prc_features_to_metric


class PrecisionRecall(Metric):
    """Improved precision and recall (Kynkäänniemi et al. 2019) on feature vectors, DDP-synced.

    Precision: the fraction of generated samples inside the k-NN balls of the real features; recall: the
    fraction of real samples inside the k-NN balls of the generated features (k = ``neighborhood``).
    Computed by torch-fidelity's ``prc_features_to_metric`` (generated first, real second).
    """

    full_state_update = False

    def __init__(self, neighborhood: int = 3, batch_size: int = 10000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._prc = _require_fidelity_prc()
        self.neighborhood = neighborhood
        self.batch_size = batch_size
        self.add_state("real_features", [], dist_reduce_fx="cat")
        self.add_state("fake_features", [], dist_reduce_fx="cat")

    def update(self, features: Tensor, real: bool) -> None:
        (self.real_features if real else self.fake_features).append(features.float())

    def compute(self) -> dict[str, Tensor]:
        real, fake = dim_zero_cat(self.real_features), dim_zero_cat(self.fake_features)
        if min(len(real), len(fake)) <= self.neighborhood:
            raise ValueError(
                f"precision/recall with neighborhood={self.neighborhood} needs more than {self.neighborhood} real "
                f"and fake samples, got {len(real)} and {len(fake)}."
            )
        out = self._prc(
            fake.cpu(),
            real.cpu(),
            prc_neighborhood=self.neighborhood,
            prc_batch_size=self.batch_size,
            save_cpu_ram=True,
            verbose=False,
        )
        return {"precision": torch.tensor(out["precision"]), "recall": torch.tensor(out["recall"])}


class MetricSuite(nn.Module):
    """The requested torchmetrics metrics over precomputed features/logits; ``compute()`` returns floats.

    Keys: ``fid``; ``kid``, ``kid_std``; ``is``, ``is_std``; ``precision``, ``recall``.
    """

    def __init__(
        self,
        metrics: Sequence[str],
        num_features: int,
        num_classes: int,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        pr_neighborhood: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.names = parse_metrics(metrics)
        self.seed = seed
        self.kid_subset_size = kid_subset_size
        kw = {"sync_on_compute": True}
        self.fid = FrechetInceptionDistance(PassThrough(num_features), **kw) if "fid" in self.names else None
        self.kid = self.inception_score = None
        with warnings.catch_warnings():  # "will save all extracted features in buffer": known, bounded by n
            warnings.simplefilter("ignore", UserWarning)
            if "kid" in self.names:
                self.kid = KernelInceptionDistance(
                    PassThrough(num_features), subsets=kid_subsets, subset_size=kid_subset_size, **kw
                )
            if "is" in self.names:
                self.inception_score = InceptionScore(PassThrough(num_classes), splits=is_splits, **kw)
        self.pr = PrecisionRecall(pr_neighborhood, **kw) if "pr" in self.names else None

    # FID accumulates sums and outer products in float64 (torchmetrics' states); KID, IS and PR get float32.
    def update_real(self, features: Tensor) -> None:
        features = features.float()
        if self.fid is not None:
            self.fid.update(features.double(), real=True)
        if self.kid is not None:
            self.kid.update(features, real=True)
        if self.pr is not None:
            self.pr.update(features, real=True)

    def update_fake(self, features: Tensor, logits: Tensor) -> None:
        features = features.float()
        if self.fid is not None:
            self.fid.update(features.double(), real=False)
        if self.kid is not None:
            self.kid.update(features, real=False)
        if self.inception_score is not None:
            self.inception_score.update(logits.float())
        if self.pr is not None:
            self.pr.update(features, real=False)

    def compute(self) -> dict[str, float]:
        out: dict[str, float] = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # KID subsets and IS splits: the same draws on every rank and run
            if self.fid is not None:
                out["fid"] = float(self.fid.compute())
            if self.kid is not None:
                mean, std = self.kid.compute()
                out["kid"], out["kid_std"] = float(mean), float(std)
            if self.inception_score is not None:
                mean, std = self.inception_score.compute()
                out["is"], out["is_std"] = float(mean), float(std)
            if self.pr is not None:
                pr = self.pr.compute()
                out["precision"], out["recall"] = float(pr["precision"]), float(pr["recall"])
        return out

    def reset(self) -> None:
        for m in (self.fid, self.kid, self.inception_score, self.pr):
            if m is not None:
                m.reset()


# ------------------------------------------------------------------------------------------ helpers
def shard(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """Contiguous [start, stop) share of n items for ``rank``: concatenated in rank order they give 0..n."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


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


def _unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, DistributedDataParallel) else net


@torch.no_grad()
def fake_batches(
    model: nn.Module, num_fake: int, start: int, stop: int, seed: int, batch_size: int
) -> Iterator[Tensor]:
    """Samples ``start:stop`` of a fixed set of ``num_fake`` fakes drawn from ``seed``, batch by batch.

    Models with ``sample_z`` and ``generator`` (every ``AdversarialModule``) get the same z at every call
    and the generator runs in eval mode; other models are asked for ``generate(n)`` under a seeded RNG.
    """
    if hasattr(model, "sample_z") and getattr(model, "generator", None) is not None:
        z = model.sample_z(num_fake, generator=torch.Generator().manual_seed(seed))[start:stop]
        net = _unwrap(model.generator)
        was_training = net.training
        net.eval()
        try:
            for chunk in z.split(batch_size):
                yield net(chunk).float()
        finally:
            net.train(was_training)
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 7919 * start)
        for begin in range(start, stop, batch_size):
            yield model.generate(min(batch_size, stop - begin)).float()


def dataset_name(datamodule: Any) -> str:
    shape = getattr(datamodule, "image_shape", None)
    suffix = "x".join(map(str, shape)) if shape else "unknown"
    return f"{type(datamodule).__name__}-{suffix}"


def library_versions() -> dict[str, str]:
    import lightning
    import torch_fidelity
    import torchmetrics

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchmetrics": torchmetrics.__version__,
        "torch_fidelity": torch_fidelity.__version__,
        "lightning": lightning.__version__,
    }


def is_translation_model(model: nn.Module) -> bool:
    """Image-to-image models (CycleGAN) translate held-out images instead of sampling a prior."""
    return callable(getattr(model, "translate", None))


#: (direction, source domain, target domain) of a two-domain translation model
TRANSLATIONS = (("AtoB", "A", "B"), ("BtoA", "B", "A"))


@torch.no_grad()
def translated_batches(model: nn.Module, images: Tensor, direction: str, batch_size: int) -> Iterator[Tensor]:
    """``model.translate(images, direction)`` batch by batch, with the model in eval mode (restored after)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for chunk in images.split(batch_size):
            yield model.translate(chunk.to(device), direction).float()
    finally:
        model.train(was_training)


def _domain_samples(datamodule: Any, split: str, domain: str, n: int) -> Tensor:
    """The first ``n`` held-out images of ``domain`` (all of them when the split holds fewer)."""
    try:
        images = datamodule.real_samples(split, None, domain=domain)
    except TypeError as err:
        raise ValueError(
            f"{type(datamodule).__name__} serves one domain, but a translation model (CycleGAN) is scored by "
            "translating held-out images of domain A and comparing them with held-out images of domain B (and "
            "back): evaluate it with a two-domain datamodule such as datamodules.UnpairedImageData or "
            "datamodules.FashionMNISTPairData (gan-zoo evaluate --data FashionMNISTPairData)."
        ) from err
    return images[:n]


def _score(
    names: Sequence[str],
    fakes: Callable[[], Iterator[Tensor]],
    real_images: Tensor,
    real_key: str,
    extractor: FeatureExtractor,
    settings: dict[str, Any],
    cache: RealStatsCache,
    num_fake: int,
    rank: int,
    world_size: int,
) -> tuple[dict[str, float], dict[str, float], bool]:
    """Metric values of the fakes ``fakes()`` yields (this rank's share) against ``real_images``."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    extractor.check_input(real_images[:1])
    batch_size = settings["batch_size"]
    real_features, real_logits = cache.get(
        real_key, settings["split"], real_images, extractor.identity, lambda x: extract(extractor, x, batch_size)
    )
    timings["real_s"] = time.perf_counter() - t0
    num_real = len(real_images)
    kid_size = min(settings["kid_subset_size"], num_real, num_fake)
    suite = MetricSuite(
        names,
        real_features.shape[1],
        real_logits.shape[1],
        settings["kid_subsets"],
        kid_size,
        settings["is_splits"],
        settings["pr_neighborhood"],
        settings["seed"],
    )
    lo, hi = shard(num_real, rank, world_size)
    suite.update_real(real_features[lo:hi])
    t1 = time.perf_counter()
    device = next(extractor.parameters(), torch.empty(0)).device
    for images in fakes():
        features, logits = extractor(images.to(device))
        suite.update_fake(features.cpu(), logits.cpu())
    timings["fake_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    values = suite.compute()
    timings["compute_s"] = time.perf_counter() - t2
    settings["kid_subset_size"] = kid_size
    return values, timings, cache.last_hit


def evaluate_generator(
    model: nn.Module,
    datamodule: Any,
    extractor: FeatureExtractor,
    metrics: Sequence[str] = METRICS,
    num_fake: int = 10000,
    num_real: int = 10000,
    split: str = "test",
    seed: int = 0,
    batch_size: int = 500,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    pr_neighborhood: int = 3,
    cache: RealStatsCache | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[dict[str, float], dict[str, Any]]:
    """One evaluation (see the module docstring). Returns ``(values, protocol)``; call on every rank.

    A translation model (one with ``translate(images, direction)``, i.e. CycleGAN) has no prior to sample:
    it is scored as Zhu et al. 2017 and its users do, by translating the held-out images of one domain and
    comparing them with the held-out images of the other, in both directions. Its values are keyed
    ``<metric>_AtoB`` (G(A) against B) and ``<metric>_BtoA`` (F(B) against A); ``num_fake`` / ``num_real``
    cap the images taken per domain.
    """
    names = parse_metrics(metrics)
    require_at_least("num_fake", num_fake, 2)
    require_at_least("num_real", num_real, 2)
    if not hasattr(datamodule, "real_samples"):
        raise TypeError(
            f"{type(datamodule).__name__} has no real_samples(split, n): image metrics need a datamodule derived "
            "from datamodules.InMemoryData (or one providing real_samples)."
        )
    cache = cache if cache is not None else RealStatsCache(enabled=False)
    settings = {
        "split": split,
        "seed": seed,
        "batch_size": batch_size,
        "kid_subsets": kid_subsets,
        "kid_subset_size": kid_subset_size,
        "is_splits": is_splits,
        "pr_neighborhood": pr_neighborhood,
    }
    values: dict[str, float] = {}
    timings: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    if is_translation_model(model):
        cached = True
        for direction, source, target in TRANSLATIONS:
            inputs = _domain_samples(datamodule, split, source, num_fake)
            references = _domain_samples(datamodule, split, target, num_real)
            lo, hi = shard(len(inputs), rank, world_size)

            def fakes(inputs=inputs[lo:hi], direction=direction) -> Iterator[Tensor]:
                return translated_batches(model, inputs, direction, batch_size)

            key = f"{dataset_name(datamodule)}-domain{target}"
            scored, spent, hit = _score(
                names, fakes, references, key, extractor, settings, cache, len(inputs), rank, world_size
            )
            values.update({f"{k}_{direction}": v for k, v in scored.items()})
            timings.update({f"{direction}_{k}": v for k, v in spent.items()})
            counts[direction] = {"n_fake": len(inputs), "n_real": len(references)}
            cached &= hit
        sample_counts: dict[str, Any] = {
            "mode": "translation: translated held-out source images vs held-out target images",
            "n_real": min(c["n_real"] for c in counts.values()),
            "n_fake": min(c["n_fake"] for c in counts.values()),
            "directions": counts,
        }
    else:
        real_images = datamodule.real_samples(split, num_real)

        def fakes() -> Iterator[Tensor]:
            return fake_batches(model, num_fake, *shard(num_fake, rank, world_size), seed, batch_size)

        values, timings, cached = _score(
            names, fakes, real_images, dataset_name(datamodule), extractor, settings, cache, num_fake, rank, world_size
        )
        sample_counts = {"n_real": num_real, "n_fake": num_fake}
    protocol = {
        "extractor": extractor.name,
        "extractor_sha256": extractor.weights_sha256,
        "dataset": dataset_name(datamodule),
        "split": split,
        **sample_counts,
        "seed": seed,
        "metrics": list(names),
        "kid_subsets": kid_subsets,
        "kid_subset_size": settings["kid_subset_size"],
        "is_splits": is_splits,
        "pr_neighborhood": pr_neighborhood,
        "world_size": world_size,
        "real_stats_cached": cached,
        "versions": library_versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    return values, protocol


# ----------------------------------------------------------------------------------------- callback
class GenerativeMetrics(L.Callback):
    """FID / KID / IS / precision-recall of the generator against a real split, during and after training.

    Evaluates every ``every_n_steps`` generator updates (``g_steps``; ``global_step`` for models without
    it), every ``every_n_epochs`` epochs, and at the end of training (``at_train_end``). Values are logged
    as ``<prefix>fid``, ``<prefix>kid`` (+ ``_std``), ``<prefix>is`` (+ ``_std``), ``<prefix>precision``,
    ``<prefix>recall`` through every attached logger (W&B, TensorBoard, CSV, ...), put in
    ``trainer.callback_metrics`` (so ``TrainingSummary`` and ``ModelCheckpoint(monitor="val/fid")`` see
    them), and written with the protocol and history to ``metrics.json`` (default
    ``<default_root_dir>/metrics.json``, merged into the file ``TrainingSummary`` writes).

    Args:
        every_n_steps, every_n_epochs: evaluation schedule (``None``: off; the end of training still counts).
        num_fake, num_real: sample counts (papers: 10k or 50k; cheap runs: 1k-2k).
        metrics: any of ``fid``, ``kid``, ``is``, ``pr``.
        extractor: a registry name (``fashion-domain``, ``inception-v3-compat``) or a built extractor.
        extractor_weights: weights file for the extractor (Inception: the torch-fidelity .pth).
        extractor_download: allow downloading Inception weights (with a timeout).
        split: real split compared against (``test`` by default).
        batch_size: generation / extraction batch size.
        seed: fixes the fake z and the KID subsets / IS splits.
        kid_subsets, kid_subset_size, is_splits, pr_neighborhood: metric settings (paper defaults).
        cache_dir: real-statistics cache (default ``$GAN_ZOO_CACHE`` or ``~/.cache/lightning-gan-zoo``).
        use_cache: ``False`` recomputes real features every time.
        prefix: logged-name prefix.
        json_path: where to write results (``None``: ``<default_root_dir>/metrics.json``).
        at_train_end: also evaluate when training ends.
    """

    def __init__(
        self,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = None,
        num_fake: int = 10000,
        num_real: int = 10000,
        metrics: Sequence[str] | str = METRICS,
        extractor: str | FeatureExtractor = "fashion-domain",
        extractor_weights: str | None = None,
        extractor_download: bool = True,
        split: str = "test",
        batch_size: int = 500,
        seed: int = 0,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        pr_neighborhood: int = 3,
        cache_dir: str | None = None,
        use_cache: bool = True,
        prefix: str = "val/",
        json_path: str | None = None,
        at_train_end: bool = True,
    ) -> None:
        if every_n_steps is not None:
            require_at_least("every_n_steps", every_n_steps, 1, "Use None to evaluate only at the end.")
        if every_n_epochs is not None:
            require_at_least("every_n_epochs", every_n_epochs, 1, "Use None to evaluate only at the end.")
        require_at_least("num_fake", num_fake, 2)
        require_at_least("num_real", num_real, 2)
        require_at_least("batch_size", batch_size, 1)
        self.metrics = parse_metrics(metrics)
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.num_fake = num_fake
        self.num_real = num_real
        self.extractor = extractor
        self.extractor_weights = extractor_weights
        self.extractor_download = extractor_download
        self.split = split
        self.batch_size = batch_size
        self.seed = seed
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.is_splits = is_splits
        self.pr_neighborhood = pr_neighborhood
        self.cache = RealStatsCache(cache_dir, enabled=use_cache)
        self.prefix = prefix
        self.json_path = json_path
        self.at_train_end = at_train_end
        self.history: list[dict[str, Any]] = []
        self.protocol: dict[str, Any] | None = None
        self._extractor: FeatureExtractor | None = None
        self._last_step = -1

    # ---------------------------------------------------------------- setup
    def build_extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            kwargs: dict[str, Any] = {}
            if isinstance(self.extractor, str) and self.extractor == "inception-v3-compat":
                kwargs = {"weights_path": self.extractor_weights, "download": self.extractor_download}
            elif isinstance(self.extractor, str) and self.extractor_weights is not None:
                kwargs = {"weights_path": self.extractor_weights}
            self._extractor = build_extractor(self.extractor, **kwargs)
        return self._extractor

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        extractor = self.build_extractor().to(pl_module.device)
        shape = getattr(pl_module, "image_shape", None)
        if shape is not None:  # fail before training, not after it
            extractor.check_input(torch.zeros(1, *shape, device=pl_module.device))

    # ------------------------------------------------------------ schedule
    @staticmethod
    def _step(trainer: L.Trainer, pl_module: L.LightningModule) -> int:
        return int(getattr(pl_module, "g_steps", trainer.global_step))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = self._step(trainer, pl_module)
        if self.every_n_steps and step > 0 and step % self.every_n_steps == 0 and step != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        due = self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0
        if due and self._step(trainer, pl_module) != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.at_train_end and self._step(trainer, pl_module) != self._last_step:
            self.evaluate(trainer, pl_module)

    # ------------------------------------------------------------ evaluate
    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, float]:
        """Run one evaluation on every rank, log it, and return ``{logged_name: value}``."""
        step = self._step(trainer, pl_module)
        self._last_step = step
        datamodule = trainer.datamodule
        if datamodule is None:
            raise ValueError("GenerativeMetrics needs real data: pass a datamodule, Trainer.fit(model, datamodule).")
        values, protocol = evaluate_generator(
            pl_module,
            datamodule,
            self.build_extractor().to(pl_module.device),
            metrics=self.metrics,
            num_fake=self.num_fake,
            num_real=self.num_real,
            split=self.split,
            seed=self.seed,
            batch_size=self.batch_size,
            kid_subsets=self.kid_subsets,
            kid_subset_size=self.kid_subset_size,
            is_splits=self.is_splits,
            pr_neighborhood=self.pr_neighborhood,
            cache=self.cache,
            rank=trainer.global_rank,
            world_size=trainer.world_size,
        )
        logged = {f"{self.prefix}{k}": v for k, v in values.items()}
        for key, value in logged.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        first = self.protocol is None
        self.protocol = protocol
        self.history.append(
            {"g_steps": step, "global_step": trainer.global_step, "epoch": trainer.current_epoch, **logged}
        )
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if first:
                    logger.log_hyperparams({"metrics_protocol": protocol})
                logger.log_metrics(logged, step=trainer.global_step)
        return logged

    # ------------------------------------------------------------ results
    def results(self) -> dict[str, Any]:
        latest = {k: v for k, v in self.history[-1].items() if k.startswith(self.prefix)} if self.history else {}
        return {"latest": latest, "protocol": self.protocol, "history": self.history}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # after every on_train_end hook, so this merges into TrainingSummary's file whatever the callback order
        if not trainer.is_global_zero or not self.history:
            return
        path = Path(self.json_path or Path(trainer.default_root_dir) / "metrics.json")
        data: dict[str, Any] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
        if not isinstance(data, dict):
            data = {}
        results = self.results()
        if not isinstance(data.get("metrics"), dict):
            data["metrics"] = {}
        data["metrics"].update(results["latest"])
        data["generative_metrics"] = results
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
