"""``MetricSettings``: what one evaluation computes and on which samples, shared by the ``GenerativeMetrics``
callback, ``zoo.metrics.evaluate_generator``, ``gan-zoo evaluate`` and the benchmark tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.metrics.extractors import FeatureExtractor, build_extractor
from zoo.metrics.suite import METRICS, parse_metrics
from zoo.sampling import WEIGHTS
from zoo.validation import require_at_least


@dataclass(frozen=True)
class MetricSettings:
    """Settings of one evaluation (the defaults are the papers' protocol sizes).

    Args:
        metrics: any of ``fid``, ``kid``, ``is``, ``pr`` (a list or ``"fid,kid"``).
        num_fake, num_real: sample counts (papers: 10k or 50k; cheap runs: 1k-2k). For a translation model
            (CycleGAN), the held-out images taken per domain.
        split: real split compared against (``test`` by default).
        seed: fixes the fake z (the same z at every evaluation), the KID subsets and the IS splits.
        batch_size: generation / extraction batch size.
        kid_subsets, kid_subset_size: KID's random subsets (Binkowski et al. 2018: 100 of 1000).
        is_splits: IS splits (Salimans et al. 2016: 10).
        pr_neighborhood: k of the k-NN manifolds of precision/recall (Kynkaanniemi et al. 2019: 3).
        extractor: a registry name (``fashion-domain``, ``inception-v3-compat``, ...).
        extractor_weights: weights file for the extractor (Inception: the torch-fidelity .pth).
        extractor_download: allow downloading Inception weights (with a timeout).
        weights: which generator weights are scored: ``auto`` (the generator EMA when the model keeps one, else the
            trained generator), ``ema`` or ``raw``. The protocol records the weights used (``generator_weights``).
    """

    metrics: Sequence[str] | str = METRICS
    num_fake: int = 10000
    num_real: int = 10000
    split: str = "test"
    seed: int = 0
    batch_size: int = 500
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    pr_neighborhood: int = 3
    extractor: str = "fashion-domain"
    extractor_weights: str | None = None
    extractor_download: bool = field(default=True)
    weights: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", parse_metrics(self.metrics))
        require_at_least("num_fake", self.num_fake, 2)
        require_at_least("num_real", self.num_real, 2)
        require_at_least("batch_size", self.batch_size, 1)
        require_at_least("kid_subsets", self.kid_subsets, 1)
        require_at_least("kid_subset_size", self.kid_subset_size, 2)
        require_at_least("is_splits", self.is_splits, 1)
        require_at_least("pr_neighborhood", self.pr_neighborhood, 1)
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {self.weights!r}.")

    def build_extractor(self) -> FeatureExtractor:
        """The feature extractor these settings name (its weights checked against their pinned hash)."""
        kwargs: dict[str, Any] = {}
        if self.extractor == "inception-v3-compat":
            kwargs = {"weights_path": self.extractor_weights, "download": self.extractor_download}
        elif self.extractor_weights is not None:
            kwargs = {"weights_path": self.extractor_weights}
        return build_extractor(self.extractor, **kwargs)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = list(self.metrics)
        return out
