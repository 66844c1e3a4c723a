"""``gan_ddp``: DistributedDataParallel around each net instead of around the whole LightningModule.

One DDP wrapper around a module with two optimizers fails ("parameters that were not used in producing
the loss") unless ``find_unused_parameters=True``, which walks the autograd graph after every forward.
Here the LightningModule stays unwrapped and each child net (generator, discriminator, encoder, ...)
gets its own ``DistributedDataParallel(find_unused_parameters=False)``. A net is called through its
wrapper only during an update of the optimizer that trains it (``AdversarialModule.optimizer_update``, see
``zoo.models.ddp_nets``), so each backward reduces exactly the nets being trained and a frozen net's reducer
is never left primed; fakes a critic update makes with the (frozen) generator don't touch a reducer either.
Checkpoint keys are unchanged (the wrappers are not submodules), and the wrappers are dropped in ``teardown``.

Select it with ``Trainer(strategy="gan_ddp")`` (or ``"gan_ddp_spawn"``); it works with any launcher
Lightning's ``DDPStrategy`` supports (torchrun, SLURM, ``devices=N, num_nodes=M``).
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry


class GANDDPStrategy(DDPStrategy):
    """``DDPStrategy`` whose ``configure_ddp`` wraps each net of an ``AdversarialModule`` separately."""

    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        module = self.model
        if not hasattr(module, "wrap_networks"):
            raise TypeError(
                f"strategy 'gan_ddp' wraps the nets of an AdversarialModule; {type(module).__name__} is not one. "
                "Use strategy='ddp' for other modules."
            )
        if self._ddp_kwargs.get("find_unused_parameters"):
            raise ValueError("gan_ddp exists to avoid find_unused_parameters; use 'ddp_find_unused_parameters_true'.")
        module.wrap_networks(self._setup_model)

    def teardown(self) -> None:
        module = self.lightning_module
        if module is not None and hasattr(module, "unwrap_networks"):
            module.unwrap_networks()
        super().teardown()
        # Spawned workers leave through os._exit, so Lightning's atexit destroy_process_group never runs there and
        # gloo's threads can abort the worker at exit ("terminate called without an active exception").
        if self._start_method == "spawn" and torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()

    @classmethod
    def register_strategies(cls, strategy_registry: Any) -> None:
        if "gan_ddp" in strategy_registry:
            return
        strategy_registry.register(
            "gan_ddp", cls, description="DDP with one wrapper per GAN net", find_unused_parameters=False
        )
        strategy_registry.register(
            "gan_ddp_spawn",
            cls,
            description="gan_ddp launched by spawning processes",
            start_method="spawn",
            find_unused_parameters=False,
        )


GANDDPStrategy.register_strategies(StrategyRegistry)
