"""``generator_z``: the z of a generator update. ``fresh`` (default) draws new z; ``critic`` reuses the z of the
critic update just before it, as Lucic et al. 2018's compare_gan does (``abstract_gan.py``,
``run_single_train_step``: the generator step is fed the discriminator step's ``batch_z``). Checked on every
registered noise -> image variant by watching what G is fed and how often z is drawn."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from tests.conftest import tiny_trainer
from tests.zoo.variant_harness import tiny_data, tiny_model
from zoo import GAN, list_variants
from zoo.models.noise_to_image import NoiseToImageGAN
from zoo.registry import get_variant

NOISE_TO_IMAGE = [name for name in list_variants() if issubclass(get_variant(name), NoiseToImageGAN)]
# variants whose critic update makes its fakes with labels or codes, not through ``fake_batch``
OWN_FAKES = {"CGAN", "ACGAN", "ProjectionGAN", "InfoGAN"}


class Watch(L.Callback):
    """Records G's inputs (z, whether a graph is built) and every z ``sample_z`` hands out, from the start of
    training (the nets exist once the datamodule has given the image shape)."""

    def __init__(self) -> None:
        self.fed: list[tuple[torch.Tensor, bool]] = []
        self.drawn: list[torch.Tensor] = []

    def on_train_start(self, trainer, model) -> None:
        model.generator.register_forward_pre_hook(
            lambda m, args: self.fed.append((args[0].detach().clone(), torch.is_grad_enabled()))
        )
        original = model.sample_z

        def sample_z(n, generator=None):
            z = original(n, generator)
            self.drawn.append(z.detach().clone())
            return z

        model.sample_z = sample_z


def fit(model, name, fashion_dir, tmp_path, batches: int = 6) -> Watch:
    watch = Watch()
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=batches, callbacks=[watch])
    trainer.fit(model, tiny_data(name, fashion_dir))
    return watch


@pytest.mark.parametrize("name", [n for n in NOISE_TO_IMAGE if n not in OWN_FAKES])
def test_critic_z_feeds_the_generator_update(name, fashion_dir, tmp_path):
    model = tiny_model(name, generator_z="critic", n_critic=2)
    watch = fit(model, name, fashion_dir, tmp_path)
    fed, drawn = watch.fed, watch.drawn
    assert model.g_steps == 3 and model.d_steps == 6
    assert len(drawn) == model.d_steps, "z drawn only for the critic updates"
    updates = [i for i, (_, graph) in enumerate(fed) if graph]
    assert len(updates) == model.g_steps
    for i in updates:
        critic_z = [z for z, graph in fed[:i] if not graph][-1]  # the last critic update's fakes
        assert torch.equal(fed[i][0], critic_z), f"G update at input {i} was not fed the critic's z"
        assert any(torch.equal(critic_z, z) for z in drawn), "the reused z was not one sample_z drew"


@pytest.mark.parametrize("name", ["GAN", "WGANGP", "BEGAN", "DRAGAN"])
def test_fresh_z_is_the_default_and_draws_for_every_update(name, fashion_dir, tmp_path):
    model = tiny_model(name, n_critic=2)
    assert model.hparams.generator_z == "fresh"
    watch = fit(model, name, fashion_dir, tmp_path)
    fed, drawn = watch.fed, watch.drawn
    assert len(drawn) == model.d_steps + model.g_steps
    updates = [z for z, graph in fed if graph]
    assert len(updates) == model.g_steps
    for position, (z, graph) in enumerate(fed):
        if graph:
            assert not any(torch.equal(z, earlier) for earlier, _ in fed[:position]), "a generator update reused a z"


@pytest.mark.parametrize("name", sorted(OWN_FAKES & set(NOISE_TO_IMAGE)))
def test_variants_with_their_own_fakes_refuse_critic_z_naming_the_fix(name, fashion_dir, tmp_path):
    model = tiny_model(name, generator_z="critic")
    with pytest.raises(RuntimeError, match="generator_z='fresh'"):
        fit(model, name, fashion_dir, tmp_path)


def test_bad_generator_z_and_accumulation_are_refused():
    with pytest.raises(ValueError, match="generator_z"):
        GAN(image_shape=(2,), latent_dim=2, width=8, generator_z="previous")
    with pytest.raises(ValueError, match="accumulate_grad_batches=1"):
        GAN(image_shape=(2,), latent_dim=2, width=8, generator_z="critic", accumulate_grad_batches=2)
