"""The registry of feature extractors for the generative metrics.

Registered:

* ``fashion-domain`` (``zoo.metrics.fashion_domain``): a small Fashion-MNIST classifier shipped with the repo,
  for 1x28x28 grayscale; offline and fast, but its numbers are *not* Inception numbers.
* ``inception-v3-compat`` (``zoo.metrics.inception``): torch-fidelity's Inception-v3 port of the TF FID graph.

``build_extractor(name, **kwargs)`` makes one; ``register_extractor(name, factory)`` adds one. The interface
is ``zoo.metrics.feature_extractor.FeatureExtractor``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoo.metrics.fashion_domain import (
    FASHION_DOMAIN_SHA256,
    FASHION_DOMAIN_TEST_ACCURACY,
    FASHION_DOMAIN_WEIGHTS,
    FashionDomainExtractor,
)
from zoo.metrics.feature_extractor import FeatureExtractor, module_sha256, sha256_file, to_uint8_rgb
from zoo.metrics.inception import TorchFidelityExtractor, build_inception

__all__ = [
    "FASHION_DOMAIN_SHA256",
    "FASHION_DOMAIN_TEST_ACCURACY",
    "FASHION_DOMAIN_WEIGHTS",
    "FashionDomainExtractor",
    "FeatureExtractor",
    "TorchFidelityExtractor",
    "build_extractor",
    "build_inception",
    "list_extractors",
    "module_sha256",
    "register_extractor",
    "sha256_file",
    "to_uint8_rgb",
]

_REGISTRY: dict[str, Callable[..., FeatureExtractor]] = {
    "fashion-domain": FashionDomainExtractor,
    "inception-v3-compat": build_inception,
}


def register_extractor(name: str, factory: Callable[..., FeatureExtractor]) -> None:
    """Make ``build_extractor(name, ...)`` call ``factory(...)``."""
    _REGISTRY[name] = factory


def list_extractors() -> list[str]:
    return list(_REGISTRY)


def build_extractor(extractor: str | FeatureExtractor = "fashion-domain", **kwargs: Any) -> FeatureExtractor:
    """An extractor by registry name (``kwargs`` go to its factory), or ``extractor`` itself if already built."""
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if extractor not in _REGISTRY:
        raise ValueError(f"unknown extractor {extractor!r}; registered: {', '.join(_REGISTRY)}.")
    return _REGISTRY[extractor](**kwargs)
