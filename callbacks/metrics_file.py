"""``metrics.json``: the one file a fit's callbacks write their results to, through one writer.

Each callback contributes its part (``TrainingSummary``: counters, wall time, hyperparameters;
``GenerativeMetrics``: protocol and history) and its headline numbers (merged under ``"metrics"``). The parts
of the current fit are kept on the trainer and the whole file is rewritten from them at every contribution
(atomically), so the result does not depend on the order the callbacks run in, and nothing from an earlier
fit into the same folder survives.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import lightning as L

_CONTENTS = "_gan_zoo_metrics_json"  # attribute on the trainer: {path: contents of this fit}


def metrics_json_path(trainer: L.Trainer, path: str | Path | None = None) -> Path:
    """``path``, or ``<trainer.default_root_dir>/metrics.json``."""
    return Path(path) if path is not None else Path(trainer.default_root_dir) / "metrics.json"


def contribute(
    trainer: L.Trainer, fields: dict[str, Any], metrics: dict[str, float] | None = None, path: str | Path | None = None
) -> Path | None:
    """Merge ``fields`` (top-level keys) and ``metrics`` (into ``"metrics"``) into this fit's ``metrics.json``
    and rewrite it; only the global-zero rank writes (returns the path, or ``None`` on other ranks)."""
    if not trainer.is_global_zero:
        return None
    target = metrics_json_path(trainer, path)
    per_path = trainer.__dict__.setdefault(_CONTENTS, {})
    contents = per_path.setdefault(str(target), {})
    contents.update({k: v for k, v in fields.items() if k != "metrics"})
    contents.setdefault("metrics", {}).update(metrics or {})
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".metrics-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(contents, indent=2) + "\n")
    os.replace(tmp, target)
    return target
