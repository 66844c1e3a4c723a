"""Callbacks: sample grids, checkpoints, run summaries and metrics. They talk to models only through
``generate(n)`` / ``generator`` / ``sample_z`` and to data through the datamodule."""

from callbacks.checkpoint import ZooCheckpoint
from callbacks.discriminator_overfitting import DiscriminatorOverfitting
from callbacks.divergence import DivergenceGuard, TrainingDivergedError
from callbacks.generator_snapshots import GeneratorSnapshots, load_snapshot
from callbacks.metrics import GenerativeMetrics
from callbacks.run_outputs import RunOutputs
from callbacks.sample_grid import SampleGrid
from callbacks.summary import TrainingSummary
from callbacks.toy_metrics import ToyModeMetrics, mode_metrics

__all__ = [
    "DiscriminatorOverfitting",
    "GeneratorSnapshots",
    "load_snapshot",
    "DivergenceGuard",
    "GenerativeMetrics",
    "RunOutputs",
    "SampleGrid",
    "ToyModeMetrics",
    "TrainingDivergedError",
    "TrainingSummary",
    "ZooCheckpoint",
    "mode_metrics",
]
