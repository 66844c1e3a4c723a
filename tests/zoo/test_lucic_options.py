"""The options the Lucic et al. (2018) protocol needs on every noise -> image variant: the InfoGAN-style nets
(``nets="infogan"``) and the prior z ~ U[-1, 1]^d (``latent_distribution="uniform"``), and their configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scipy import stats

from zoo import GAN, LSGAN, WGAN, WGANGP
from zoo.nets import InfoGANDiscriminator, InfoGANGenerator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("cls", [GAN, LSGAN, WGAN, WGANGP])
def test_infogan_nets_and_uniform_prior_on_every_noise_to_image_variant(cls):
    extra = {"d_norm": "none"} if cls is WGANGP else {}
    model = cls(image_shape=(1, 28, 28), latent_dim=64, nets="infogan", latent_distribution="uniform", **extra)
    assert isinstance(model.generator, InfoGANGenerator) and isinstance(model.discriminator, InfoGANDiscriminator)
    z = model.sample_z(20000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (20000, 64) and z.min() >= -1 and z.max() <= 1
    # every coordinate U[-1, 1]: Kolmogorov-Smirnov against the uniform CDF (a normal prior fails this badly)
    assert stats.kstest(z[:, 0].numpy(), "uniform", args=(-1, 2)).pvalue > 1e-3
    assert abs(float(z.mean())) < 0.01 and abs(float(z.var()) - 1 / 3) < 0.01
    images = model.generate(4)
    assert images.shape == (4, 1, 28, 28) and images.min() >= -1 and images.max() <= 1


def test_the_default_prior_stays_normal_and_the_default_nets_dcgan():
    model = GAN(image_shape=(1, 28, 28), latent_dim=8)
    z = model.sample_z(20000, generator=torch.Generator().manual_seed(0))
    assert stats.kstest(z[:, 0].numpy(), "norm").pvalue > 1e-3
    assert type(model.generator).__name__ == "DCGANGenerator"


def test_bad_options_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="nets"):
        GAN(image_shape=(1, 28, 28), nets="resnet")
    with pytest.raises(ValueError, match="latent_distribution"):
        GAN(image_shape=(1, 28, 28), latent_distribution="cauchy")
    with pytest.raises(ValueError, match="batch norm"):  # Gulrajani et al.: no batch norm in the critic
        WGANGP(image_shape=(1, 28, 28), nets="infogan", d_norm="batch")


@pytest.mark.parametrize("variant", ["gan", "lsgan", "wgan", "wgan_gp"])
def test_lucic_configs_build_their_models(variant):
    import yaml

    from zoo import get_variant

    config = yaml.safe_load((ROOT / "configs" / variant / "fashion_mnist_lucic.yaml").read_text())
    args = config["model"]["init_args"]
    model = get_variant(config["model"]["class_path"].split(".")[-1])(image_shape=(1, 28, 28), **args)
    assert args["nets"] == "infogan" and args["latent_distribution"] == "uniform" and args["latent_dim"] == 64
    assert config["data"]["init_args"]["batch_size"] == 64
    n_critic = model.hparams.n_critic
    assert config["trainer"]["max_steps"] == 15625 + 15625 // n_critic  # 15,625 D updates and their G updates
