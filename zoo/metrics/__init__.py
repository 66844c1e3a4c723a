"""The metric library (plain torch + torchmetrics + torch-fidelity, no Lightning): feature extractors,
FID/KID/IS/precision-recall, the class-aware metrics of conditional models (``class_aware``, ``class_suite``), the
real-statistics cache and ``evaluate_generator``. ``callbacks.GenerativeMetrics``
and ``gan-zoo evaluate`` are thin layers over it."""

from zoo.metrics.evaluation import evaluate_generator, evaluate_images, is_translation_model
from zoo.metrics.extractors import FeatureExtractor, build_extractor, list_extractors, register_extractor
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.settings import MetricSettings
from zoo.metrics.suite import CLASS_METRICS, METRICS, MetricSuite, parse_metrics

__all__ = [
    "CLASS_METRICS",
    "METRICS",
    "FeatureExtractor",
    "MetricSettings",
    "MetricSuite",
    "RealStatsCache",
    "build_extractor",
    "evaluate_generator",
    "evaluate_images",
    "is_translation_model",
    "list_extractors",
    "parse_metrics",
    "register_extractor",
]
