"""WGAN, WGANGP, LSGAN, FGAN and HingeGAN: paper defaults, objectives wired as the papers say, bad input,
weight clipping through a real run, fitting from a datamodule, and every config through the CLI."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn

from callbacks import ToyModeMetrics
from datamodules import FashionMNISTData, GaussianMixtureData
from datamodules.base import ImageDataModule
from datamodules.idx import write_idx
from zoo import FGAN, GAN, LSGAN, WGAN, WGANGP, HingeGAN, get_variant, list_variants, losses  # noqa: F401  (GAN: public API)
from zoo.commands.cli import GanZooCLI, run_lightning_cli
from zoo.models.base import AdversarialModule

VARIANTS = [WGAN, WGANGP, LSGAN, FGAN, HingeGAN]
ROOT = Path(__file__).resolve().parents[2]
#: the variant each configs/<folder>/ builds (every folder must be listed: a new one fails the test below)
CONFIG_FOLDERS = {
    "gan": "GAN",
    "wgan": "WGAN",
    "wgan_gp": "WGANGP",
    "lsgan": "LSGAN",
    "fgan": "FGAN",
    "hinge": "HingeGAN",
    "dragan": "DRAGAN",
    "began": "BEGAN",
    "ebgan": "EBGAN",
    "loss_sensitive": "LossSensitiveGAN",
    "sngan": "SNGAN",
    "vaegan": "VAEGAN",
    "infogan": "InfoGAN",
    "cgan": "CGAN",
    "acgan": "ACGAN",
    "projection_gan": "ProjectionGAN",
    "cyclegan": "CycleGAN",  # two-domain data: its configs are built in tests/zoo/test_cyclegan*.py
}
CONFIGS = sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / "configs").glob("*/*.yaml")
    if p.stem != "cifar10"  # built and fitted on a CIFAR-10 fixture in tests/datamodules/test_cifar10.py
    and p.parent.name != "cyclegan"
)


def trainer(root: Path, max_steps: int, **kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        **kwargs,
    )


@pytest.fixture(scope="module")
def tiny_fashion(tmp_path_factory) -> Path:
    """A Fashion-MNIST lookalike in Debian's layout: 64 train / 16 test random 28x28 images."""
    root = tmp_path_factory.mktemp("fashion")
    g = torch.Generator().manual_seed(0)
    for stem, n in (("train", 64), ("t10k", 16)):
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", torch.randint(0, 256, (n, 28, 28), generator=g))
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", torch.randint(0, 10, (n,), generator=g))
    return root


def test_public_api_and_registry():
    names = list_variants()
    for cls in VARIANTS:
        assert cls.__name__ in names


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape,latent,width", [((1, 28, 28), 8, 8), ((2,), 2, 16)])
def test_constructs_with_only_shape_latent_width(cls, shape, latent, width):
    model = cls(image_shape=shape, latent_dim=latent, width=width)
    z = torch.randn(4, latent)
    x = model(z)
    assert tuple(x.shape) == (4, *shape)
    assert tuple(model.discriminator(x).shape) == (4,)


def optimizer_settings(model) -> list[tuple[type, float, tuple | None]]:
    return [(type(o), o.defaults["lr"], o.defaults.get("betas")) for o in model.configure_optimizers()]


def test_paper_defaults():
    wgan = WGAN(image_shape=(2,), latent_dim=2, width=8)
    assert (wgan.hparams.clip_value, wgan.hparams.n_critic) == (0.01, 5)
    assert optimizer_settings(wgan) == [(torch.optim.RMSprop, 5e-5, None)] * 2
    gp = WGANGP(image_shape=(1, 28, 28), latent_dim=8, width=8)
    assert (gp.hparams.gp_weight, gp.hparams.n_critic, gp.hparams.d_norm) == (10.0, 5, "layer")
    assert optimizer_settings(gp) == [(torch.optim.Adam, 1e-4, (0.0, 0.9))] * 2
    assert any(isinstance(m, nn.GroupNorm) for m in gp.discriminator.modules())  # layer norm over (C, H, W)
    assert LSGAN(image_shape=(2,), latent_dim=2, width=8).hparams.coding == "binary"
    fgan = FGAN(image_shape=(2,), latent_dim=2, width=8)
    assert (fgan.hparams.divergence, fgan.hparams.generator_update, fgan.hparams.n_critic) == ("kl", "alternative", 1)
    for cls in (LSGAN, FGAN, HingeGAN):
        assert (
            optimizer_settings(cls(image_shape=(2,), latent_dim=2, width=8))
            == [(torch.optim.Adam, 2e-4, (0.5, 0.999))] * 2
        )


