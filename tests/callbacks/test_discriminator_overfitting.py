"""``DiscriminatorOverfitting``: Karras et al. 2020's r_v and r_t (eq. 1) against hand-computed values, a memorizing
discriminator read as r_v = 1 and a fair one as r_v = 0, identical draws for the training and held-out sets, a
training run left bit-identical, and errors that name the fix."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from callbacks.discriminator_overfitting import DiscriminatorOverfitting, overfitting_measures, scores_in_batches
from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model


def test_measures_match_eq_1_computed_by_hand():
    d_train = torch.tensor([2.0, 1.0, -1.0, 2.0])  # mean 1.0, signs +,+,-,+ -> r_t 0.5
    d_held_out = torch.tensor([0.5, -0.5, -1.0, 1.0])  # mean 0.0, signs +,-,-,+ -> 0.0
    d_fake = torch.tensor([-3.0, -1.0, -2.0, -2.0])  # mean -2.0
    m = overfitting_measures(d_train, d_held_out, d_fake)
    assert m["d_train"] == 1.0 and m["d_held_out"] == 0.0 and m["d_fake"] == -2.0
    assert m["r_v"] == pytest.approx((1.0 - 0.0) / (1.0 - -2.0))  # 1/3
    assert m["r_t"] == 0.5 and m["r_t_held_out"] == 0.0
    assert m["real_rate_train"] == 0.75 and m["real_rate_held_out"] == 0.5


def test_r_v_reads_the_same_for_any_affine_rescaling_or_sign_flip_of_d():
    g = torch.Generator().manual_seed(0)
    a, b, c = torch.randn(50, generator=g) + 1, torch.randn(50, generator=g), torch.randn(50, generator=g) - 2
    r_v = overfitting_measures(a, b, c)["r_v"]
    assert abs(r_v) > 0.0
    for scale, shift in ((3.0, 1.0), (-0.5, 4.0)):
        assert overfitting_measures(scale * a + shift, scale * b + shift, scale * c + shift)["r_v"] == pytest.approx(
            r_v
        )


class LookupDiscriminator(nn.Module):
    """+1 on the images it has memorized, -1 on any other: the extreme of overfitting."""

    def __init__(self, memorized: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("memorized", memorized.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hit = (x.flatten(1)[:, None] == self.memorized[None]).all(dim=2).any(dim=1)
        return (hit.float() * 2 - 1)[:, None]


class PixelMeanDiscriminator(nn.Module):
    """A score of the image's content only (its mean pixel, batch-normalized in training mode, augmented by a
    random shift when augment=True): the same distribution gets the same scores, whichever split an image is in."""

    def __init__(self, augment: bool = False) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(1)
        self.augment = augment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.augment:
            x = x + torch.rand(len(x), 1, 1, 1)  # a draw from the global RNG per call, as DiffAugment's T
        return self.norm(x.mean(dim=(1, 2, 3))[:, None])


class FakeModule(nn.Module):
    """The parts of a zoo model the callback reads: generator, discriminator, sample_z, counters, device."""

    def __init__(self, discriminator: nn.Module, latent_dim: int = 4) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.generator = nn.Sequential(nn.Linear(latent_dim, 2 * 4 * 4), nn.Unflatten(1, (2, 4, 4)), nn.Tanh())
        self.latent_dim, self.d_steps, self.g_steps = latent_dim, 7, 3

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator)


def images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 2, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def measured(discriminator: nn.Module, train: torch.Tensor, held_out: torch.Tensor) -> dict[str, float]:
    callback = DiscriminatorOverfitting(n=len(train), batch_size=8, train_images=train, held_out_images=held_out)
    return callback.measure(FakeModule(discriminator), d_steps=7)


def test_a_memorizing_discriminator_reads_r_v_1_and_a_fair_one_near_0():
    train, held_out = images(32, 0), images(32, 1)
    memorizer = measured(LookupDiscriminator(train), train, held_out)
    assert memorizer["r_v"] == 1.0 and memorizer["r_t"] == 1.0 and memorizer["r_t_held_out"] == -1.0
    assert memorizer["real_rate_train"] == 1.0 and memorizer["real_rate_held_out"] == 0.0
    assert memorizer["d_steps"] == 7 and memorizer["g_steps"] == 3
    # identical sets: any D that scores content only scores them identically (the same batches, the same draws)
    same = measured(PixelMeanDiscriminator(augment=True), train, train.clone())
    assert same["d_train"] == same["d_held_out"] and same["r_v"] == 0.0


def test_every_set_is_scored_with_the_same_draws_in_training_mode_batches():
    torch.manual_seed(0)
    d = PixelMeanDiscriminator(augment=True).train()
    x = images(24, 2)
    a, b = scores_in_batches(d, x, 8, seed=5), scores_in_batches(d, x, 8, seed=5)
    assert torch.equal(a, b)
    assert not torch.equal(a, scores_in_batches(d, x, 8, seed=6))  # the draw matters, so reseeding is what ties
    # batch statistics of batches of 8 (training mode): each batch of scores has mean ~0
    assert torch.allclose(a.view(3, 8).mean(dim=1), torch.zeros(3), atol=1e-5)
    # the callback scores in training mode even when the model's D sits in eval mode (fresh running stats would
    # leave these bright images' mean pixel, ~0.5, in the scores)
    bright = images(16, 3) * 0.5 + 0.5
    module = FakeModule(PixelMeanDiscriminator().eval())
    row = DiscriminatorOverfitting(n=16, batch_size=8, train_images=bright, held_out_images=bright).measure(module, 7)
    assert abs(row["d_train"]) < 1e-5 and abs(row["d_held_out"]) < 1e-5
    assert not module.discriminator.training  # the model's own D keeps its mode


def test_measuring_leaves_the_models_nets_buffers_and_rng_untouched():
    module = FakeModule(PixelMeanDiscriminator(augment=True))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    torch.manual_seed(123)
    rng = torch.random.get_rng_state()
    callback = DiscriminatorOverfitting(n=16, batch_size=8, train_images=images(16, 0), held_out_images=images(16, 1))
    callback.measure(module, d_steps=7)
    assert torch.equal(torch.random.get_rng_state(), rng)
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # batch norm's running stats included
    assert callback.measure(module, d_steps=7) is None and len(callback.history) == 1  # once per D step


def train(tmp_path, fashion_dir, callbacks=(), **model_kwargs):
    L.seed_everything(0, verbose=False)
    model, data = tiny_model("GAN", **model_kwargs), tiny_data("GAN", fashion_dir)
    trainer = tiny_trainer(tmp_path, max_steps=-1, limit_train_batches=6, max_epochs=1, callbacks=list(callbacks))
    trainer.fit(model, data)
    return model


@pytest.mark.parametrize("diffaugment", [None, "translation"])
def test_a_run_with_the_callback_trains_bit_identically_and_logs_every_measurement(tmp_path, fashion_dir, diffaugment):
    plain = train(tmp_path / "plain", fashion_dir, diffaugment=diffaugment)
    callback = DiscriminatorOverfitting(every=2, n=16)
    probed = train(tmp_path / "probed", fashion_dir, [callback], diffaugment=diffaugment)
    assert [h["d_steps"] for h in callback.history] == [2, 4, 6]
    assert callback.batch_size == 8  # the datamodule's, as D trains on
    assert len(callback.train_images) == 16 and not torch.equal(callback.train_images, callback.held_out_images)
    for a, b in ((plain.generator, probed.generator), (plain.discriminator, probed.discriminator)):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert {"overfit/r_v", "overfit/r_t"} <= set(probed.trainer.callback_metrics)


class TwoHeads(nn.Module):
    """A discriminator with a second head (InfoGAN's D and Q)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.mean(dim=(1, 2, 3)), x


def test_errors_name_the_fix(tmp_path, fashion_dir):
    with pytest.raises(ValueError, match="every must be >= 1"):
        DiscriminatorOverfitting(every=0)
    autoencoder = nn.Sequential(nn.Identity())  # returns the image: many values per image
    with pytest.raises(ValueError, match="one score per image.*BEGAN or EBGAN"):
        measured(autoencoder, images(8, 0), images(8, 1))
    with pytest.raises(ValueError, match="several heads"):
        measured(TwoHeads(), images(8, 0), images(8, 1))
    with pytest.raises(ValueError, match=r"also takes the class \(D\(x, y\)\)"):
        tiny_trainer(tmp_path, max_steps=1, callbacks=[DiscriminatorOverfitting()]).fit(
            tiny_model("CGAN"), tiny_data("CGAN", fashion_dir)
        )
    model = tiny_model("GAN", image_shape=(1, 28, 28))
    trainer = tiny_trainer(tmp_path, max_steps=1, callbacks=[DiscriminatorOverfitting()])
    batch = (torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match="pass train_images= and held_out_images="):
        trainer.fit(model, train_dataloaders=[batch])


def test_a_resumed_run_keeps_the_measurements_before_the_stop(tmp_path, fashion_dir):
    from callbacks.checkpoint import ZooCheckpoint

    def fit(root, max_steps, ckpt_path=None):
        L.seed_everything(0, verbose=False)
        callback = DiscriminatorOverfitting(every=1, n=16)
        callbacks = [callback, ZooCheckpoint(every_n_train_steps=2, dirpath=str(root / "ckpt"))]
        trainer = tiny_trainer(root, max_steps=max_steps, enable_checkpointing=True, callbacks=callbacks)
        trainer.fit(tiny_model("GAN"), tiny_data("GAN", fashion_dir), ckpt_path=ckpt_path)
        return callback.history

    whole = fit(tmp_path / "whole", 12)
    fit(tmp_path / "cut", 6)  # stops at D step 3 and saves last.ckpt with the 3 measurements
    resumed = fit(tmp_path / "cut", 12, ckpt_path=str(tmp_path / "cut" / "ckpt" / "last.ckpt"))
    assert [row["d_steps"] for row in whole] == [1, 2, 3, 4, 5, 6]
    assert resumed == whole  # the rows before the stop restored, the rows after it measured as uninterrupted
