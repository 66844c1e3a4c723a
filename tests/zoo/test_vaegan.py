"""VAE-GAN (Larsen et al. 2016): KL closed form, Dis_l feature loss, per-group updates, learning, checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

from callbacks import SampleGrid
from datamodules import FashionMNISTData
from datamodules.base import ImageDataModule
from zoo import VAEGAN, get_variant
from zoo.checkpoints import load_variant
from zoo.losses_autoencoding import gaussian_nll, kl_normal


class RandomImages(ImageDataModule):
    """64 random uint8 28x28 grayscale images: a datamodule fixture for mechanics tests."""

    image_shape = (1, 28, 28)
    num_classes = 1

    def load_split(self, split):
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        return torch.randint(0, 256, (64, 1, 28, 28), generator=g, dtype=torch.uint8), torch.zeros(64).long()


def trainer(tmp_path: Path, max_steps: int, **kwargs) -> L.Trainer:
    return L.Trainer(
        max_steps=max_steps,
        default_root_dir=tmp_path,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def small(**kwargs) -> VAEGAN:
    return VAEGAN(image_shape=(1, 28, 28), latent_dim=8, width=8, **kwargs)


# ---------------------------------------------------------------------------------------------- L_prior


def test_kl_matches_closed_form():
    # KL(N(mu, s^2) || N(0, 1)) = 1/2 (s^2 + mu^2 - 1 - log s^2) per dimension
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    expected = 0.5 * (1 + 1 - 1 - 0) + 0.5 * (4 + 0 - 1 - math.log(4.0))
    assert kl_normal(mu, logvar).item() == pytest.approx(expected, rel=1e-6)
    assert kl_normal(torch.zeros(3, 5), torch.zeros(3, 5)).item() == 0.0

    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    closed = torch.distributions.kl_divergence(q, p).sum(1).mean()
    torch.testing.assert_close(kl_normal(mu, logvar), closed)


def test_gaussian_feature_nll_is_half_squared_distance():
    target, mean = torch.zeros(2, 3, 2, 2), torch.ones(2, 3, 2, 2)
    assert gaussian_nll(target, mean).item() == pytest.approx(0.5 * 12)


# ------------------------------------------------------------------------------------- L_llike^{Dis_l}


@pytest.mark.parametrize("layer", [1, 2])
def test_feature_loss_uses_the_chosen_discriminator_layer(layer):
    torch.manual_seed(0)
    model = small(feature_layer=layer)
    assert model.feature_layer == layer
    x, x_tilde = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    convs = [m for m in model.discriminator.features if isinstance(m, nn.Conv2d)]
    later = [*convs[layer:], model.discriminator.head]
    base = model.feature_reconstruction_loss(x, x_tilde)
    assert model.dis_features(x).shape == (4, 8 * 2 ** (layer - 1), 28 // 2**layer, 28 // 2**layer)
    with torch.no_grad():
        for conv in later:  # layers after Dis_l: no effect
            conv.weight.add_(1.0)
        assert torch.equal(model.feature_reconstruction_loss(x, x_tilde), base)
        convs[layer - 1].weight.mul_(1.5)  # Dis_l itself: changes the loss
        assert not torch.allclose(model.feature_reconstruction_loss(x, x_tilde), base)


def test_feature_layer_is_validated():
    with pytest.raises(ValueError, match="feature_layer=3 .* 2 conv blocks"):
        small(feature_layer=3)
    assert small().feature_layer == 2  # default: the last conv block


# ------------------------------------------------------------------------------------ three optimizers


class UpdateProbe(VAEGAN):
    """Records, per optimizer update, which nets' parameters and which nets' gradients it changed."""

    def on_fit_start(self):
        self.changes = []

    def optimizer_update(self, optimizer, compute_loss, first, last):
        params = dict(self.named_parameters())
        before = {n: p.detach().clone() for n, p in params.items()}
        grads = {n: None if p.grad is None else p.grad.clone() for n, p in params.items()}
        out = super().optimizer_update(optimizer, compute_loss, first, last)
        owned = {id(p) for group in optimizer.param_groups for p in group["params"]}
        nets = ("encoder", "generator", "discriminator")
        owner = next(net for net in nets if id(next(getattr(self, net).parameters())) in owned)
        changed = {n.split(".")[0] for n, p in params.items() if not torch.equal(p, before[n])}
        graded = {
            n.split(".")[0]
            for n, p in params.items()
            if (p.grad is None) != (grads[n] is None) or (p.grad is not None and not torch.equal(p.grad, grads[n]))
        }
        self.changes.append((owner, changed, graded))
        return out


def test_each_optimizer_updates_only_its_group(tmp_path):
    model = UpdateProbe(latent_dim=8, width=8)
    trainer(tmp_path, max_steps=6).fit(model, RandomImages(batch_size=16))  # 2 batches x 3 optimizers
    assert [owner for owner, _, _ in model.changes] == ["discriminator", "encoder", "generator"] * 2
    for owner, changed, graded in model.changes:
        assert changed == {owner}  # its step moved its own net only
        assert graded == {owner}  # its backward left the other nets' gradients alone
    assert model.d_steps == model.g_steps == 2


def test_optimizers_follow_the_paper():
    model = small()
    opt_dec, opt_dis, opt_enc = model.configure_optimizers()
    assert all(isinstance(o, torch.optim.RMSprop) and o.defaults["lr"] == 3e-4 for o in (opt_dec, opt_dis, opt_enc))
    groups = [{id(p) for g in o.param_groups for p in g["params"]} for o in (opt_dec, opt_dis, opt_enc)]
    nets = [{id(p) for p in net.parameters()} for net in (model.generator, model.discriminator, model.encoder)]
    assert groups == nets


# ---------------------------------------------------------------------------------------------- learning


def test_reconstruction_error_falls_on_fashion_mnist_fixture(tmp_path, fashion_dir):
    L.seed_everything(0)
    data = FashionMNISTData(data_dir=str(fashion_dir), batch_size=32)
    x = data.real_samples("test", 64)
    model = VAEGAN(latent_dim=16, width=8)

    def error():
        model.eval()
        with torch.no_grad():
            e = (model.reconstruct(x) - x).pow(2).mean().item()
        model.train()
        return e

    model.build_networks(data.image_shape)
    before = error()
    trainer(tmp_path, max_steps=3 * 120).fit(model, data)
    after = error()
    assert model.g_steps == 120
    assert after < 0.5 * before, (before, after)


# ------------------------------------------------------------------------------------------ checkpoints


def test_sized_from_datamodule_and_checkpoint_round_trip(tmp_path):
    model = VAEGAN(latent_dim=8, width=8, gamma=0.5, feature_layer=1)
    fit = trainer(tmp_path, max_steps=6)
    fit.fit(model, RandomImages(batch_size=16))
    assert model.image_shape == (1, 28, 28)
    path = tmp_path / "vaegan.ckpt"
    fit.save_checkpoint(path)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    model.eval()
    for loaded in (VAEGAN.load_from_checkpoint(path), load_variant(path)):
        assert type(loaded) is VAEGAN and loaded.feature_layer == 1 and loaded.hparams.gamma == 0.5
        assert loaded.d_steps == loaded.g_steps == 2
        for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
            assert torch.equal(a, b), name
        loaded.eval()
        with torch.no_grad():
            torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x))
    assert get_variant("VAEGAN") is VAEGAN


def test_sample_grid_shows_samples_and_reconstructions(tmp_path):
    model = small()
    assert SampleGrid(num_samples=64).grid(model).shape == (3, 8 * 30 + 2, 8 * 30 + 2)  # samples only
    trainer(tmp_path, max_steps=3).fit(model, RandomImages(batch_size=32))
    images = model.grid_images(64, torch.Generator().manual_seed(0), nrow=8)
    assert images.shape == (64, 1, 28, 28)
    inputs = model._grid_inputs[:8]
    torch.testing.assert_close(images[32:40], inputs)  # row 5: training inputs, row 6: their reconstructions
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(images[40:48], model.reconstruct(inputs))


def test_cli_config_trains(tmp_path, fashion_dir):
    from zoo.commands.cli import main

    config = Path(__file__).parents[2] / "configs" / "vaegan" / "fashion_mnist.yaml"
    args = [
        "--trainer.max_steps",
        "6",
        "--trainer.default_root_dir",
        str(tmp_path),
        "--data.data_dir",
        str(fashion_dir),
    ]
    main(["fit", "--config", str(config), *args])
    assert (tmp_path / "samples" / "last.png").is_file() and (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert load_variant(tmp_path / "checkpoints" / "last.ckpt").g_steps == 2
