"""Loss logging at the batches a logger writes and at the end of training (``zoo.log_cadence``).

Skipping ``self.log`` on the other batches must lose nothing a user reads: the loggers' files are the same as with
logging on every batch, the final ``trainer.callback_metrics`` hold the last batch's losses, and
``log_every_n_steps=1`` logs every batch.
"""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import list_variants, log_cadence

VARIANTS = list_variants()


class Decisions(L.Callback):
    """The module's logging decision at every training batch."""

    def __init__(self) -> None:
        self.logged: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        self.logged.append(pl_module.logs_this_batch)


def fit(name: str, fashion_dir: Path, root: Path, **trainer_kwargs) -> tuple[L.Trainer, L.LightningModule, Decisions]:
    torch.manual_seed(0)
    model = tiny_model(name)
    decisions = Decisions()
    logger = CSVLogger(str(root), name="csv", version=0)
    trainer = tiny_trainer(root, logger=logger, callbacks=[decisions], **trainer_kwargs)
    trainer.fit(model, tiny_data(name, fashion_dir))
    return trainer, model, decisions


def csv_rows(root: Path) -> list[dict[str, str]]:
    with open(root / "csv" / "version_0" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def final_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}


@pytest.mark.parametrize("name", VARIANTS)
def test_loggers_and_final_metrics_are_those_of_logging_every_batch(name, fashion_dir, tmp_path, monkeypatch):
    settings = dict(max_epochs=1, limit_train_batches=5, log_every_n_steps=2)
    trainer, model, decisions = fit(name, fashion_dir, tmp_path / "cadence", **settings)
    assert decisions.logged == [False, True, False, True, True]  # batches 2 and 4, and the last
    last_batch = {k: float(v) for k, v in model.last_losses.items()}
    last_batch.update({"train/d_steps": float(model.d_steps), "train/g_steps": float(model.g_steps)})
    assert final_metrics(trainer) == pytest.approx(last_batch)
    monkeypatch.setattr(log_cadence, "logs_this_batch", lambda trainer: True)
    every_trainer, _, every = fit(name, fashion_dir, tmp_path / "every", **settings)
    assert every.logged == [True] * 5
    assert csv_rows(tmp_path / "cadence") == csv_rows(tmp_path / "every")
    assert final_metrics(trainer) == final_metrics(every_trainer)


def test_a_max_steps_run_logs_its_last_batch(fashion_dir, tmp_path):
    # GAN: one D and one G update per batch, so max_steps=9 ends inside batch 5 (D step 9, then G step 10)
    trainer, model, decisions = fit("GAN", fashion_dir, tmp_path, max_steps=9, log_every_n_steps=50)
    assert len(decisions.logged) == 5 and decisions.logged[-1] and not any(decisions.logged[:-1])
    assert float(trainer.callback_metrics["train/g_loss"]) == float(model.last_losses["train/g_loss"])
    assert float(trainer.callback_metrics["train/g_steps"]) == 5.0


def test_log_every_n_steps_1_logs_every_batch(fashion_dir, tmp_path):
    _, _, decisions = fit("GAN", fashion_dir, tmp_path, max_epochs=1, limit_train_batches=4, log_every_n_steps=1)
    assert decisions.logged == [True] * 4
