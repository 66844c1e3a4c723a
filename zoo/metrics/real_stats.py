"""Real-data features, computed once per (dataset, split, extractor hash, n) and cached on disk.

A cache entry stores the real features (for FID, KID, precision/recall) and logits (for the real-data
Inception score) of the first ``n`` images of a split, together with the key it was computed for. The key
holds the dataset's name, the split, ``n``, the extractor's name and weights SHA-256, and a SHA-256 of the
real images themselves, so a changed dataset file, split, sample count or extractor never reuses a stale
entry: the file name is derived from the key, and the key stored inside is compared on load. A file that
cannot be read (truncated, corrupt, wrong format) is recomputed and overwritten, never trusted.

Default location: ``$GAN_ZOO_CACHE`` or ``~/.cache/lightning-gan-zoo/real_stats``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

FORMAT_VERSION = 1


def default_cache_dir() -> Path:
    root = os.environ.get("GAN_ZOO_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "lightning-gan-zoo" / "real_stats"


def tensor_sha256(tensor: Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()).hexdigest()


def cache_key(dataset: str, split: str, n: int, extractor: dict[str, str], data_sha256: str) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "dataset": dataset,
        "split": split,
        "n": int(n),
        "extractor": extractor["name"],
        "extractor_sha256": extractor["weights_sha256"],
        "data_sha256": data_sha256,
    }


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


class RealStatsCache:
    """Real features and logits on disk, keyed by (dataset, split, extractor hash, n, data hash).

    ``get(...)`` returns ``(features, logits)`` and whether they came from the cache (``hit``); the last
    call's outcome is also in ``last_hit``. ``enabled=False`` always recomputes and writes nothing.
    """

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.enabled = enabled
        self.last_hit = False

    def path_for(self, key: dict[str, Any]) -> Path:
        name = f"{_safe(key['dataset'])}-{_safe(key['split'])}-{_safe(key['extractor'])}-n{key['n']}"
        return self.root / f"{name}-{key_digest(key)[:16]}.pt"

    def load(self, key: dict[str, Any]) -> tuple[Tensor, Tensor] | None:
        path = self.path_for(key)
        if not path.is_file():
            return None
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            if entry["key"] != key:
                return None  # a different computation behind a colliding name: stale, recompute
            features, logits = entry["features"], entry["logits"]
            if features.dim() != 2 or len(features) != key["n"] or len(logits) != key["n"]:
                raise ValueError(f"wrong shapes {tuple(features.shape)}, {tuple(logits.shape)}")
        except Exception as err:  # truncated zip, garbage, missing keys: recompute
            warnings.warn(
                f"ignoring unreadable real-statistics cache {path} ({type(err).__name__}); recomputing.", stacklevel=2
            )
            return None
        return features, logits

    def save(self, key: dict[str, Any], features: Tensor, logits: Tensor) -> Path:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"key": key, "features": features.detach().cpu(), "logits": logits.detach().cpu()}
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            torch.save(entry, tmp)
        os.replace(tmp.name, path)  # atomic: concurrent writers (DDP ranks) never leave a half file
        return path

    def get(
        self,
        dataset: str,
        split: str,
        images: Tensor,
        extractor: dict[str, str],
        compute: Callable[[Tensor], tuple[Tensor, Tensor]],
    ) -> tuple[Tensor, Tensor]:
        """Features and logits of ``images`` (the first ``n`` of ``split``), from the cache or ``compute``."""
        key = cache_key(dataset, split, len(images), extractor, tensor_sha256(images))
        if self.enabled:
            cached = self.load(key)
            if cached is not None:
                self.last_hit = True
                return cached
        self.last_hit = False
        features, logits = compute(images)
        if self.enabled:
            self.save(key, features, logits)
        return features, logits
