"""The options every variant takes from ``AdversarialModule``: generator EMA and differentiable augmentation.

They are parts of the base class, never edits to a variant file (DESIGN.md):

* **Generator EMA** (``ema_decay``, ``ema_start``, ``ema_rampup``; ``zoo.ema``, Yazıcı et al. 2019): the base
  keeps ``generator_ema``, a frozen copy of ``generator`` registered as a child net, so it is saved in every
  checkpoint (resume stays exact, ``load_from_checkpoint`` restores it) but belongs to no optimizer and gets no
  DDP wrapper. It is updated once per *generator* update (``count_generator_update``), never per batch or per
  ``global_step`` (which counts the critic's steps too); the discriminator is never averaged. Batch-norm buffers
  are copied from the generator (see ``zoo.ema``).

  Why not ``lightning.pytorch.callbacks.EMAWeightAveraging``: it averages the whole LightningModule (G and D)
  through one ``AveragedModel``; it updates on ``trainer.global_step``, which with two optimizers advances on
  critic steps too and cannot tell whether the generator stepped (n_critic > 1, accumulation); its decay is fixed
  (no warm-up); it replaces the checkpoint's ``state_dict`` with the averaged weights (moving the trained ones to
  ``current_model_state``) and copies the average over the trained weights when training ends, so a checkpoint
  no longer holds both; and it averages buffers rather than copying them. Making it average only G per G step
  would mean overriding its setup, update, swap and checkpoint hooks, i.e. all of it. A child net plus
  ``zoo.ema.update_ema`` (about twenty lines) does the job.

* **DiffAugment** (``diffaugment``: a policy such as ``"color,translation,cutout"``; ``zoo.diffaugment``, Zhao et
  al. 2020): T is attached in front of every discriminator net (children named ``discriminator*``) as a forward
  pre-hook, so every discriminator call in training, in the critic update on real and fake batches, in the
  generator update on G(z), and inside penalties, sees T(x) with fresh random parameters. Refused for vector
  data and for autoencoder discriminators (BEGAN, EBGAN), whose loss compares D's output with its input.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from zoo import ema
from zoo.diffaugment import DiffAugment, attach

#: children named like this are discriminators (``discriminator``, CycleGAN's ``discriminator_a``)
DISCRIMINATOR_PREFIX = "discriminator"


def build_generator_ema(module: Any) -> None:
    """Give ``module`` its ``generator_ema`` (a frozen copy of ``generator``) when ``ema_decay`` is set."""
    if module.hparams.get("ema_decay") is not None:
        module.generator_ema = ema.make_ema_copy(module.generator)


def step_generator_ema(module: Any) -> None:
    """After generator update number ``module.g_steps``: move ``generator_ema`` towards ``generator``."""
    averaged = getattr(module, "generator_ema", None)
    if averaged is None:
        return
    hp = module.hparams
    beta = ema.ema_beta(module.g_steps, float(hp.ema_decay), int(hp.get("ema_start", 0)), hp.get("ema_rampup", False))
    ema.update_ema(averaged, module.generator, beta)


def discriminator_nets(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """The module's discriminator nets, by child name."""
    return [(name, net) for name, net in module.named_children() if name.startswith(DISCRIMINATOR_PREFIX)]


def attach_diffaugment(module: Any) -> None:
    """Put DiffAugment's T in front of every discriminator of ``module`` (once) when ``diffaugment`` is set."""
    policy = module.hparams.get("diffaugment")
    if not policy or module.__dict__.get("_diffaugment_handles"):
        return
    shape = module.image_shape
    name = type(module).__name__
    if shape is None or len(shape) != 3:
        raise ValueError(
            f"{name}: diffaugment={policy!r} augments images (C, H, W), but the data is {shape}: drop diffaugment."
        )
    from zoo.nets.autoencoder import ConvAutoencoder, MLPAutoencoder

    nets = discriminator_nets(module)
    if any(isinstance(net, ConvAutoencoder | MLPAutoencoder) for _, net in nets):
        raise ValueError(
            f"{name}: diffaugment={policy!r} cannot wrap an autoencoder discriminator: its loss compares D's "
            "reconstruction with the un-augmented input. Drop diffaugment for this variant."
        )
    augment = DiffAugment(policy)
    module.__dict__["_diffaugment"] = augment  # outside _modules: no state-dict entries
    module.__dict__["_diffaugment_handles"] = [attach(net, augment) for _, net in nets]
