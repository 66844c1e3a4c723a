"""torch-fidelity on our extractors: lets a test run torch-fidelity's own metric code on our features, as an
independent reference for our torchmetrics-based numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from zoo.metrics.feature_extractor import FeatureExtractor


def as_torch_fidelity_extractor(extractor: FeatureExtractor, fidelity_name: str | None = None) -> str:
    """Register ``extractor`` with torch-fidelity (features ``"features"`` and ``"logits"``); returns its name.

    torch-fidelity's ``calculate_metrics(..., feature_extractor=name)`` then computes its own FID, KID,
    IS and precision/recall on our features; its datasets must yield float images in [-1, 1].
    """
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    name = fidelity_name or f"zoo-{extractor.name}-{extractor.weights_sha256[:12]}"

    class _Bridge(FeatureExtractorBase):
        def __init__(self, name: str, features_list: Sequence[str], **kwargs: Any) -> None:
            super().__init__(name, list(features_list))
            self.inner = extractor

        @staticmethod
        def get_provided_features_list() -> tuple[str, str]:
            return ("features", "logits")

        @staticmethod
        def get_default_feature_layer_for_metric(metric: str) -> str:
            return "logits" if metric == "isc" else "features"

        @staticmethod
        def can_be_compiled() -> bool:
            return False

        def forward(self, x: Tensor) -> tuple[Tensor, ...]:
            features, logits = self.inner(x)
            out = {"features": features, "logits": logits}
            return tuple(out[f] for f in self.features_list)

    FEATURE_EXTRACTORS_REGISTRY.pop(name, None)
    register_feature_extractor(name, _Bridge)
    return name
