"""Registry-wide mechanics: every registered variant is tested here by being registered."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import OptimizerSpy, tiny_data, tiny_model
from zoo import get_variant, list_variants
from zoo.checkpoints import load_variant
from zoo.models.latent_prior import LatentPrior

VARIANTS = list_variants()


def has_n_critic(name: str) -> bool:
    return "n_critic" in get_variant(name)(**{"latent_dim": 8, "width": 8}).hparams


def has_latent_prior(name: str) -> bool:
    """Whether the variant samples z ~ N(0, I) (CycleGAN has no prior: it accepts latent_dim only as a legacy key)."""
    return issubclass(get_variant(name), LatentPrior)


BAD_HYPERPARAMETERS = [{"lr": 0.0}, {"lr": -1e-3}, {"latent_dim": 0}]


@pytest.mark.parametrize("name", VARIANTS)
def test_updates_touch_only_their_own_net(name, fashion_dir, tmp_path):
    spy = OptimizerSpy()
    model = tiny_model(name)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=6, callbacks=[spy])
    trainer.fit(model, tiny_data(name, fashion_dir))
    assert spy.violations == []
    assert all(s > 0 for s in spy.steps), spy.steps
    assert spy.moved == spy.steps  # every step moved its own parameters


@pytest.mark.parametrize("name", [v for v in VARIANTS if has_n_critic(v)])
@pytest.mark.parametrize("n_critic, batches", [(1, 4), (3, 7)])
def test_n_critic_schedule(name, n_critic, batches, fashion_dir, tmp_path):
    spy = OptimizerSpy()
    model = tiny_model(name, n_critic=n_critic)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=batches, callbacks=[spy])
    trainer.fit(model, tiny_data(name, fashion_dir))
    assert model.d_steps == batches
    assert model.g_steps == batches // n_critic
    assert spy.steps == [batches // n_critic, batches]  # optimizers: generator first, then discriminator
    assert trainer.global_step == batches + batches // n_critic


@pytest.mark.parametrize("name", VARIANTS)
def test_checkpoint_round_trip(name, fashion_dir, tmp_path):
    model = tiny_model(name)
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=3)
    trainer.fit(model, tiny_data(name, fashion_dir))
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    z = model.sample_z(6, generator=torch.Generator().manual_seed(0))
    model.eval()
    expected = model(z)
    for loaded in (get_variant(name).load_from_checkpoint(path, weights_only=True), load_variant(path)):
        loaded.eval()
        assert type(loaded) is type(model)
        assert torch.equal(loaded(z), expected)
    assert (load_variant(path).d_steps, load_variant(path).g_steps) == (model.d_steps, model.g_steps)


@pytest.mark.parametrize("name", VARIANTS)
def test_channel_mismatch_is_refused_before_training(name, fashion_dir, tmp_path):
    model = tiny_model(name, image_shape=(3, 28, 28))
    with pytest.raises(ValueError, match="drop image_shape"):
        tiny_trainer(tmp_path, max_steps=2).fit(model, tiny_data(name, fashion_dir))


@pytest.mark.parametrize(
    "name, bad",
    [(n, b) for b in BAD_HYPERPARAMETERS for n in VARIANTS if "latent_dim" not in b or has_latent_prior(n)],
)
def test_bad_hyperparameters_are_refused(name, bad):
    with pytest.raises(ValueError, match="must be"):
        tiny_model(name, **bad)


def flat_params(net) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).clone() for p in net.parameters()])


@pytest.mark.parametrize("clip, bounded", [(1e-3, True), (None, False)])
def test_gradient_clipping_by_the_base_class(clip, bounded, fashion_dir, tmp_path):
    """SGD's first step moves parameters by lr * grad: clipped to norm 1e-3 it moves them by at most 1e-3."""
    model = tiny_model("GAN", optimizer="sgd", lr=1.0, betas=(0.0, 0.999), grad_clip_val=clip, image_shape=(1, 28, 28))
    before = flat_params(model.discriminator)
    tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1).fit(model, tiny_data("GAN", fashion_dir))
    moved = (flat_params(model.discriminator) - before).norm().item()
    assert (moved <= 1e-3 * 1.0001) == bounded, moved


def test_gradient_accumulation_by_the_base_class(fashion_dir, tmp_path):
    spy = OptimizerSpy()
    model = tiny_model("GAN", accumulate_grad_batches=3)
    calls = {"g": 0}
    original = model.generator_loss

    def counting_generator_loss(batch_size):
        calls["g"] += 1
        return original(batch_size)

    model.generator_loss = counting_generator_loss
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=7, callbacks=[spy])
    trainer.fit(model, tiny_data("GAN", fashion_dir))
    assert (model.d_steps, model.g_steps) == (2, 2)  # 7 batches = 2 full accumulations of 3 (+1 pending)
    assert spy.steps == [2, 2] and spy.violations == []
    assert calls["g"] == 6  # each generator update accumulates 3 micro-batches of its own
