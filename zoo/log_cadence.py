"""When a training batch logs its losses: at the steps the loggers write, and at the end of training.

``LightningModule.log`` is slow for what it does: every call builds metadata objects and deep-copies them while
moving its result to the value's device. A zoo batch logs 6 to 12 values; timed in a 200-batch DCGAN-28 GAN fit
(Intel Xeon, 1 thread, the machine busy), the 6 calls of a batch took 3.4 to 5.3 ms, against a ~60 ms step on 2
cores, and a GPU step is shorter still. The loggers only write every ``Trainer(log_every_n_steps)`` batches, so
logging at the other batches only refreshes ``trainer.callback_metrics`` and the progress bar.
:func:`logs_this_batch` keeps the calls that reach a logger and those that leave the final values in
``trainer.callback_metrics``:

* the batches Lightning itself writes logs at (``should_update_logs``: every ``log_every_n_steps``-th batch, and
  once a stop was requested);
* the last batch of every epoch;
* the batches that may be the last of a ``max_steps`` run (at most one optimizer step per optimizer left).

``Trainer(log_every_n_steps=1)`` logs every batch, as before. The variants keep every batch's loss terms in
``model.last_losses`` (read by ``callbacks.DivergenceGuard``) whatever the cadence.
"""

from __future__ import annotations

from typing import Any


def logs_this_batch(trainer: Any) -> bool:
    """Whether the training batch about to run logs its losses (call it from ``on_train_batch_start``)."""
    if trainer._logger_connector.should_update_logs or trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
        return True
    return trainer.max_steps >= 0 and trainer.max_steps - trainer.global_step <= len(trainer.optimizers)
