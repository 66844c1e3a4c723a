"""``AdversarialModule``: the manual-optimization mechanics every variant builds on.

It knows nets, optimizers and updates, not what a variant's step computes. It owns:

* the hyperparameters every variant shares: image shape, net width and norms, optimizer settings, gradient
  clipping, accumulation, ``torch.compile``;
* nets sized from the datamodule's ``image_shape`` in ``setup()`` when none is given; the shape is recorded
  in the hyperparameters so ``load_from_checkpoint`` rebuilds the same nets (``make_networks``);
* ``optimizer_update``: one update inside ``toggled_optimizer`` (the other optimizers' parameters frozen),
  with ``manual_backward``, optional gradient-norm clipping and gradient accumulation (the Trainer's own
  flags are disabled under manual optimization), then ``step``; under the ``gan_ddp`` strategy the trained
  nets are reached through their DDP wrappers for that update (``zoo.models.ddp_nets``);
* optimizers built from ``optimizer_parameters``, LR schedulers stepped by hand per epoch or per generator
  update; ``d_steps`` / ``g_steps`` counters (``trainer.global_step`` counts every optimizer step);
* loss logging at the batches a logger writes and at the end of training (``zoo.log_cadence``; every batch's
  terms stay in ``last_losses``), RNG state and counters in checkpoints, RNG restored on resume;
* the options every variant takes (``zoo.models.options``): a generator EMA (``generator_ema``, Yazıcı et al.
  2019) updated once per generator update, and DiffAugment (Zhao et al. 2020) in front of the discriminators.

A variant writes its own ``training_step`` from these parts. ``NoiseToImageGAN``
(``zoo.models.noise_to_image``) is the "noise -> image, one G, one D, n_critic" contract most variants
choose; VAE-GAN and CycleGAN build on this class directly.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor, nn
from torch.optim import Optimizer

from zoo import checkpoints, log_cadence
from zoo.diffaugment import parse_policy
from zoo.ema import check_ema_settings
from zoo.models import ddp_nets, options, resume
from zoo.precision import warn_if_bf16_is_emulated
from zoo.rng import rng_states, set_rng_states
from zoo.validation import require_at_least, require_choice, require_finite, require_positive

OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULER_INTERVALS = ("epoch", "g_step")


#: device types with torch's fused Adam / SGD kernels
FUSED_OPTIMIZER_DEVICES = ("cpu", "cuda", "mps", "xpu")


def has_fused_kernel(params: Sequence[Tensor]) -> bool:
    """Whether torch's fused Adam / SGD can update ``params``: floating point, on a device that has the kernel."""
    return bool(params) and all(p.device.type in FUSED_OPTIMIZER_DEVICES and torch.is_floating_point(p) for p in params)


