"""The metric objects: FID, KID, IS (torchmetrics) and precision/recall (torch-fidelity) over precomputed
features, in one ``MetricSuite`` that syncs across DDP ranks.

FID: Heusel et al. 2017, eq. (6) (Frechet distance of Gaussians fitted to the features). KID: Binkowski et al.
2018, the unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets. IS: Salimans et al.
2016, exp(E KL(p(y|x) || p(y))), mean over splits. Precision/recall: Kynkaanniemi et al. 2019, k-NN manifolds.
FID/KID/IS are torchmetrics metrics given a pass-through feature module (the features are already computed);
precision/recall is torch-fidelity's (>= 0.4.0) implementation inside a torchmetrics ``Metric``.

The class-aware metrics of conditional models (``CLASS_METRICS``: ``class_acc``, ``class_fid``, ``class_diversity``,
``code_acc``) are parsed here too but computed by ``zoo.metrics.class_suite`` (they need the labels of the fakes and
of the real data); their per-class FID is ``frechet_distance``, the computation behind ``MetricSuite``'s ``fid``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.utilities.data import dim_zero_cat

from zoo.validation import require_choice

METRICS = ("fid", "kid", "is", "pr")
#: metrics of conditional models, computed per label (``zoo.metrics.class_suite``); never part of the default set
CLASS_METRICS = ("class_acc", "class_fid", "class_diversity", "code_acc")


def parse_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """``"fid,kid"`` or ``["fid", "kid"]`` -> ``("fid", "kid")``, each checked against ``METRICS`` and
    ``CLASS_METRICS``."""
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    if not names:
        raise ValueError(f"no metrics requested; choose from {', '.join(METRICS + CLASS_METRICS)}.")
    for name in names:
        require_choice("metric", name, METRICS + CLASS_METRICS)
    return tuple(dict.fromkeys(names))


class PassThrough(nn.Module):
    """The torchmetrics ``feature`` module: the extractor already ran, so the metric gets features as input."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between two sets of feature vectors (N, D): the torchmetrics computation ``MetricSuite``'s ``fid`` runs
    (features as float32, sums in float64), in this process only (no DDP sync: give it the gathered features)."""
    fid = FrechetInceptionDistance(PassThrough(real.shape[1]), sync_on_compute=False)
    fid.update(real.float().double(), real=True)
    fid.update(fake.float().double(), real=False)
    return float(fid.compute())


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
