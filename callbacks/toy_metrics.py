"""Mode metrics for 2-D Gaussian mixtures (the ring of 8, the grid of 25).

Following the unrolled-GAN (Metz et al., ICLR 2017, Section 3.1 / Appendix A) and VEEGAN (Srivastava et al.,
NeurIPS 2017, Section 5.1) protocol: draw samples from G, assign each to its nearest mode center; a sample
is *high quality* when it lies within ``threshold`` (3) standard deviations of that center, and a mode is
*covered* when at least ``min_samples`` high-quality samples are assigned to it.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor

from callbacks.steps import generator_steps
from zoo.sampling import fixed_z_samples
from zoo.validation import require_at_least, require_positive


def mode_metrics(
    samples: Tensor, centers: Tensor, std: float, threshold: float = 3.0, min_samples: int = 1
) -> dict[str, float]:
    """Modes covered and fraction of high-quality samples for 2-D samples against mixture ``centers``.

    Args:
        samples: (N, D) generated points.
        centers: (K, D) mode centers.
        std: the per-mode standard deviation of the mixture.
        threshold: a sample is high quality within ``threshold * std`` of its nearest center.
        min_samples: high-quality samples a mode needs to count as covered.

    Returns:
        ``modes_covered`` (count), ``high_quality_fraction`` (in [0, 1]) and ``num_modes``.
    """
    require_positive("std", std)
    require_positive("threshold", threshold)
    require_at_least("min_samples", min_samples, 1)
    if samples.dim() != 2 or centers.dim() != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (N, D) and centers (K, D) must share D; got {tuple(samples.shape)} and {tuple(centers.shape)}."
        )
    samples = samples.detach().float().cpu()
    centers = centers.detach().float().cpu()
    distances = torch.cdist(samples, centers)  # (N, K)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return {
        "modes_covered": float((counts >= min_samples).sum()),
        "high_quality_fraction": float(good.float().mean()) if len(samples) else 0.0,
        "num_modes": float(len(centers)),
    }


class ToyModeMetrics(L.Callback):
    """Logs ``toy/modes_covered`` and ``toy/high_quality_fraction`` while training on a 2-D mixture.

    Every ``every_n_steps`` generator updates and at the end of training, draws ``num_samples`` points
    from G with a fixed z (seeded by ``seed``) and scores them with :func:`mode_metrics` against the
    datamodule's ``centers`` and ``std`` (``GaussianMixtureData`` has both). Values go to the attached
    loggers and to ``trainer.callback_metrics`` (so ``TrainingSummary`` writes them to metrics.json);
    ``history`` keeps (g_steps, metrics) pairs. Does nothing for datamodules without ``centers``.
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        num_samples: int = 2500,
        threshold: float = 3.0,
        min_samples: int = 1,
        seed: int = 4321,
        prefix: str = "toy/",
    ) -> None:
        require_at_least("every_n_steps", every_n_steps, 1)
        require_at_least("num_samples", num_samples, 1)
        self.every_n_steps = every_n_steps
        self.num_samples = num_samples
        self.threshold = threshold
        self.min_samples = min_samples
        self.seed = seed
        self.prefix = prefix
        self.history: list[tuple[int, dict[str, float]]] = []
        self._last_step = -1

    def compute(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, float] | None:
        """Score ``num_samples`` fixed-z samples of the current generator (``None`` without mixture data)."""
        datamodule = trainer.datamodule
        centers = getattr(datamodule, "centers", None)
        std = getattr(datamodule, "std", None)
        if centers is None or std is None:
            return None
        samples = fixed_z_samples(pl_module, self.num_samples, self.seed)
        return mode_metrics(samples, centers, std, self.threshold, self.min_samples)

    def _record(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = generator_steps(trainer, pl_module)
        if step == self._last_step:
            return
        metrics = self.compute(trainer, pl_module)
        if metrics is None:
            return
        self._last_step = step
        self.history.append((step, metrics))
        logged = {f"{self.prefix}{k}": v for k, v in metrics.items() if k != "num_modes"}
        for key, value in logged.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(logged, step=trainer.global_step)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = generator_steps(trainer, pl_module)
        if step > 0 and step % self.every_n_steps == 0:
            self._record(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(trainer, pl_module)
