"""CycleGAN: Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
ICCV 2017 (arXiv 1703.10593).

Full objective, eq. (3):

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda L_cyc(G, F)

with the least-squares GAN loss of Section 4 ("Training details"): G minimizes E[(D_Y(G(x)) - 1)^2], D_Y
minimizes E[(D_Y(y) - 1)^2] + E[D_Y(G(x))^2] (halved while optimizing D), the cycle loss of eq. (2),
L_cyc = E||F(G(x)) - x||_1 + E||G(F(y)) - y||_1, and the identity loss of Section 5.2,
L_identity = E||G(y) - y||_1 + E||F(x) - x||_1, weighted 0.5 lambda as in the reference code.

Name map (paper -> here): X = domain A, Y = domain B;
    G: X -> Y   = ``generator``     (G_AB)      D_Y = ``discriminator``   (D_B, judges G's outputs)
    F: Y -> X   = ``generator_ba``  (G_BA)      D_X = ``discriminator_a`` (D_A, judges F's outputs)
``(generator, discriminator)`` are the A -> B pair every ``AdversarialModule`` has; ``forward(x)`` translates A -> B.

One training step = one batch (x, y) of unpaired images: a G/F update on L (D_X, D_Y frozen), then a D_X/D_Y
update on their least-squares losses, the fakes drawn from an image history of 50 (``zoo.image_pool``).

Paper defaults (Section 4, Appendix 7): ResNet generators (6 blocks at 128 px, 9 at 256 px;
``zoo.nets.resnet``), 70x70 PatchGAN discriminators (``zoo.nets.patchgan``), instance norm, lambda = 10,
identity weight 0.5 lambda, pool of 50, Adam(lr = 2e-4, betas = (0.5, 0.999)), batch size 1, the same
learning rate for 100 epochs then linear decay to zero over the next 100 (``constant_epochs``,
``decay_epochs``; the schedulers step once per epoch; the factor in the k-th decay epoch is
1 - k / (decay_epochs + 1), 0 after, as the reference code's ``linear`` policy).
Departures from the paper: none in the objective; ``width`` (the paper's 64), ``n_blocks`` and ``d_layers``
are exposed so tiny CPU runs can shrink the nets.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import torch
from torch import Tensor, nn

from zoo import losses
from zoo.image_pool import ImagePool
from zoo.losses_autoencoding import cycle_consistency, l1_reconstruction
from zoo.models.base import AdversarialModule
from zoo.nets.patchgan import PatchGANDiscriminator
from zoo.nets.resnet import ResNetGenerator
from zoo.registry import register_variant
from zoo.sampling import eval_mode
from zoo.validation import require_at_least, require_choice

DIRECTIONS = ("AtoB", "BtoA")
#: training images per domain the model keeps to draw translation grids
GRID_EXAMPLES = 8


def linear_decay(epoch: int, constant_epochs: int, decay_epochs: int) -> float:
    """LR factor for ``epoch`` (0-based), the reference code's ``linear`` rule with ``epoch_count = 1``,
    ``1 - max(0, epoch + 1 - constant_epochs) / (decay_epochs + 1)``, clamped at 0: 1 for epochs
    0 .. constant_epochs - 1, then 1 - k / (decay_epochs + 1) in the k-th decay epoch (k = 1 .. decay_epochs),
    and 0 from epoch ``constant_epochs + decay_epochs`` on (``decay_epochs = 0``: 1, then 0)."""
    return max(0.0, 1.0 - max(0, epoch + 1 - constant_epochs) / (decay_epochs + 1))


class _LinearDecay:
    """Picklable ``lr_lambda`` for ``LambdaLR`` (its state is saved with the scheduler)."""

    def __init__(self, constant_epochs: int, decay_epochs: int) -> None:
        self.constant_epochs = constant_epochs
        self.decay_epochs = decay_epochs

    def __call__(self, epoch: int) -> float:
        return linear_decay(epoch, self.constant_epochs, self.decay_epochs)


@register_variant
class CycleGAN(AdversarialModule):
    """CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGAN discriminators, LSGAN + cycle loss.

    Trains on batches ``(images_a, images_b)`` of unpaired images (``data_kind = "unpaired"``), e.g. from
    ``datamodules.UnpairedImageData`` or ``datamodules.FashionMNISTPairData``.

    Args:
        lambda_cycle: lambda of eq. (3).
        lambda_identity: identity loss weight as a fraction of lambda (0 disables it).
        pool_size: image history per discriminator (0 disables it).
        constant_epochs, decay_epochs: LR constant for the first, then linearly to zero over the second.
        n_blocks: residual blocks per generator (``None``: 6 below 256 px, 9 at 256 px and above).
        d_layers: PatchGAN stride-2 convs (3 = 70x70 patches).
        pool_seed: seeds the two image pools' random generators.
        latent_dim: ignored (CycleGAN has no prior); accepted only because checkpoints written before the base
            class was split record it (``latent_dim=100``).
        width, g_norm, d_norm, lr, lr_d, betas, ...: see ``AdversarialModule``.
    """

    data_kind = "unpaired"

    def __init__(
        self,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        constant_epochs: int = 100,
        decay_epochs: int = 100,
        n_blocks: int | None = None,
        d_layers: int = 3,
        pool_seed: int = 0,
        width: int = 64,
        g_norm: str = "instance",
        d_norm: str = "instance",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        latent_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        if lambda_cycle < 0 or lambda_identity < 0:
            raise ValueError(
                f"loss weights must be >= 0; got lambda_cycle={lambda_cycle}, lambda_identity={lambda_identity}."
            )
        require_at_least("pool_size", pool_size, 0, "Use 0 to disable the image history.")
        require_at_least("constant_epochs", constant_epochs, 0)
        require_at_least("decay_epochs", decay_epochs, 0)
        super().__init__(width=width, g_norm=g_norm, d_norm=d_norm, lr=lr, betas=betas, **kwargs)
        self.pool_a = ImagePool(pool_size, seed=pool_seed)  # history of F(y) for D_X
        self.pool_b = ImagePool(pool_size, seed=pool_seed + 1)  # history of G(x) for D_Y
        self._grid_inputs: dict[str, Tensor] = {}

    # ------------------------------------------------------------------ nets
    def make_networks(self, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
        hp = self.hparams
        if len(image_shape) != 3:
            raise ValueError(f"CycleGAN translates images (C, H, W); got image_shape={tuple(image_shape)}.")
        return (
            ResNetGenerator(image_shape, width=hp.width, n_blocks=hp.n_blocks, norm=hp.g_norm),
            PatchGANDiscriminator(image_shape, width=hp.width, n_layers=hp.d_layers, norm=hp.d_norm),
        )

    def build_networks(self, image_shape: Any) -> None:
        super().build_networks(image_shape)  # G (A -> B) and D_Y
        self.generator_ba, self.discriminator_a = self.make_networks(self.image_shape)  # F (B -> A) and D_X

    def translate(self, images: Tensor, direction: str = "AtoB") -> Tensor:
        """G(x) for ``AtoB``, F(y) for ``BtoA``."""
        require_choice("direction", direction, DIRECTIONS)
        return (self.generator if direction == "AtoB" else self.generator_ba)(images)

    def forward(self, images: Tensor) -> Tensor:
        """G(x): translate images of domain A to domain B."""
        return self.generator(images)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """CycleGAN has no prior over z: inputs for ``forward`` (G: A -> B) of the zoo's generic interface,
        ``forward(sample_z(n))``, are n uniform-noise images of ``image_shape`` in [-1, 1]."""
        device = generator.device if generator is not None else self.device
        noise = torch.rand(n, *self.image_shape, generator=generator, device=device)
        return (noise * 2 - 1).to(self.device)

    def generate(self, n: int) -> Tensor:
        raise ValueError(
            "CycleGAN translates images and has no prior to sample from: use translate(images, 'AtoB' | 'BtoA') "
            "or 'gan-zoo translate --ckpt ... --input DIR --direction AtoB --out DIR'."
        )

    # ------------------------------------------------------------ the losses
    def cycle_loss(self, real_a: Tensor, real_b: Tensor) -> Tensor:
        """lambda-free L_cyc(G, F) of eq. (2) for one batch."""
        forward, backward = cycle_consistency(
            real_a, self.generator_ba(self.generator(real_a)), real_b, self.generator(self.generator_ba(real_b))
        )
        return forward + backward

    def generator_losses(self, real_a: Tensor, real_b: Tensor) -> dict[str, Tensor]:
        """G and F's loss, eq. (3) plus the identity term; stores G(x), F(y) for the discriminator step."""
        hp = self.hparams
        fake_b = self.generator(real_a)  # G(x)
        fake_a = self.generator_ba(real_b)  # F(y)
        # LSGAN generator terms E[(D(G(x)) - 1)^2]; least_squares_g is 1/2 E[(D - 1)^2]
        gan_ab = 2.0 * losses.least_squares_g(self.discriminator(fake_b))
        gan_ba = 2.0 * losses.least_squares_g(self.discriminator_a(fake_a))
        cycle_a, cycle_b = cycle_consistency(  # eq. (2): F(G(x)) ~ x, G(F(y)) ~ y
            real_a, self.generator_ba(fake_b), real_b, self.generator(fake_a)
        )
        cycle = cycle_a + cycle_b
        loss = gan_ab + gan_ba + hp.lambda_cycle * cycle
        out = {"gan_ab": gan_ab, "gan_ba": gan_ba, "cycle": cycle}
        if hp.lambda_identity > 0:  # Section 5.2: G(y) ~ y, F(x) ~ x
            identity = l1_reconstruction(real_b, self.generator(real_b)) + l1_reconstruction(
                real_a, self.generator_ba(real_a)
            )
            loss = loss + hp.lambda_identity * hp.lambda_cycle * identity
            out["identity"] = identity
        self._fakes = (fake_a.detach(), fake_b.detach())
        return {"loss": loss, **out}

    def discriminator_losses(self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor) -> dict[str, Tensor]:
        """D_X and D_Y least-squares losses (halved, Section 4) on real images and pooled fakes."""
        d_b = losses.least_squares_d(self.discriminator(real_b), self.discriminator(fake_b))
        d_a = losses.least_squares_d(self.discriminator_a(real_a), self.discriminator_a(fake_a))
        return {"loss": d_a + d_b, "d_a": d_a, "d_b": d_b}

    # ---------------------------------------------------------------- training
    def optimizer_parameters(self) -> list[tuple[Any, float]]:
        hp = self.hparams
        return [
            (chain(self.generator.parameters(), self.generator_ba.parameters()), hp.lr),  # G and F
            (chain(self.discriminator.parameters(), self.discriminator_a.parameters()), hp.lr_d or hp.lr),  # D_Y, D_X
        ]

    def make_schedulers(self, optimizers: list[Any]) -> list[Any]:
        """Constant for ``constant_epochs``, then linear decay (``linear_decay``), stepped once per epoch."""
        schedule = _LinearDecay(self.hparams.constant_epochs, self.hparams.decay_epochs)
        return [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in optimizers]

    def unpaired_from_batch(self, batch: Any) -> tuple[Tensor, Tensor]:
        """(images_a, images_b) of a batch; extra entries (labels) are ignored."""
        if not isinstance(batch, list | tuple) or len(batch) < 2 or not all(torch.is_tensor(t) for t in batch[:2]):
            raise ValueError(
                "CycleGAN trains on unpaired batches (images_a, images_b), e.g. from datamodules.UnpairedImageData "
                f"or datamodules.FashionMNISTPairData; got {type(batch).__name__}."
            )
        return batch[0], batch[1]

    def generator_step(
        self, real_a: Tensor, real_b: Tensor, first: bool = True, last: bool = True
    ) -> dict[str, Tensor]:
        """One G/F update (D_X and D_Y frozen by the optimizer toggle)."""
        opt_g, _ = self.optimizers()
        return self.optimizer_update(opt_g, lambda: self.generator_losses(real_a, real_b), first, last)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real_a, real_b = self.unpaired_from_batch(batch)
        self._remember_examples(real_a, real_b)
        _, opt_d = self.optimizers()
        first, last = self.accumulation_window()
        g_out = self.generator_step(real_a, real_b, first, last)
        fake_a, fake_b = self._fakes
        fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)  # image history, 50 each
        d_out = self.optimizer_update(
            opt_d, lambda: self.discriminator_losses(real_a, real_b, fake_a, fake_b), first, last
        )
        self.advance_micro_batch()
        self.log_losses("g", g_out)
        self.log_losses("d", d_out)
        if not last:
            return
        self.count_generator_update()
        self.count_discriminator_update()
        self.log_update_counters()

    # -------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["image_pools"] = {"a": self.pool_a.state_dict(), "b": self.pool_b.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        pools = checkpoint.get("image_pools")
        if pools is not None:
            self.pool_a.load_state_dict(pools["a"])
            self.pool_b.load_state_dict(pools["b"])

    # ------------------------------------------------------------ sample grids
    def _remember_examples(self, real_a: Tensor, real_b: Tensor) -> None:
        for key, images in (("a", real_a), ("b", real_b)):
            held = self._grid_inputs.get(key)
            count = 0 if held is None else len(held)
            if count < GRID_EXAMPLES:
                new = images[: GRID_EXAMPLES - count].detach().clone()
                self._grid_inputs[key] = new if held is None else torch.cat([held, new])

    def grid_images(self, n: int, generator: torch.Generator | None = None, nrow: int = 8) -> Tensor:
        """Images for ``SampleGrid``: rows x, G(x), F(G(x)), then y, F(y), G(F(y)) for training images seen."""
        if "a" not in self._grid_inputs or "b" not in self._grid_inputs:
            raise ValueError(
                "CycleGAN draws its grid from training images it has seen; none yet. For a checkpoint use "
                "'gan-zoo translate --ckpt ... --input DIR --direction AtoB --out DIR'."
            )
        k = min(nrow, max(1, n // 6), len(self._grid_inputs["a"]), len(self._grid_inputs["b"]))
        with eval_mode(self), torch.no_grad():
            a = self._grid_inputs["a"][:k].to(self.device)
            b = self._grid_inputs["b"][:k].to(self.device)
            fake_b, fake_a = self.generator(a), self.generator_ba(b)
            rows = [a, fake_b, self.generator_ba(fake_b), b, fake_a, self.generator(fake_a)]
        if k < nrow:  # keep one kind of image per grid row: pad short rows with white
            rows = [torch.cat([row, row.new_ones(nrow - k, *row.shape[1:])]) for row in rows]
        return torch.cat(rows)