def fixed_fake(model, fake: torch.Tensor) -> None:
    """Make ``model.generate`` return ``fake`` so losses can be recomputed by hand."""
    model.generate = lambda n: fake[:n]


def scores(model, real, fake):
    with torch.no_grad():
        return model.discriminator(real), model.discriminator(fake)


CASES = [
    (WGAN, {}, lambda r, f: f.mean() - r.mean(), lambda f: -f.mean()),
    (
        LSGAN,
        {"coding": "binary"},
        lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(),
        lambda f: 0.5 * ((f - 1) ** 2).mean(),
    ),
    (
        LSGAN,
        {"coding": "pearson"},
        lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * ((f + 1) ** 2).mean(),
        lambda f: 0.5 * (f**2).mean(),
    ),
    (HingeGAN, {}, lambda r, f: torch.relu(1 - r).mean() + torch.relu(1 + f).mean(), lambda f: -f.mean()),
    (
        FGAN,
        {"divergence": "gan", "generator_update": "saddle"},
        lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
        lambda f: torch.log(1 - torch.sigmoid(f)).mean(),
    ),
    (FGAN, {"divergence": "kl"}, lambda r, f: -(r.mean() - torch.exp(f - 1).mean()), lambda f: -f.mean()),
    (
        FGAN,
        {"divergence": "pearson", "generator_update": "saddle"},
        lambda r, f: -(r.mean() - (0.25 * f**2 + f).mean()),
        lambda f: -(0.25 * f**2 + f).mean(),
    ),
    (
        FGAN,
        {"divergence": "reverse_kl"},
        lambda r, f: -((-torch.exp(-r)).mean() - (f - 1).mean()),
        lambda f: torch.exp(-f).mean(),
    ),
]


@pytest.mark.parametrize("cls,kwargs,d_expected,g_expected", CASES, ids=lambda v: getattr(v, "__name__", None))
def test_losses_are_the_papers_objectives(cls, kwargs, d_expected, g_expected):
    torch.manual_seed(0)
    model = cls(image_shape=(2,), latent_dim=2, width=16, d_norm="none", g_norm="none", **kwargs)
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    fixed_fake(model, fake)
    r, f = scores(model, real, fake)
    torch.testing.assert_close(model.discriminator_loss(real, fake)["loss"].detach(), d_expected(r, f))
    torch.testing.assert_close(model.generator_loss(32)["loss"].detach(), g_expected(f))


def test_wgan_gp_loss_is_critic_plus_lambda_times_penalty():
    def critic_grads(gp_weight: float) -> tuple[dict, list[torch.Tensor]]:
        torch.manual_seed(0)
        model = WGANGP(image_shape=(2,), latent_dim=2, width=16, d_norm="none", gp_weight=gp_weight)
        real, fake = torch.randn(32, 2), torch.randn(32, 2)
        r, f = scores(model, real, fake)
        out = model.discriminator_loss(real, fake)
        torch.testing.assert_close(out["loss"].detach() - gp_weight * out["gp"], f.mean() - r.mean())
        torch.testing.assert_close(out["wasserstein"], r.mean() - f.mean())
        out["loss"].backward()
        return out, [p.grad.clone() for p in model.discriminator.parameters()]

    out, with_gp = critic_grads(3.0)
    assert float(out["gp"]) > 0
    _, without_gp = critic_grads(0.0)
    # the penalty's graph reaches the critic's weights (create_graph): the gradients change with lambda
    assert any(not torch.allclose(a, b) for a, b in zip(with_gp, without_gp))


@pytest.mark.parametrize("shape", [(1, 28, 28), (2,)])
def test_wgan_gp_refuses_batch_norm_in_the_critic_with_the_papers_reason(shape):
    with pytest.raises(ValueError, match=r"Gulrajani et al\. 2017, Section 4") as err:
        WGANGP(image_shape=shape, latent_dim=2, width=8, d_norm="batch")
    assert "each input independently" in str(err.value) and "d_norm='layer'" in str(err.value)
    WGANGP(image_shape=shape, latent_dim=2, width=8, d_norm="none", g_norm="batch")  # batch norm in G is fine


def test_wgan_gp_refuses_batch_norm_when_sized_from_the_data(tmp_path):
    model = WGANGP(latent_dim=2, width=8, d_norm="batch")  # nets are built in setup()
    with pytest.raises(ValueError, match="batch norm is not allowed"):
        trainer(tmp_path, 2).fit(model, GaussianMixtureData(num_samples=256, batch_size=32))


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: WGAN(clip_value=0.0), "clip_value"),
        (lambda: WGAN(clip_value=-0.01), "clip_value"),
        (lambda: WGANGP(gp_weight=-1.0), "lambda"),
        (lambda: FGAN(divergence="chi2"), "valid choices: 'kl', 'reverse_kl'"),
        (lambda: LSGAN(coding="ab"), "valid choices: 'pearson', 'binary'"),
    ],
)
def test_bad_hyperparameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_zero_gradient_penalty_weight_is_allowed():
    assert WGANGP(gp_weight=0.0).hparams.gp_weight == 0.0


