"""lightning-gan-zoo: GAN variants as Lightning modules sharing nets, losses and metrics.

``from zoo import GAN`` works as it always did, but importing ``zoo`` itself (or a core module such as
``zoo.validation``, which datamodules and callbacks use) loads no variant: the variant classes and the
``gan_ddp`` strategy are imported on first access (PEP 562). The command layer (``zoo.commands``) is never
imported from here.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.registry import get_variant, list_variants

__version__ = "0.1.0"

#: the classes ``zoo.models`` exports (its ``__all__``), imported from there on first access
MODEL_EXPORTS = (
    "GAN",
    "WGAN",
    "WGANGP",
    "LSGAN",
    "FGAN",
    "HingeGAN",
    "VAEGAN",
    "CycleGAN",
    "BEGAN",
    "EBGAN",
    "DRAGAN",
    "SNGAN",
    "LossSensitiveGAN",
    "CGAN",
    "ACGAN",
    "ProjectionGAN",
    "InfoGAN",
    "AdversarialModule",
    "NoiseToImageGAN",
)
#: public name -> module that defines it (imported on first access)
_LAZY = {**dict.fromkeys(MODEL_EXPORTS, "zoo.models"), "GANDDPStrategy": "zoo.strategies"}

__all__ = [*_LAZY, "get_variant", "list_variants"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
