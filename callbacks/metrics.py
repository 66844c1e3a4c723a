"""``GenerativeMetrics``: FID / KID / IS / precision-recall during and after training, as a Lightning callback.

A thin schedule over ``zoo.metrics.evaluate_generator`` (how an evaluation runs, and what ``MetricSettings``
hold, is documented there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from callbacks.metrics_file import contribute, metrics_json_path
from callbacks.steps import generator_steps
from zoo.metrics.class_suite import require_class_aware, require_class_aware_model
from zoo.metrics.evaluation import evaluate_generator, require_logits_for_is
from zoo.metrics.extractors import FeatureExtractor
from zoo.metrics.real_stats import RealStatsCache
from zoo.metrics.settings import MetricSettings
from zoo.validation import require_at_least


class GenerativeMetrics(L.Callback):
    """FID / KID / IS / precision-recall of the generator against a real split, during and after training.

    Evaluates every ``every_n_steps`` generator updates (``g_steps``; ``global_step`` for models without
    it), every ``every_n_epochs`` epochs, and at the end of training (``at_train_end``). Values are logged
    as ``<prefix>fid``, ``<prefix>kid`` (+ ``_std``), ``<prefix>is`` (+ ``_std``), ``<prefix>precision``,
    ``<prefix>recall`` through every attached logger (W&B, TensorBoard, CSV, ...), put in
    ``trainer.callback_metrics`` (so ``ModelCheckpoint(monitor="val/fid")`` sees them), and written with the
    protocol and history to ``metrics.json`` after every evaluation (``callbacks.metrics_file``). Which generator
    weights were scored (``settings.weights``: the EMA when the model keeps one, by default) is recorded in the
    protocol and in every history entry (``generator_weights``: ``ema`` or ``raw``; for the EMA also
    ``ema_batch_norm``: ``copy`` or ``recompute``, the model's ``ema_bn``).

    Conditional models can also be scored per class (``metrics: [fid, class_acc, class_fid, class_diversity]``, or
    ``code_acc`` for InfoGAN; ``zoo.metrics.class_suite``): logged as ``<prefix>class_acc`` and
    ``<prefix>class_acc_<k>`` per class, ``<prefix>class_fid`` (mean) / ``_spread`` (max - min) / ``_<k>``,
    ``<prefix>class_diversity`` / ``_<k>``, ``<prefix>code_acc``. They are checked against the model, data and
    extractor before training.

    Args:
        settings: what to compute and on how many samples (``MetricSettings``: metrics, num_fake, num_real,
            split, seed, batch_size, KID/IS/PR settings, extractor). In YAML: ``settings: {num_fake: 2000}``.
        every_n_steps, every_n_epochs: evaluation schedule (``None``: off; the end of training still counts).
        extractor: an already built extractor, overriding ``settings.extractor`` (its name is still recorded).
        cache_dir: real-statistics cache (default ``$GAN_ZOO_CACHE`` or ``~/.cache/lightning-gan-zoo``).
        use_cache: ``False`` recomputes real features every time.
        prefix: logged-name prefix.
        json_path: where to write results (``None``: ``<default_root_dir>/metrics.json``).
        at_train_end: also evaluate when training ends.
    """

    def __init__(
        self,
        settings: MetricSettings | None = None,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = None,
        extractor: FeatureExtractor | None = None,
        cache_dir: str | None = None,
        use_cache: bool = True,
        prefix: str = "val/",
        json_path: str | None = None,
        at_train_end: bool = True,
    ) -> None:
        if every_n_steps is not None:
            require_at_least("every_n_steps", every_n_steps, 1, "Use None to evaluate only at the end.")
        if every_n_epochs is not None:
            require_at_least("every_n_epochs", every_n_epochs, 1, "Use None to evaluate only at the end.")
        self.settings = settings if settings is not None else MetricSettings()
        self.every_n_steps = every_n_steps
        self.every_n_epochs = every_n_epochs
        self.cache = RealStatsCache(cache_dir, enabled=use_cache)
        self.prefix = prefix
        self.json_path = json_path
        self.at_train_end = at_train_end
        self.history: list[dict[str, Any]] = []
        self.protocol: dict[str, Any] | None = None
        self._extractor = extractor
        self._last_step = -1

    # ---------------------------------------------------------------- setup
    def output_folders(self, trainer: L.Trainer) -> list[tuple[str, Path, str]]:
        """The folder of this callback's ``metrics.json``, for ``RunOutputs``' check before the first step."""
        return [("metrics.json", metrics_json_path(trainer, self.json_path).parent, "GenerativeMetrics(json_path=...)")]

    def build_extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            self._extractor = self.settings.build_extractor()
        return self._extractor

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        extractor = self.build_extractor().to(pl_module.device)
        require_logits_for_is(extractor, self.settings.metrics)  # fail before training, not after it
        if trainer.datamodule is not None:
            require_class_aware(pl_module, self.settings.metrics, extractor, trainer.datamodule)
        else:
            require_class_aware_model(pl_module, self.settings.metrics)
        shape = getattr(pl_module, "image_shape", None)
        if shape is not None:  # fail before training, not after it
            extractor.check_input(torch.zeros(1, *shape, device=pl_module.device))

    # ------------------------------------------------------------ schedule
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        step = generator_steps(trainer, pl_module)
        if self.every_n_steps and step > 0 and step % self.every_n_steps == 0 and step != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        due = self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0
        if due and generator_steps(trainer, pl_module) != self._last_step:
            self.evaluate(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.at_train_end and generator_steps(trainer, pl_module) != self._last_step:
            self.evaluate(trainer, pl_module)

    # ------------------------------------------------------------ evaluate
    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, float]:
        """Run one evaluation on every rank, log it, write metrics.json, and return ``{logged_name: value}``."""
        step = generator_steps(trainer, pl_module)
        self._last_step = step
        datamodule = trainer.datamodule
        if datamodule is None:
            raise ValueError("GenerativeMetrics needs real data: pass a datamodule, Trainer.fit(model, datamodule).")
        values, protocol = evaluate_generator(
            pl_module,
            datamodule,
            self.settings,
            extractor=self.build_extractor().to(pl_module.device),
            cache=self.cache,
            rank=trainer.global_rank,
            world_size=trainer.world_size,
        )
        logged = {f"{self.prefix}{k}": v for k, v in values.items()}
        for key, value in logged.items():
            trainer.callback_metrics[key] = torch.tensor(value)
        first = self.protocol is None
        self.protocol = protocol
        self.history.append(
            {
                "g_steps": step,
                "global_step": trainer.global_step,
                "epoch": trainer.current_epoch,
                "generator_weights": protocol["generator_weights"],
                **({"ema_batch_norm": protocol["ema_batch_norm"]} if "ema_batch_norm" in protocol else {}),
                **logged,
            }
        )
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                if first:
                    logger.log_hyperparams({"metrics_protocol": protocol})
                logger.log_metrics(logged, step=trainer.global_step)
        results = self.results()
        contribute(trainer, {"generative_metrics": results}, metrics=results["latest"], path=self.json_path)
        return logged

    def results(self) -> dict[str, Any]:
        latest = {k: v for k, v in self.history[-1].items() if k.startswith(self.prefix)} if self.history else {}
        return {"latest": latest, "protocol": self.protocol, "history": self.history}