class CriticBounds(L.Callback):
    """Largest |parameter| of the critic after every training_step (= after every critic update)."""

    def __init__(self) -> None:
        self.before = 0.0
        self.after: list[float] = []
        self.d_steps: list[int] = []

    def on_train_start(self, trainer, pl_module) -> None:
        self.before = max(float(p.abs().max()) for p in pl_module.discriminator.parameters())

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        self.after.append(max(float(p.abs().max()) for p in pl_module.discriminator.parameters()))
        self.d_steps.append(pl_module.d_steps)


@pytest.mark.parametrize("clip", [0.01, 0.05])
def test_weight_clipping_holds_after_every_critic_step(tmp_path, clip):
    torch.manual_seed(0)
    model = WGAN(clip_value=clip, latent_dim=2, width=16, g_norm="none", d_norm="layer", lr=1e-2)
    bounds = CriticBounds()
    trainer(tmp_path, 12, callbacks=[bounds]).fit(model, GaussianMixtureData(num_samples=512, batch_size=64))
    assert bounds.before > clip  # initialization is outside [-c, c]: clipping has work to do
    assert bounds.d_steps == list(range(1, 11))  # 12 optimizer steps = 10 critic + 2 generator updates
    c32 = float(torch.tensor(clip, dtype=torch.float32))  # the bound as the float32 parameters hold it
    assert all(m <= c32 for m in bounds.after)
    assert max(bounds.after) == pytest.approx(clip)  # parameters sit on the boundary, as clipping leaves them


@pytest.mark.parametrize("cls", VARIANTS, ids=lambda c: c.__name__)
def test_fits_from_a_datamodule_without_an_image_shape(cls, tmp_path, tiny_fashion):
    model = cls(latent_dim=8, width=8)
    trainer(tmp_path, 7).fit(model, FashionMNISTData(data_dir=str(tiny_fashion), batch_size=8))
    assert model.image_shape == (1, 28, 28) and model.hparams.image_shape == [1, 28, 28]
    assert model.g_steps >= 1 and model.d_steps + model.g_steps >= 7
    for p in model.parameters():
        assert torch.isfinite(p).all()


def cli_args(config: str, root: Path, fashion_dir: Path, max_steps: int) -> list[str]:
    args = ["--config", str(ROOT / config), "--trainer.max_steps", str(max_steps), "--trainer.logger", "false"]
    args += ["--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false"]
    if "fashion_mnist" in config:
        args += ["--data.init_args.data_dir", str(fashion_dir), "--data.init_args.batch_size", "8"]
        args += ["--model.init_args.width", "8", "--model.init_args.latent_dim", "8"]
    else:
        args += ["--data.init_args.num_samples", "1024"]
    return args


def test_every_config_folder_names_its_variant():
    folders = {p.name for p in (ROOT / "configs").iterdir() if p.is_dir()}
    assert folders == set(CONFIG_FOLDERS), "add the new configs/ folder to CONFIG_FOLDERS"
    assert set(CONFIG_FOLDERS.values()) == set(list_variants())


@pytest.mark.parametrize("config", CONFIGS)
def test_config_builds_through_the_cli(config, tmp_path, tiny_fashion):
    cli = GanZooCLI(
        AdversarialModule,
        ImageDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        run=False,
        args=cli_args(config, tmp_path, tiny_fashion, 2),
        auto_configure_optimizers=False,
    )
    assert type(cli.model) is get_variant(CONFIG_FOLDERS[config.split("/")[1]])
    if config.endswith("ring.yaml"):
        assert isinstance(cli.datamodule, GaussianMixtureData) and cli.datamodule.layout == "ring"
        assert any(isinstance(c, ToyModeMetrics) for c in cli.trainer.callbacks)
    else:
        assert isinstance(cli.datamodule, FashionMNISTData)


@pytest.mark.parametrize("config", ["configs/wgan_gp/fashion_mnist.yaml", "configs/wgan_gp/ring.yaml"])
def test_config_fits_through_the_cli(config, tmp_path, tiny_fashion):
    cli = run_lightning_cli(["fit", *cli_args(config, tmp_path, tiny_fashion, 7)])
    assert (cli.model.d_steps, cli.model.g_steps) == (6, 1)
    assert (tmp_path / "metrics.json").is_file()
