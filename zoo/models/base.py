"""``AdversarialModule``: the manual-optimization mechanics shared by every variant.

A variant chooses parts (nets, objective, regularizer, optimizer settings, critic steps) by implementing
``discriminator_loss(real)`` and ``generator_loss(batch_size)``; this class owns everything else:

* one ``training_step`` = one critic update on one fresh real batch; the generator steps after every
  ``n_critic``-th critic update (Arjovsky et al. 2017, Algorithm 1; Goodfellow et al. 2014, Algorithm 1
  with k = n_critic), with our own ``d_steps`` / ``g_steps`` counters saved in checkpoints
  (``trainer.global_step`` counts every optimizer step of both optimizers);
* each update runs inside ``toggled_optimizer`` (the other net's parameters are frozen), with
  ``manual_backward``, optional gradient-norm clipping and gradient accumulation (the Trainer's own flags
  are disabled under manual optimization), then ``step``;
* nets are sized from the datamodule's ``image_shape`` in ``setup()`` when none is given, and the shape
  is recorded in the hyperparameters so ``load_from_checkpoint`` rebuilds the same nets;
* LR schedulers are stepped by hand, per generator iteration or per epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from zoo import nets
from zoo.rng import rng_states, set_rng_states
from zoo.validation import require_at_least, require_choice, require_positive

OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULER_INTERVALS = ("epoch", "g_step")


class AdversarialModule(L.LightningModule):
    """Base class of every variant: one generator, one discriminator, manual optimization.

    Args:
        image_shape: (C, H, W) for images or (D,) for vectors; ``None`` takes it from the datamodule.
        latent_dim: size of z ~ N(0, I).
        width: DCGAN base channels, or MLP hidden units for vector data.
        g_norm, d_norm: normalization in G and D (``batch``, ``instance``, ``layer``, ``none``).
        optimizer: ``adam``, ``rmsprop`` or ``sgd`` (momentum = betas[0]) for both nets.
        lr: generator learning rate; ``lr_d`` the discriminator's (defaults to ``lr``).
        betas: Adam betas.
        n_critic: discriminator updates per generator update.
        grad_clip_val: clip each update's gradient norm to this value (``None``: off).
        accumulate_grad_batches: real batches accumulated into one discriminator update; the generator
            accumulates as many of its own batches.
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        latent_dim: int = 100,
        width: int = 64,
        g_norm: str = "batch",
        d_norm: str = "batch",
        optimizer: str = "adam",
        lr: float = 2e-4,
        lr_d: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        grad_clip_val: float | None = None,
        accumulate_grad_batches: int = 1,
        compile: bool | str = False,
    ) -> None:
        super().__init__()
        require_at_least("latent_dim", latent_dim, 1, "z needs at least one dimension.")
        require_positive("lr", lr, "Pass a positive learning rate, e.g. lr=2e-4.")
        if lr_d is not None:
            require_positive("lr_d", lr_d, "Pass a positive learning rate, or None to reuse lr.")
        require_at_least("n_critic", n_critic, 1, "Use n_critic=1 to alternate one D and one G update.")
        require_at_least("accumulate_grad_batches", accumulate_grad_batches, 1)
        require_choice("optimizer", optimizer, OPTIMIZERS)
        if grad_clip_val is not None:
            require_positive("grad_clip_val", grad_clip_val, "Use None to disable clipping.")
        if image_shape is not None:
            image_shape = [int(s) for s in image_shape]
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator: nn.Module | None = None
        self.discriminator: nn.Module | None = None
        self.d_steps = 0
        self.g_steps = 0
        self._d_micro = 0
        self.last_losses: dict[str, Tensor] = {}  # this step's logged loss terms (read by DivergenceGuard)
        if image_shape is not None:
            self.build_networks(image_shape)

    # ------------------------------------------------------------------ nets
    @property
    def image_shape(self) -> tuple[int, ...] | None:
        shape = self.hparams.get("image_shape")
        return None if shape is None else tuple(shape)

    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        """Generator and discriminator for ``image_shape``. Override to change architectures."""
        hp = self.hparams
        return nets.build_pair(image_shape, hp.latent_dim, hp.width, hp.g_norm, hp.d_norm)

    def check_networks(self) -> None:
        """Hook for variants to refuse nets their paper rules out (e.g. batch norm in a WGAN-GP critic)."""

    def build_networks(self, image_shape: Sequence[int]) -> None:
        shape = tuple(int(s) for s in image_shape)
        self.hparams["image_shape"] = list(shape)
        self.generator, self.discriminator = self.make_networks(shape)
        self.check_networks()

    # ------------------------------------------------------- per-net DDP wrappers
    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap every child net that has parameters (used by the ``gan_ddp`` strategy).

        The wrappers are kept outside ``_modules``: state dicts and checkpoints keep their plain keys.
        """
        self.__dict__["_net_wrappers"] = {
            name: wrap(child) for name, child in self.named_children() if any(True for _ in child.parameters())
        }

    def unwrap_networks(self) -> None:
        self.__dict__["_net_wrappers"] = {}

    def __getattr__(self, name: str) -> Any:
        # A wrapped net is reached through its DDP wrapper only while it is being trained (its parameters
        # require grad under the toggled optimizer): a frozen net's reducer is never primed.
        wrappers = self.__dict__.get("_net_wrappers")
        if wrappers and name in wrappers:
            net = super().__getattr__(name)
            if next(net.parameters()).requires_grad and torch.is_grad_enabled():
                return wrappers[name]
            return net
        return super().__getattr__(name)

    def _set_gradient_sync(self, enabled: bool) -> None:
        """Skip the all-reduce on accumulation micro-batches (DDP ``no_sync`` for every wrapper)."""
        for wrapper in self.__dict__.get("_net_wrappers", {}).values():
            wrapper.require_backward_grad_sync = enabled

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
        self._compile_networks()

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

    # ---------------------------------------------------------------- sampling
    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n latent codes z ~ N(0, I) on the module's device (``generator`` seeds them reproducibly)."""
        device = generator.device if generator is not None else self.device
        return torch.randn(n, self.hparams.latent_dim, generator=generator, device=device).to(self.device)

    def forward(self, z: Tensor) -> Tensor:
        return self.generator(z)

    def generate(self, n: int) -> Tensor:
        """n samples G(z) with fresh z (gradients flow unless the caller disables them)."""
        return self.generator(self.sample_z(n))

    # -------------------------------------------------------- variant interface
    def discriminator_loss(self, real: Tensor) -> dict[str, Tensor]:
        """Loss dict for one critic update on ``real``; key ``loss`` is minimized, the rest are logged."""
        raise NotImplementedError

    def generator_loss(self, batch_size: int) -> dict[str, Tensor]:
        """Loss dict for one generator update on ``batch_size`` fresh samples."""
        raise NotImplementedError

    def after_discriminator_step(self) -> None:
        """Hook run after every critic ``step()`` (WGAN clips weights here)."""

    # --------------------------------------------------------------- optimizers
    def make_optimizer(self, params: Any, lr: float) -> Optimizer:
        hp = self.hparams
        if hp.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=tuple(hp.betas))
        if hp.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.SGD(params, lr=lr, momentum=hp.betas[0])

    def make_schedulers(self, optimizers: list[Optimizer]) -> list[Any]:
        """LR schedulers, stepped by hand every ``scheduler_interval``; none by default."""
        return []

    #: when the base class steps the schedulers: once per ``epoch`` or after every generator update
    scheduler_interval: str = "epoch"

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizers = [
            self.make_optimizer(self.generator.parameters(), hp.lr),
            self.make_optimizer(self.discriminator.parameters(), hp.lr_d or hp.lr),
        ]
        schedulers = self.make_schedulers(optimizers)
        return (optimizers, schedulers) if schedulers else optimizers

    # ------------------------------------------------------------------ training
    def real_from_batch(self, batch: Any) -> Tensor:
        """The real samples of a batch: datamodules yield (samples, labels); bare tensors work too."""
        return batch[0] if isinstance(batch, list | tuple) else batch

    def optimizer_update(
        self, optimizer: Any, compute_loss: Callable[[], dict[str, Tensor]], first: bool, last: bool
    ) -> dict[str, Tensor]:
        """One micro-batch of an update: only ``optimizer``'s parameters get gradients.

        ``first`` zeroes the gradients, ``last`` clips and steps; in between, gradients accumulate.
        """
        with self.toggled_optimizer(optimizer):
            if first:
                optimizer.zero_grad(set_to_none=True)
            if self.hparams.accumulate_grad_batches > 1:
                self._set_gradient_sync(last)
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

    def training_step(self, batch: Any, batch_idx: int) -> None:
        self.last_losses = {}
        real = self.real_from_batch(batch)
        opt_g, opt_d = self.optimizers()
        accumulate = self.hparams.accumulate_grad_batches
        first, last = self._d_micro == 0, self._d_micro == accumulate - 1
        d_out = self.optimizer_update(opt_d, lambda: self.discriminator_loss(real), first, last)
        self._d_micro = (self._d_micro + 1) % accumulate
        self._log_losses("d", d_out)
        if not last:
            return
        self.d_steps += 1
        self.after_discriminator_step()
        if self.d_steps % self.hparams.n_critic == 0:
            for i in range(accumulate):
                g_out = self.optimizer_update(
                    opt_g, lambda: self.generator_loss(len(real)), i == 0, i == accumulate - 1
                )
            self.g_steps += 1
            self._log_losses("g", g_out)
            if self.scheduler_interval == "g_step":
                self._step_schedulers()
        self.log_dict(
            {"train/d_steps": float(self.d_steps), "train/g_steps": float(self.g_steps)},
            on_step=True,
            on_epoch=False,
        )

    def on_train_start(self) -> None:
        # Resuming: continue the global RNG streams (z, interpolation weights, ...) where the checkpoint
        # left them, so the resumed run equals an uninterrupted one. Loading a model for inference never
        # reaches this hook, so it leaves the caller's RNG alone.
        states = self.__dict__.pop("_rng_to_restore", None)
        if states is not None:
            set_rng_states(states)

    def on_train_epoch_end(self) -> None:
        if self.scheduler_interval == "epoch":
            self._step_schedulers()

    def _step_schedulers(self) -> None:
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    def _log_losses(self, net: str, out: dict[str, Tensor]) -> None:
        logged = {f"train/{net}_loss": out["loss"].detach()}
        logged.update({f"train/{k}": v.detach() for k, v in out.items() if k != "loss"})
        self.last_losses.update(logged)
        self.log_dict(logged, prog_bar=False, on_step=True, on_epoch=False)
        self.log(f"{net}_loss", logged[f"train/{net}_loss"], prog_bar=True, logger=False)

    # -------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["variant"] = type(self).__name__
        checkpoint["rng_states"] = rng_states()  # restored when training resumes, see on_train_start
        checkpoint["adversarial_counters"] = {
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "d_micro": self._d_micro,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        variant = checkpoint.get("variant", type(self).__name__)
        if variant != type(self).__name__:
            raise ValueError(
                f"this checkpoint holds a {variant}, not a {type(self).__name__}: load it with "
                f"{variant}.load_from_checkpoint or zoo.checkpoints.load_variant."
            )
        saved_shape = checkpoint.get("hyper_parameters", {}).get("image_shape")
        if saved_shape is not None and self.image_shape is not None and tuple(saved_shape) != self.image_shape:
            raise ValueError(
                f"this checkpoint was trained on image_shape={tuple(saved_shape)} but the model is built for "
                f"{self.image_shape}: resume with data of the checkpoint's shape."
            )
        self._rng_to_restore = checkpoint.get("rng_states")
        counters = checkpoint.get("adversarial_counters", {})
        self.d_steps = int(counters.get("d_steps", 0))
        self.g_steps = int(counters.get("g_steps", 0))
        self._d_micro = int(counters.get("d_micro", 0))
