"""Registry-wide mechanics: every registered variant is tested here by being registered."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import OptimizerSpy, tiny_data, tiny_model
from zoo import get_variant, list_variants
from zoo.checkpoints import load_variant

VARIANTS = list_variants()


def has_n_critic(name: str) -> bool:
    return "n_critic" in get_variant(name)(**{"latent_dim": 8, "width": 8}).hparams


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


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("bad", [{"lr": 0.0}, {"lr": -1e-3}, {"latent_dim": 0}])
def test_bad_hyperparameters_are_refused(name, bad):
    with pytest.raises(ValueError, match="must be"):
        tiny_model(name, **bad)