def _infinite_defaults(cls: type) -> set[str]:
    """``__init__`` arguments along ``cls``'s chain whose default is ``inf`` or ``-inf``."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and issubclass(klass, AdversarialModule):
            for name, param in inspect.signature(init).parameters.items():
                default = param.default
                if isinstance(default, float) and math.isinf(default):
                    names.add(name)
    return names


class AdversarialModule(L.LightningModule):
    """Base class of every variant: a ``generator`` and a ``discriminator`` (and any other nets), manual optimization.

    Args:
        image_shape: (C, H, W) for images or (D,) for vectors; ``None`` takes it from the datamodule.
        width: DCGAN base channels, or MLP hidden units for vector data.
        g_norm, d_norm: normalization in G and D (``batch``, ``instance``, ``layer``, ``none``).
        optimizer: ``adam``, ``rmsprop`` or ``sgd`` (momentum = betas[0]) for every net.
        fused_optimizer: update all of a net's parameters with torch's fused Adam / SGD kernel (one pass over the
            parameters) where the device has one (CPU, CUDA, MPS, XPU), instead of torch's default per-tensor loop
            on CPU. Measured on a 2-core Xeon (``benchmarks/throughput.py``): Adam over the Lucic nets' 13.2M
            parameters takes about 7x less time fused, a large share of their step. The same update rounded
            differently (about 1 ulp per step): a run is not bit-identical to one with ``False``, but resumes
            bit-identically. RMSprop has no fused kernel and keeps torch's default.
        lr: generator learning rate; ``lr_d`` the discriminator's (defaults to ``lr``).
        betas: Adam betas.
        grad_clip_val: clip each update's gradient norm to this value (``None``: off).
        accumulate_grad_batches: real batches accumulated into one update of each net.
        compile: ``torch.compile`` every net (``True``, or a backend name).
        channels_last: store every net's 4-D weights (and so their convolutions' activations) channels-last
            (NHWC), which oneDNN's CPU and cuDNN's tensor-core convolutions run faster (``benchmarks/throughput.py``
            measures it). The same arithmetic in another order: a run is not bit-identical to a default
            (contiguous) one, but resumes bit-identically with the option on.
        ema_decay: keep ``generator_ema``, an exponential moving average of the generator updated once per
            generator update with this beta (Yazıcı et al. 2019: 0.999); ``None``: off. See ``zoo.ema``.
        ema_start: generator updates during which the average copies the generator (BigGAN's ema_start).
        ema_rampup: ramp beta as min(ema_decay, (1 + t) / (10 + t)) over the t updates after ``ema_start``.
        ema_bn: batch-norm statistics the EMA samples with: ``copy`` (the generator's, copied at every update) or
            ``recompute`` (recomputed for the averaged weights when sampling; ``zoo.ema.recompute_batch_norm``).
        ema_bn_batches: batches of 64 z for ``ema_bn="recompute"``.
        diffaugment: DiffAugment policy (Zhao et al. 2020), e.g. ``"color,translation,cutout"``, applied to
            every image the discriminators see in training; ``None``: off. See ``zoo.diffaugment``.
    """

    #: when the schedulers are stepped: once per ``epoch`` or after every generator update
    scheduler_interval: str = "epoch"
    #: hyperparameters a checkpoint fixes: resuming with other values is refused (``zoo.models.resume``)
    resume_fixed_hparams: frozenset[str] = resume.FIXED_HPARAMS

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        width: int = 64,
        g_norm: str = "batch",
        d_norm: str = "batch",
        optimizer: str = "adam",
        fused_optimizer: bool = True,
        lr: float = 2e-4,
        lr_d: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        grad_clip_val: float | None = None,
        accumulate_grad_batches: int = 1,
        compile: bool | str = False,
        channels_last: bool = False,
        ema_decay: float | None = None,
        ema_start: int = 0,
        ema_rampup: bool = False,
        ema_bn: str = "copy",
        ema_bn_batches: int = 100,
        diffaugment: str | None = None,
    ) -> None:
        super().__init__()
        if image_shape is not None:
            image_shape = [int(s) for s in image_shape]
        self.save_hyperparameters()  # collects the arguments of every __init__ in the chain, the variant's too
        # inf/nan in any float hyperparameter (lr, betas, loss weights, clip values, ...) of any variant; an argument
        # whose default is infinite (a limit the paper names) keeps accepting that infinity
        require_finite(
            self.hparams,
            "inf and nan train to non-finite weights; pass a finite value.",
            _infinite_defaults(type(self)),
        )
        require_positive("lr", lr, "Pass a positive learning rate, e.g. lr=2e-4.")
        if lr_d is not None:
            require_positive("lr_d", lr_d, "Pass a positive learning rate, or None to reuse lr.")
        require_at_least("accumulate_grad_batches", accumulate_grad_batches, 1)
        require_choice("optimizer", optimizer, OPTIMIZERS)
        if grad_clip_val is not None:
            require_positive("grad_clip_val", grad_clip_val, "Use None to disable clipping.")
        check_ema_settings(ema_decay, ema_start, ema_rampup, ema_bn, ema_bn_batches)
        if diffaugment is not None:
            parse_policy(diffaugment)
        self.automatic_optimization = False
        self.generator: nn.Module | None = None
        self.discriminator: nn.Module | None = None
        self.generator_ema: nn.Module | None = None  # built with the nets when ema_decay is set
        self.d_steps = 0
        self.g_steps = 0
        self._micro_batch = 0  # position of the current batch in its accumulated update
        self.last_losses: dict[str, Tensor] = {}  # this step's logged loss terms (read by DivergenceGuard)
        self.logs_this_batch = True  # set per training batch by on_train_batch_start (zoo.log_cadence)
        if image_shape is not None:
            self.build_networks(image_shape)
            options.attach_diffaugment(self)

    # ------------------------------------------------------------------ nets
    @property
    def image_shape(self) -> tuple[int, ...] | None:
        shape = self.hparams.get("image_shape")
        return None if shape is None else tuple(shape)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        """The variant's generator and discriminator for ``image_shape`` (extend ``build_networks`` for more)."""
        raise NotImplementedError(f"{type(self).__name__} must say which nets it trains: implement make_networks.")

    def check_networks(self) -> None:
        """Hook for variants to refuse nets their paper rules out (e.g. batch norm in a WGAN-GP critic)."""

    def build_networks(self, image_shape: Sequence[int]) -> None:
        shape = tuple(int(s) for s in image_shape)
        self.hparams["image_shape"] = list(shape)
        self.generator, self.discriminator = self.make_networks(shape)
        options.build_generator_ema(self)
        self.check_networks()

    def setup(self, stage: str) -> None:
        data_shape = self._datamodule_image_shape()
        if self.generator is None:
            if data_shape is None:
                raise ValueError(
                    f"{type(self).__name__} does not know the image shape: pass image_shape=(C, H, W) "
                    "(or (D,) for vectors), or train with a datamodule that exposes image_shape."
                )
            self.build_networks(data_shape)
        elif data_shape is not None and tuple(data_shape) != self.image_shape:
            self._refuse_shape(data_shape)
        options.attach_diffaugment(self)
        if self.hparams.get("channels_last", False):
            self.to(memory_format=torch.channels_last)  # before compiling, which specializes on strides
        self._compile_networks()
        if self._trainer is not None:
            warn_if_bf16_is_emulated(self._trainer, self._trainer.strategy.root_device)

    def _compile_networks(self) -> None:
        backend = self.hparams.get("compile", False)
        if not backend or self.__dict__.get("_compiled"):
            return
        for net in self.children():
            net.compile(**({} if backend is True else {"backend": backend}))
        self.__dict__["_compiled"] = True

    def _refuse_shape(self, data_shape: Sequence[int]) -> None:
        raise ValueError(
            f"{type(self).__name__} was built for image_shape={self.image_shape} but the datamodule "
            f"serves {tuple(data_shape)}: drop image_shape from the model (it is then taken from the "
            "data) or convert the data (channels / image_size) to match."
        )

    def _datamodule_image_shape(self) -> tuple[int, ...] | None:
        trainer = self._trainer
        datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
        shape = getattr(datamodule, "image_shape", None)
        return None if shape is None else tuple(int(s) for s in shape)

    # ------------------------------------------------------- per-net DDP wrappers
    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap every child net that has parameters (the ``gan_ddp`` strategy); see ``zoo.models.ddp_nets``."""
        self.__dict__["_net_wrappers"] = ddp_nets.wrap_nets(self, wrap)

    def unwrap_networks(self) -> None:
        self.__dict__["_net_wrappers"] = {}

    # --------------------------------------------------------------- optimizers
    def make_optimizer(self, params: Any, lr: float) -> Optimizer:
        hp = self.hparams
        params = list(params)
        fused = True if hp.fused_optimizer and has_fused_kernel(params) else None  # None: torch's default
        if hp.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=tuple(hp.betas), fused=fused)
        if hp.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.SGD(params, lr=lr, momentum=hp.betas[0], fused=fused)

    def optimizer_parameters(self) -> list[tuple[Iterable[nn.Parameter], float]]:
        """(parameters, learning rate) of each optimizer, in ``self.optimizers()`` order.

        Default: the generator's at ``lr``, then the discriminator's at ``lr_d`` (or ``lr``).
        """
        hp = self.hparams
        return [(self.generator.parameters(), hp.lr), (self.discriminator.parameters(), hp.lr_d or hp.lr)]

    def make_schedulers(self, optimizers: list[Optimizer]) -> list[Any]:
        """LR schedulers, stepped by hand every ``scheduler_interval``; none by default."""
        return []

    def configure_optimizers(self) -> Any:
        optimizers = [self.make_optimizer(params, lr) for params, lr in self.optimizer_parameters()]
        schedulers = self.make_schedulers(optimizers)
        return (optimizers, schedulers) if schedulers else optimizers

    # ------------------------------------------------------------------ updates
    def real_from_batch(self, batch: Any) -> Tensor:
        """The real samples of a batch: datamodules yield (samples, labels); bare tensors work too."""
        return batch[0] if isinstance(batch, list | tuple) else batch

    def accumulation_window(self) -> tuple[bool, bool]:
        """(first, last): whether the current batch opens, and whether it closes, an accumulated update."""
        return self._micro_batch == 0, self._micro_batch == self.hparams.accumulate_grad_batches - 1

    def advance_micro_batch(self) -> None:
        """Move on to the next batch of the accumulated update (call once per training batch)."""
        self._micro_batch = (self._micro_batch + 1) % self.hparams.accumulate_grad_batches

    def optimizer_update(
        self, optimizer: Any, compute_loss: Callable[[], dict[str, Tensor]], first: bool, last: bool
    ) -> dict[str, Tensor]:
        """One micro-batch of an update: only ``optimizer``'s parameters get gradients.

        ``compute_loss`` returns a loss dict whose ``loss`` is minimized. ``first`` zeroes the gradients,
        ``last`` clips and steps; in between, gradients accumulate.
        """
        wrappers = self.__dict__.get("_net_wrappers", {})
        with self.toggled_optimizer(optimizer), ddp_nets.wrappers_in_place(self, wrappers, optimizer):
            if first:
                optimizer.zero_grad(set_to_none=True)
            if self.hparams.accumulate_grad_batches > 1:
                ddp_nets.set_gradient_sync(wrappers, last)
            out = compute_loss()
            self.manual_backward(out["loss"] / self.hparams.accumulate_grad_batches)
            if last:
                if self.hparams.grad_clip_val is not None:
                    self.clip_gradients(
                        optimizer,
                        gradient_clip_val=self.hparams.grad_clip_val,
                        gradient_clip_algorithm="norm",
                    )
                optimizer.step()
        return out

    def count_discriminator_update(self) -> None:
        """A discriminator update is complete (all its micro-batches stepped)."""
        self.d_steps += 1

    def count_generator_update(self) -> None:
        """A generator update is complete; the generator EMA and the schedulers that run per generator update
        step now."""
        self.g_steps += 1
        options.step_generator_ema(self)
        if self.scheduler_interval == "g_step":
            self._step_schedulers()

    def on_train_start(self) -> None:
        # Resuming: continue the global RNG streams (z, interpolation weights, ...) where the checkpoint
        # left them, so the resumed run equals an uninterrupted one. Loading a model for inference never
        # reaches this hook, so it leaves the caller's RNG alone.
        states = self.__dict__.pop("_rng_to_restore", None)
        if states is not None:
            set_rng_states(states)
        self._apply_resume_changes()

    def on_train_epoch_end(self) -> None:
        if self.scheduler_interval == "epoch":
            self._step_schedulers()

    def _step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    # ------------------------------------------------------------------ logging
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.logs_this_batch = log_cadence.logs_this_batch(self.trainer)

    def log_losses(self, net: str, out: dict[str, Tensor]) -> None:
        """Keep an update's loss dict in ``last_losses`` (``train/<net>_loss`` for ``loss``, ``train/<key>`` for the
        other terms) and log it on the batches that log (``zoo.log_cadence``)."""
        logged = {f"train/{net}_loss": out["loss"].detach()}
        logged.update({f"train/{k}": v.detach() for k, v in out.items() if k != "loss"})
        self.log_terms(logged)
        if self.logs_this_batch:
            self.log(f"{net}_loss", logged[f"train/{net}_loss"], prog_bar=True, logger=False)

    def log_terms(self, logged: dict[str, Tensor]) -> None:
        """Keep ``logged`` in ``last_losses`` and log it on the batches that log (``zoo.log_cadence``)."""
        self.last_losses.update(logged)
        if self.logs_this_batch:
            self.log_dict(logged, on_step=True, on_epoch=False)

    def log_update_counters(self) -> None:
        """Log ``train/d_steps`` and ``train/g_steps`` on the batches that log."""
        if not self.logs_this_batch:
            return
        self.log_dict(
            {"train/d_steps": float(self.d_steps), "train/g_steps": float(self.g_steps)},
            on_step=True,
            on_epoch=False,
        )

    # -------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["variant"] = type(self).__name__
        checkpoint["rng_states"] = rng_states()  # restored when training resumes, see on_train_start
        checkpoint["adversarial_counters"] = {
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "d_micro": self._micro_batch,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Another variant, image shape or net is refused before any state is restored; the other changed
        # hyperparameters hold (optimizer settings are applied to the restored optimizers in on_train_start).
        path = getattr(self._trainer, "ckpt_path", None) if self._trainer is not None else None
        self.resume_changes = resume.check_resume(self, checkpoint, f"checkpoint {path}" if path else "this checkpoint")
        self._rng_to_restore = checkpoint.get("rng_states")
        counters = checkpoint.get("adversarial_counters", {})
        self.d_steps = int(counters.get("d_steps", 0))
        self.g_steps = int(counters.get("g_steps", 0))
        self._micro_batch = int(counters.get("d_micro", 0)) % self.hparams.accumulate_grad_batches

    def _apply_resume_changes(self) -> None:
        """After a resume restored the optimizers: give them the model's learning rates and betas; log every
        hyperparameter that differs from the checkpoint's."""
        changes = self.__dict__.pop("resume_changes", None)
        if not changes or self._trainer is None:
            return
        kinds = {name: resume.resume_kind(name, self.resume_fixed_hparams) for name in changes}
        if "optimizer" in kinds.values():
            resume.apply_optimizer_settings(
                self.trainer.optimizers,
                [lr for _, lr in self.optimizer_parameters()],
                self.hparams.betas,
                [config.scheduler for config in self.trainer.lr_scheduler_configs],
                set_betas="betas" in changes,
            )
        self.__dict__["applied_resume_changes"] = changes
        rank_zero_info(f"Resumed {type(self).__name__} with changed hyperparameters: {resume.format_changes(changes)}.")

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls,
        checkpoint_path: str | Path | IO,
        map_location: Any = None,
        hparams_file: str | Path | None = None,
        strict: bool | None = None,
        weights_only: bool | None = True,
        **kwargs: Any,
    ) -> Any:
        """Lightning's ``load_from_checkpoint`` behind the zoo's loader: the file is read with
        ``zoo.checkpoints.read_checkpoint`` first (one clear error for missing, empty, corrupt, foreign or
        code-holding files; ``weights_only=True`` unless you pass ``False`` for a file you trust) and must hold
        this variant (``AdversarialModule.load_from_checkpoint`` loads whichever variant it holds)."""
        if isinstance(checkpoint_path, str | Path) and "://" not in str(checkpoint_path):
            checkpoint = checkpoints.read_checkpoint(checkpoint_path, weights_only=weights_only is not False)
            variant = checkpoints.get_variant(checkpoints.checkpoint_variant(checkpoint, checkpoint_path))
            del checkpoint
            if variant is not cls:
                if not issubclass(variant, cls):
                    raise ValueError(
                        f"checkpoint {checkpoint_path} holds a {variant.__name__}, not a {cls.__name__}: load it "
                        f"with {variant.__name__}.load_from_checkpoint or zoo.checkpoints.load_variant."
                    )
                cls = variant
        load = super(AdversarialModule, cls).load_from_checkpoint  # noqa: UP008  (Lightning's, on the variant)
        return load(checkpoint_path, map_location, hparams_file, strict, weights_only=weights_only, **kwargs)
