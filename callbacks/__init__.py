"""Callbacks: sample grids, checkpoints, run summaries and metrics. They talk to models only through
``generate(n)`` / ``generator`` / ``sample_z`` and to data through the datamodule."""

from callbacks.checkpoint import ZooCheckpoint
from callbacks.metrics import GenerativeMetrics as GenerativeMetrics
from callbacks.sample_grid import SampleGrid
from callbacks.summary import TrainingSummary

__all__ = ["SampleGrid", "TrainingSummary", "ZooCheckpoint"]
